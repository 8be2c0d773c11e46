/**
 * Which execution providers can run a graph on this machine, found by trying them (issue 22: the Models panel said
 * "available: cpu, webgpu" on a machine with no GPU, because it listed the build's backends). Each bundled backend
 * other than CPU opens a one-node graph and runs it once; the answer is kept for the process (hardware does not
 * change under a running app). CUDA is tried only when its provider libraries are installed, as the runtime does.
 */
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { missingCudaLibraries, supportedBackends } from './providers.ts';

/** The providers that ran the probe graph, and why each other bundled one cannot run here. */
export interface ProviderProbe {
  available: string[];
  unavailable: { name: string; reason: string }[];
}

let probed: Promise<ProviderProbe> | null = null;

/** Probes once per process (see the module comment); later calls answer the same result. */
export function probeProviders(): Promise<ProviderProbe> {
  probed ??= probe();
  return probed;
}

async function probe(): Promise<ProviderProbe> {
  const result: ProviderProbe = { available: ['cpu'], unavailable: [] };
  const model = probeGraph();
  for (const { name } of supportedBackends().filter((b) => b.bundled && b.name !== 'cpu')) {
    if (name === 'cuda' && missingCudaLibraries().length > 0) {
      result.unavailable.push({
        name,
        reason: 'its provider libraries are not installed (npm run gpu:setup)',
      });
      continue;
    }
    try {
      const session = await ort.InferenceSession.create(model, {
        executionProviders: [name],
        logSeverityLevel: 4,
      });
      try {
        // in: x float32[1] / out: y float32[1] = x + x
        const out = await session.run({ x: new ort.Tensor('float32', new Float32Array([1]), [1]) });
        if ((out.y!.data as Float32Array)[0] !== 2) throw new Error('the probe graph computed a wrong sum');
      } finally {
        await session.release();
      }
      result.available.push(name);
    } catch (error) {
      const message = (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
      result.unavailable.push({ name, reason: shorten(message) });
    }
  }
  return result;
}

/** The smallest graph every provider takes: y = x + x over one float (opset 17). */
function probeGraph(): Uint8Array {
  const { onnx } = onnxProto;
  const float1 = { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }] } } }; // 1 = FLOAT
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'pseudo-ris-studio',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'provider_probe',
      node: [{ opType: 'Add', input: ['x', 'x'], output: ['y'], name: 'add' }],
      input: [{ name: 'x', type: float1 }],
      output: [{ name: 'y', type: float1 }],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** onnxruntime's messages start with a source path: keep what follows it, at most 160 characters. */
function shorten(message: string): string {
  const text = message.replace(/^.*?\.(cc|cpp|h):\d+\s*/, '').trim();
  return text.length > 160 ? `${text.slice(0, 157)}…` : text;
}
