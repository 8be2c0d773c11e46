// Runs after `npm install` / `npm ci` in this repository. npm 11 blocks dependency install scripts unless
// package.json's allowScripts approves them; Electron's download is denied there on purpose and fetched here instead,
// so that a machine without access beyond the npm registry still completes the install.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

function electronBinary() {
  if (process.env.ELECTRON_SKIP_BINARY_DOWNLOAD) {
    console.log(
      '[postinstall] ELECTRON_SKIP_BINARY_DOWNLOAD is set: Electron binary not fetched (CLI, served mode and tests do not need it).',
    );
    return;
  }
  let installScript;
  try {
    installScript = join(dirname(require.resolve('electron/package.json')), 'install.js');
  } catch {
    return; // production install without devDependencies: nothing to fetch
  }
  if (!existsSync(installScript)) return;
  const result = spawnSync(process.execPath, [installScript], { encoding: 'utf8', timeout: 300_000 });
  if (result.status === 0) {
    console.log('[postinstall] Electron binary is in place.');
  } else {
    const reason =
      `${result.stderr ?? ''}${result.error?.message ?? ''}`.split('\n').find((line) => line.trim()) ??
      'unknown error';
    console.warn(
      `[postinstall] The Electron binary could not be downloaded (${reason.trim()}).\n` +
        '              Is there network access beyond the npm registry?\n' +
        '              Everything but the desktop window works without it; fetch it later with `npm run electron:setup`.',
    );
  }
}

electronBinary();
