/**
 * Execution-provider choice and the GPU → CPU fallback (DESIGN.md §4).
 *
 * onnxruntime-node behaves differently per provider when it cannot use it (contracts.md §4.1, verified on 1.30):
 * a provider not built into this platform's binary (`dml` on Linux) is dropped with a warning, while `cuda` with its
 * shared libraries missing throws from session creation with no fallback of its own. So the runtime filters the
 * request by `listSupportedBackends()`, tries the GPU provider, and on failure creates the session on CPU and keeps
 * the reason for the user.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import type { ExecutionProvider } from '../../shared/models.ts';
import { graphThread, type GraphSession } from './graph-thread.ts';

const { onnx } = onnxProto;

/** The provider order the runtime requests on a platform: its GPU provider first (if any), then CPU. */
export function defaultProviders(
  platform: NodeJS.Platform = process.platform,
  arch: string = process.arch,
): ExecutionProvider[] {
  // onnxruntime-node ships CUDA only for Linux x64, DirectML only for Windows, CoreML only for macOS.
  if (platform === 'linux' && arch === 'x64') return ['cuda', 'cpu'];
  if (platform === 'win32') return ['dml', 'cpu'];
  if (platform === 'darwin') return ['coreml', 'cpu'];
  return ['cpu'];
}

/** Options that decide the providers of a pack's sessions. */
export interface ProviderOptions {
  /** Use CPU only (a user setting; also the way round a GPU provider that loads but misbehaves). */
  forceCpu?: boolean;
  /** Explicit order; `cpu` is appended when missing so there is always somewhere to run. */
  providers?: ExecutionProvider[];
}

/** The order requested for a session: forced CPU, the caller's list (CPU appended), or the platform default. */
export function requestedProviders(
  options: ProviderOptions = {},
  platform: NodeJS.Platform = process.platform,
  arch: string = process.arch,
): ExecutionProvider[] {
  if (options.forceCpu) return ['cpu'];
  const list =
    options.providers && options.providers.length > 0
      ? [...new Set(options.providers)]
      : defaultProviders(platform, arch);
  return list.includes('cpu') ? list : [...list, 'cpu'];
}

/** Backends onnxruntime-node reports for this machine (`cpu`, `webgpu`, `cuda` …), with whether each is bundled. */
export function supportedBackends(): { name: string; bundled: boolean }[] {
  return ort.listSupportedBackends().map((backend) => ({ name: backend.name, bundled: backend.bundled }));
}

/** Session options shared by every role, set on purpose rather than left to defaults. */
export interface SessionTuning {
  /** Threads per session for intra-operator parallelism; default: the machine's available parallelism. */
  intraOpThreads?: number;
  /** ORT log level 0–4 (0 verbose … 4 fatal); default 3 (errors), the runtime reports fallbacks itself. */
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
  /**
   * Skip `cuda` without trying it when its provider libraries are not installed (default true). Trying anyway makes
   * onnxruntime print its loader error on stderr before it throws; tests turn this off to exercise the real throw.
   */
  skipUninstalledProviders?: boolean;
  /**
   * Open the session in the caller's thread even when the runtime uses a graph thread (graph-thread.ts): for graphs
   * run many times in short steps, where a thread hop per step costs more than the step.
   */
  inCallerThread?: boolean;
}

/** The session options for one provider attempt. */
export function sessionOptions(
  provider: ExecutionProvider,
  tuning: SessionTuning = {},
): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [provider],
    // The engine runs one session at a time (pipeline stages are sequential), so each may use every core; callers
    // that run sessions concurrently pass fewer threads to avoid oversubscription.
    intraOpNumThreads: tuning.intraOpThreads ?? availableParallelism(),
    // Graphs are run node after node: the pack graphs are chains, so 'parallel' (inter-op) gains nothing and adds
    // a second thread pool per session.
    executionMode: 'sequential',
    interOpNumThreads: 1,
    // 'all' = constant folding, node fusions and layout optimizations (ORT's default, stated so it is not lost).
    // Kept by measurement (`npm run bench -- session`, a 216 MiB transformer MLP stack, onnxruntime-node 1.30, 2
    // shared cores): creation took 1.0 s of CPU at 'all', 1.04 'extended', 1.25 'basic', 1.0 'disabled', and 1.25
    // loading a saved 'all' graph with optimization off; creation is reading and packing the weights, not
    // optimizing, so a cache of optimized graphs beside the pack would cost a second copy of every graph on disk for
    // nothing. The memory pattern and the CPU arena stay on (ORT's defaults) for the same reason: neither changed
    // the run time or the peak RSS beyond the run-to-run spread there.
    graphOptimizationLevel: 'all',
    logSeverityLevel: tuning.logSeverityLevel ?? 3,
    // No busy-waiting between runs: captioning makes thousands of tiny decoder calls with JS work in between, and
    // spinning threads would burn the CPU that JS needs (contracts.md §4.4).
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
}

