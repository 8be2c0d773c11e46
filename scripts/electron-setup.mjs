// Fetches the Electron binary that `npm install` skipped (needs network access to Electron's release downloads).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const env = { ...process.env };
delete env.ELECTRON_SKIP_BINARY_DOWNLOAD;
const script = join(dirname(require.resolve('electron/package.json')), 'install.js');
const result = spawnSync(process.execPath, [script], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
