// Runs after `npm install` / `npm ci` in this repository: fetches the Electron binary where the network allows and
// builds the demo model pack. npm 11 blocks dependency install scripts unless
// package.json's allowScripts approves them; Electron's download is denied there on purpose and fetched here instead,
// so that a machine without access beyond the npm registry still completes the install.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

/** Builds the demo model pack (small hand-built ONNX graphs) so `npm run demo` and the GUI start at once. */
function demoPack() {
  const cli = fileURLToPath(new URL('../bin/pseudo-ris.mjs', import.meta.url));
  const result = spawnSync(process.execPath, [cli, 'models', 'build-demo'], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (result.status === 0) {
    console.log('[postinstall] Demo model pack ready in resources/models/demo (a demo, not real models).');
  } else {
    // Not fatal: the pack is also built on first use.
    console.warn(
      `[postinstall] Demo model pack not built now (${(result.stderr || result.error?.message || '').trim()}); it is built on first use.`,
    );
  }
}

demoPack();