/** The outcome of creating a session with fallback. */
export interface CreatedSession {
  session: GraphSession;
  requested: ExecutionProvider[];
  used: ExecutionProvider;
  /** Why `used` is not `requested[0]`; absent when it is. */
  fallbackReason?: string;
}

/**
 * Creates a session on the first provider of `requested` that works, recording why earlier ones were skipped.
 *
 * `known` carries failures across the roles of a pack: once `cuda` failed to load, later roles skip it with the same
 * reason instead of failing again. Errors from the last provider (CPU) are thrown unchanged: they are about the
 * model, not the provider.
 */
export async function createSessionWithFallback(
  model: string | Uint8Array,
  requested: ExecutionProvider[],
  tuning: SessionTuning = {},
  known: Map<ExecutionProvider, string> = new Map(),
): Promise<CreatedSession> {
  const backends = new Set(supportedBackends().map((b) => b.name));
  const reasons: string[] = [];
  for (let index = 0; index < requested.length; index += 1) {
    const provider = requested[index];
    const last = index === requested.length - 1;
    const skip =
      known.get(provider) ??
      (provider === 'cpu' || backends.has(provider) ? undefined : notBuiltReason(provider)) ??
      (tuning.skipUninstalledProviders !== false ? notInstalledReason(provider) : undefined);
    if (skip && !last) {
      reasons.push(skip); // only real load failures go into `known`: these checks are cheap to repeat
      continue;
    }
    // A failing cuda also prints onnxruntime's own loader error on stderr (its environment logger, which session
    // options do not reach); when the provider libraries are installed that line names the missing CUDA library.
    const options = sessionOptions(provider, tuning);
    try {
      // in the graph thread when the runtime uses one (graph-thread.ts), else in this thread
      const thread = tuning.inCallerThread ? null : graphThread();
      const session: GraphSession = thread
        ? await thread.create(model, options)
        : typeof model === 'string'
          ? await ort.InferenceSession.create(model, options)
          : await ort.InferenceSession.create(model, options);
      return {
        session,
        requested,
        used: provider,
        ...(reasons.length > 0 ? { fallbackReason: reasons.join('; ') } : {}),
      };
    } catch (error) {
      if (last) throw error;
      const reason = failureReason(provider, error);
      known.set(provider, reason);
      reasons.push(reason);
    }
  }
  throw new Error('no execution provider was requested');
}

/** A sentence on why a provider failed, with what the user can do about it. */
export function failureReason(provider: ExecutionProvider, error: unknown): string {
  const message = (error instanceof Error ? error.message : String(error)).split('\n')[0];
  if (provider === 'cuda') {
    const missing = missingCudaLibraries();
    if (missing.length > 0) {
      return `cuda failed to load (${message}): ${missing.join(' and ')} not installed; run \`npm run gpu:setup\` (needs CUDA 12 and cuDNN 9)`;
    }
    return `cuda failed to load (${message}): the provider libraries are installed, so CUDA 12 / cuDNN 9 or the GPU driver is missing from the loader path`;
  }
  return `${provider} failed to load (${message})`;
}

/** The CUDA provider libraries of onnxruntime-node that are not installed (what `npm run gpu:setup` fetches). */
export function missingCudaLibraries(): string[] {
  const dir = bindingDir();
  if (dir === undefined) return [];
  return ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'].filter(
    (lib) => !existsSync(join(dir, lib)),
  );
}

/** Why `provider` cannot load before trying it: cuda without the libraries `npm run gpu:setup` fetches. */
function notInstalledReason(provider: ExecutionProvider): string | undefined {
  if (provider !== 'cuda') return undefined;
  const missing = missingCudaLibraries();
  if (missing.length === 0) return undefined;
  return `cuda skipped: ${missing.join(' and ')} not installed; run \`npm run gpu:setup\` (needs CUDA 12 and cuDNN 9)`;
}

