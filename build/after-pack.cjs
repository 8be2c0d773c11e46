/* eslint-disable @typescript-eslint/no-require-imports -- electron-builder loads its hooks with require() */
// electron-builder afterPack hook: onnxruntime-node ships binaries for every OS and CPU; the yml's `files` drop
// other operating systems, this drops other architectures of the target OS (e.g. linux/arm64 in a linux/x64 build).
const { existsSync, readdirSync, rmSync } = require('node:fs');
const { join } = require('node:path');

/** electron-builder's Arch enum: 0 ia32, 1 x64, 2 armv7l, 3 arm64, 4 universal. */
const ARCH_NAMES = { 0: 'ia32', 1: 'x64', 2: 'armv7l', 3: 'arm64' };

exports.default = async function afterPack(context) {
  const arch = ARCH_NAMES[context.arch];
  const resources =
    context.electronPlatformName === 'darwin'
      ? join(context.appOutDir, `${context.packager.appInfo.productFilename}.app`, 'Contents', 'Resources')
      : join(context.appOutDir, 'resources');
  const bin = join(resources, 'app.asar.unpacked', 'node_modules', 'onnxruntime-node', 'bin');
  if (!arch || !existsSync(bin)) return;
  for (const napi of readdirSync(bin)) {
    const platformDir = join(bin, napi, context.electronPlatformName);
    if (!existsSync(platformDir)) continue;
    for (const entry of readdirSync(platformDir)) {
      if (entry !== arch) {
        rmSync(join(platformDir, entry), { recursive: true, force: true });
        console.log(`[after-pack] pruned onnxruntime-node ${context.electronPlatformName}/${entry}`);
      }
    }
  }
};
