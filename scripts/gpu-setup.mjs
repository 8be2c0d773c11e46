// Opt-in: fetch onnxruntime-node's CUDA 12 execution-provider libraries (Linux x64 only). They come from NuGet, not
// the npm registry, so `npm install` skips them (package.json allowScripts denies ORT's install script). Needs CUDA 12 and cuDNN 9 on the loader path.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.log(
    `No download needed on ${process.platform}/${process.arch}: onnxruntime-node bundles DirectML on Windows and ` +
      'CoreML on macOS; CUDA exists only for Linux x64.',
  );
  process.exit(0);
}
const require = createRequire(import.meta.url);
const root = dirname(require.resolve('onnxruntime-node/package.json'));
const env = {
  ...process.env,
  ONNXRUNTIME_NODE_INSTALL: 'cuda12',
  npm_config_onnxruntime_node_install: 'cuda12',
};
const result = spawnSync(
  process.execPath,
  [join(root, 'script', 'install.js'), '--onnxruntime-node-install'],
  {
    stdio: 'inherit',
    cwd: root,
    env,
  },
);
if (result.status !== 0) {
  console.error('CUDA provider download failed; the app keeps running on CPU. See README "GPU set-up".');
  process.exit(result.status ?? 1);
}
console.log('CUDA provider libraries installed. Check with `npx pseudo-ris doctor`.');