function notBuiltReason(provider: ExecutionProvider): string {
  return `${provider} is not available in onnxruntime-node for ${process.platform}/${process.arch}`;
}

/** The installed onnxruntime-node package's version (from its package.json), or undefined when it cannot be read. */
export function onnxRuntimeVersion(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    return (
      JSON.parse(readFileSync(require.resolve('onnxruntime-node/package.json'), 'utf8')) as {
        version?: string;
      }
    ).version;
  } catch {
    return undefined;
  }
}

/** The folder of onnxruntime-node's native binding, where the CUDA provider libraries go. */
export function bindingDir(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const root = dirname(require.resolve('onnxruntime-node/package.json'));
    return join(root, 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return undefined;
  }
}

/** Whether an execution provider can run on this machine, found by running a tiny graph on it. */
export interface ProviderProbe {
  provider: string;
  /** A session was created on this provider alone and its one run gave the right answer. */
  runs: boolean;
  /** The engine can request it (`cuda`, `dml`, `coreml`, `cpu`); onnxruntime may offer others (webgpu). */
  engine: boolean;
  /** Milliseconds to create the session and run it once. */
  milliseconds: number;
  /** Why it cannot run (absent when it runs). */
  reason?: string;
}

const ENGINE_PROVIDERS: readonly string[] = ['cuda', 'dml', 'coreml', 'cpu'];

/**
 * Tries each provider: creates a session of a one-node graph (y = x + x) on that provider alone and runs it, so the
 * answer is what this machine can do, not which names the build lists. Default list: CPU, the platform's GPU provider
 * and every backend onnxruntime-node reports. A provider whose libraries are missing is reported without trying
 * (trying makes onnxruntime print its loader error on stderr).
 */
export async function probeProviders(names?: readonly string[]): Promise<ProviderProbe[]> {
  const list = [
    ...new Set(names ?? ['cpu', ...defaultProviders(), ...supportedBackends().map((b) => b.name)]),
  ];
  const model = probeModel();
  const probes: ProviderProbe[] = [];
  for (const provider of list) {
    const started = performance.now();
    const engine = ENGINE_PROVIDERS.includes(provider);
    const missing =
      provider === 'cuda' || provider === 'tensorrt'
        ? [
            ...missingCudaLibraries(),
            ...(provider === 'tensorrt' ? missingLibraries(['libonnxruntime_providers_tensorrt.so']) : []),
          ]
        : [];
    if (missing.length > 0) {
      probes.push({
        provider,
        runs: false,
        engine,
        milliseconds: 0,
        reason: `${missing.join(' and ')} not installed${provider === 'cuda' ? '; run `npm run gpu:setup` (needs CUDA 12 and cuDNN 9)' : ''}`,
      });
      continue;
    }
    let session: ort.InferenceSession | undefined;
    try {
      session = await ort.InferenceSession.create(model, {
        executionProviders: [provider as ExecutionProvider],
        logSeverityLevel: 3,
      });
      const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, 2]), [2]) });
      const y = out.y?.data as Float32Array | undefined;
      const right = y !== undefined && y[0] === 2 && y[1] === 4;
      probes.push({
        provider,
        runs: right,
        engine,
        milliseconds: performance.now() - started,
        ...(right
          ? {}
          : { reason: `the probe graph ran but returned ${y ? `[${[...y].join(', ')}]` : 'nothing'}` }),
      });
    } catch (error) {
      const message = (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
      probes.push({
        provider,
        runs: false,
        engine,
        milliseconds: performance.now() - started,
        reason: message.replace(/^.*?(Failed to get a WebGPU adapter.*)$/, '$1').trim(),
      });
    } finally {
      await session?.release();
    }
  }
  return probes;
}

/** The probe graph: y = x + x over float32[2], encoded as ONNX bytes (opset 17). */
function probeModel(): Uint8Array {
  const tensor = { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 2 }] } } };
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'pseudo-ris-probe',
    graph: {
      name: 'probe',
      node: [{ opType: 'Add', input: ['x', 'x'], output: ['y'] }],
      input: [{ name: 'x', type: tensor }],
      output: [{ name: 'y', type: tensor }],
    },
  }).finish();
}

function missingLibraries(libraries: readonly string[]): string[] {
  const dir = bindingDir();
  if (dir === undefined) return [];
  return libraries.filter((lib) => !existsSync(join(dir, lib)));
}
