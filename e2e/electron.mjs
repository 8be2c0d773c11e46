// Electron end to end: the same flow in the desktop app (Playwright's Electron support), when the Electron binary
// is installed (`npm run electron:setup` fetches it; our CI machines cannot). Skipped with the reason otherwise.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { _electron as electron } from 'playwright-core';
import { runFlow } from './flow.mjs';

/** The Electron executable, or null with the reason it is unavailable. */
export function electronBinary() {
  const require = createRequire(import.meta.url);
  try {
    const path = require('electron');
    return typeof path === 'string' && existsSync(path)
      ? { path }
      : { reason: `the Electron binary is not installed (${path})` };
  } catch (error) {
    return {
      reason: `the Electron binary is not installed: ${error.message.split('\n')[0]} — run \`npm run electron:setup\` (needs network)`,
    };
  }
}

/** Runs the flow in the Electron app. Answers `{ skipped }` when no Electron binary is present. */
export async function runElectron({ root, workDir, artifacts }) {
  const binary = electronBinary();
  if (!binary.path) return { skipped: binary.reason };
  const build = spawnSync(
    process.execPath,
    [join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build'],
    { cwd: root, stdio: 'inherit' },
  );
  if (build.status !== 0) throw new Error('electron-vite build failed');
  const app = await electron.launch({
    executablePath: binary.path,
    args: [root, '--no-sandbox', '--disable-gpu'],
    cwd: root,
    env: {
      ...process.env,
      PSEUDO_RIS_SETTINGS: join(root, 'e2e', 'settings.json'),
      ELECTRON_RENDERER_URL: '',
    },
  });
  try {
    const page = await app.firstWindow();
    return await runFlow(page, { workDir, artifacts, label: 'electron' });
  } finally {
    await app.close();
  }
}
