// Opt-in GPU set-up for Linux x64: fetches onnxruntime-node's CUDA 12 execution-provider libraries, then checks that
// the CUDA 12 / cuDNN 9 runtime they load is on the loader path.
//
// The provider libraries come from NuGet (Microsoft.ML.OnnxRuntime.Gpu.Linux), not from the npm registry, so a plain
// `npm install` skips them (package.json's allowScripts denies onnxruntime-node's install script) and the app runs on
// CPU. Windows (DirectML) and macOS (CoreML) need no download: onnxruntime-node bundles those providers.
//
//   npm run gpu:setup             download the provider libraries, then check the CUDA runtime
//   npm run gpu:setup -- --check  only check what is installed (no download)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const checkOnly = process.argv.includes('--check');

if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.log(
    `No download needed on ${process.platform}/${process.arch}: onnxruntime-node bundles DirectML on Windows and ` +
      'CoreML on macOS; its CUDA provider exists only for Linux x64. `npx pseudo-ris doctor` shows what each role uses.',
  );
  process.exit(0);
}

const require = createRequire(import.meta.url);
const root = dirname(require.resolve('onnxruntime-node/package.json'));
const bindingDir = join(root, 'bin', 'napi-v6', 'linux', 'x64');
const providerLibraries = ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'];
const missingProviders = () => providerLibraries.filter((lib) => !existsSync(join(bindingDir, lib)));

if (!checkOnly && missingProviders().length > 0) {
  console.log('Downloading the onnxruntime-node CUDA 12 provider libraries from NuGet (about 300 MB)…');
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
    console.error(
      'The CUDA provider download failed (no access to api.nuget.org? set GLOBAL_AGENT_HTTPS_PROXY behind a proxy). ' +
        'The app keeps running on CPU. See README "GPU set-up".',
    );
    process.exit(result.status ?? 1);
  }
}

let problems = 0;
const missing = missingProviders();
if (missing.length > 0) {
  problems += 1;
  console.log(
    `✗ provider libraries missing in ${bindingDir}: ${missing.join(', ')}${checkOnly ? ' (run without --check to download)' : ''}`,
  );
} else {
  console.log(`✓ provider libraries installed in ${bindingDir}`);
}

// The CUDA provider dlopens these at session creation; a missing one makes `cuda` fail and the runtime fall back to
// CPU with the reason (see `npx pseudo-ris doctor`).
const runtime = [
  ['CUDA 12 runtime', /libcudart\.so\.12/],
  ['cuBLAS 12', /libcublasLt\.so\.12/],
  ['cuDNN 9', /libcudnn\.so\.9/],
];
const ldconfig = spawnSync('ldconfig', ['-p'], { encoding: 'utf8' });
const searchable = `${ldconfig.stdout ?? ''}\n${(process.env.LD_LIBRARY_PATH ?? '').split(':').map(listDir).join('\n')}`;
for (const [label, pattern] of runtime) {
  if (pattern.test(searchable)) console.log(`✓ ${label} found`);
  else {
    problems += 1;
    console.log(
      `✗ ${label} not found by ldconfig or in LD_LIBRARY_PATH (install it, e.g. from NVIDIA's CUDA/cuDNN packages)`,
    );
  }
}
const smi = spawnSync('nvidia-smi', ['--query-gpu=name,driver_version', '--format=csv,noheader'], {
  encoding: 'utf8',
});
if (smi.status === 0) console.log(`✓ GPU: ${smi.stdout.trim()}`);
else {
  problems += 1;
  console.log('✗ nvidia-smi did not run: no NVIDIA driver or GPU visible');
}

console.log(
  problems === 0
    ? 'CUDA looks ready. Check which provider each role uses with `npx pseudo-ris doctor`.'
    : 'CUDA is not fully set up: sessions will fall back to CPU. `npx pseudo-ris doctor` shows the reason per role.',
);
process.exit(problems === 0 ? 0 : 1);

function listDir(dir) {
  if (!dir || !existsSync(dir)) return '';
  const result = spawnSync('ls', [dir], { encoding: 'utf8' });
  return result.stdout ?? '';
}
