/* eslint-disable @typescript-eslint/no-require-imports -- electron-builder loads its hooks with require() */
// electron-builder beforePack hook: make sure the demo model pack exists in resources/models/demo before it is
// copied into the installer (extraResources).
const { execFileSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const { join } = require('node:path');

exports.default = async function beforePack(context) {
  const root = context.packager.projectDir;
  if (!existsSync(join(root, 'resources', 'models', 'demo', 'manifest.json'))) {
    console.log('[before-pack] building the demo model pack (resources/models/demo)…');
    execFileSync(process.execPath, [join(root, 'bin', 'pseudo-ris.mjs'), 'models', 'build-demo'], {
      cwd: root,
      stdio: 'inherit',
    });
  }
};
