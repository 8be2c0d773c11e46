/**
 * Session options by measurement (issue 21): for one ONNX graph, session creation time, first and steady run time and
 * memory under the onnxruntime options that can cut start-up or memory — the graph optimization level, a saved
 * optimized graph loaded with optimization off, the memory pattern and the CPU arena. Each variant runs in its own
 * process (RSS is the variant's alone), twice; the faster creation is printed, with its CPU time (user + system, less
 * bent by other processes on a shared machine than the wall time). Prints; never asserts.
 *
 * Default graph: a synthetic transformer MLP stack (12 layers of LayerNorm → 768×3072 MatMul → GELU → 3072×768 MatMul
 * → residual, 226 MB of float32 weights, in the decomposed form exporters write, which ORT fuses at level 'extended').
 * `--graph FILE` measures another graph, e.g. a real pack's `coca_decoder_with_past.onnx`. Env: SESSION_BENCH_LAYERS.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

interface Figures {
  createMs: number;
  createCpuMs: number;
  firstRunMs: number;
  steadyRunMs: number;
  rssCreatedMiB: number;
  peakMiB: number;
}

export async function run(): Promise<void> {
  const at = process.argv.indexOf('--graph');
  const dir = mkdtempSync(join(tmpdir(), 'pseudo-ris-session-bench-'));
  try {
    const graph = at >= 0 ? resolve(process.argv[at + 1]!) : syntheticGraph(dir);
    const optimized = join(dir, 'optimized.onnx');
    const threads = {
      intraOpNumThreads: 2,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      logSeverityLevel: 3,
    };
    console.log(`graph ${graph} (${(statSync(graph).size / 2 ** 20).toFixed(0)} MiB)`);
    // writes the optimized graph once ('all' on CPU), for the variant that loads it with optimization off
    measure(graph, { ...threads, graphOptimizationLevel: 'all', optimizedModelFilePath: optimized }, 1);
    const variants: [string, string, object][] = [
      ['all (today)', graph, { ...threads, graphOptimizationLevel: 'all' }],
      ['extended', graph, { ...threads, graphOptimizationLevel: 'extended' }],
      ['basic', graph, { ...threads, graphOptimizationLevel: 'basic' }],
      ['disabled', graph, { ...threads, graphOptimizationLevel: 'disabled' }],
      ['saved all, load disabled', optimized, { ...threads, graphOptimizationLevel: 'disabled' }],
      ['all, no mem pattern', graph, { ...threads, graphOptimizationLevel: 'all', enableMemPattern: false }],
      ['all, no CPU arena', graph, { ...threads, graphOptimizationLevel: 'all', enableCpuMemArena: false }],
      [
        'all, no arena, no pattern',
        graph,
        { ...threads, graphOptimizationLevel: 'all', enableCpuMemArena: false, enableMemPattern: false },
      ],
    ];
    console.log(
      'variant                      create ms  create CPU ms  first run ms  steady run ms  RSS after create MiB  peak RSS MiB',
    );
    for (const [name, file, options] of variants) {
      const a = measure(file, options, 4);
      const b = measure(file, options, 4);
      const best = a.createMs <= b.createMs ? a : b;
      console.log(
        [
          name.padEnd(28),
          best.createMs.toFixed(0).padStart(9),
          Math.min(a.createCpuMs, b.createCpuMs).toFixed(0).padStart(14),
          Math.min(a.firstRunMs, b.firstRunMs).toFixed(1).padStart(13),
          Math.min(a.steadyRunMs, b.steadyRunMs).toFixed(1).padStart(14),
          best.rssCreatedMiB.toFixed(0).padStart(20),
          Math.max(a.peakMiB, b.peakMiB).toFixed(0).padStart(13),
        ].join(' '),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function measure(file: string, options: object, runs: number): Figures {
  const out = execFileSync(
    process.execPath,
    [
      '--import',
      'tsx',
      join(import.meta.dirname, 'session-child.ts'),
      file,
      JSON.stringify(options),
      String(runs),
    ],
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  return JSON.parse(out.trim().split('\n').at(-1)!) as Figures;
}

/** The synthetic MLP stack (see the module comment), written to `dir/synthetic.onnx`; returns its path. */
function syntheticGraph(dir: string): string {
  const layers = Number(process.env.SESSION_BENCH_LAYERS ?? 12);
  const width = 768;
  const hidden = 3072;
  const initializer: onnxProto.onnx.ITensorProto[] = [];
  const node: onnxProto.onnx.INodeProto[] = [];
  let seed = 1;
  const weights = (name: string, dims: number[], scale: number) => {
    const values = new Float32Array(dims.reduce((a, b) => a * b, 1));
    for (let i = 0; i < values.length; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      values[i] = ((seed / 2 ** 32) * 2 - 1) * scale;
    }
    initializer.push({ name, dims, dataType: 1, rawData: new Uint8Array(values.buffer) });
    return name;
  };
  const scalar = (name: string, value: number) => {
    initializer.push({ name, dims: [], dataType: 1, rawData: new Uint8Array(Float32Array.of(value).buffer) });
    return name;
  };
  const axes = 'axes_last';
  initializer.push({
    name: axes,
    dims: [1],
    dataType: 7,
    rawData: new Uint8Array(BigInt64Array.of(-1n).buffer),
  });
  scalar('eps', 1e-5);
  scalar('two', 2);
  scalar('half', 0.5);
  scalar('one', 1);
  scalar('sqrt2', Math.SQRT2);
  let x = 'x';
  let n = 0;
  const op = (opType: string, input: string[]) => {
    const output = `t${n++}`;
    node.push({ opType, input, output: [output] });
    return output;
  };
  for (let l = 0; l < layers; l++) {
    // LayerNorm, decomposed as exporters write it without the fused op
    const mean = op('ReduceMean', [x, axes]);
    const centred = op('Sub', [x, mean]);
    const variance = op('ReduceMean', [op('Pow', [centred, 'two']), axes]);
    const normed = op('Div', [centred, op('Sqrt', [op('Add', [variance, 'eps'])])]);
    const ln = op('Add', [op('Mul', [normed, weights(`g${l}`, [width], 1)]), weights(`b${l}`, [width], 0.1)]);
    const h = op('Add', [
      op('MatMul', [ln, weights(`w1_${l}`, [width, hidden], 0.03)]),
      weights(`c1_${l}`, [hidden], 0.1),
    ]);
    // GELU, erf form
    const gelu = op('Mul', [
      op('Mul', [h, 'half']),
      op('Add', [op('Erf', [op('Div', [h, 'sqrt2'])]), 'one']),
    ]);
    const y = op('Add', [
      op('MatMul', [gelu, weights(`w2_${l}`, [hidden, width], 0.03)]),
      weights(`c2_${l}`, [width], 0.1),
    ]);
    x = op('Add', [x, y]);
  }
  const io = (name: string) => ({
    name,
    type: {
      tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'B' }, { dimValue: 16 }, { dimValue: width }] } },
    },
  });
  node.push({ opType: 'Identity', input: [x], output: ['y'] });
  const bytes = onnx.ModelProto.encode({
    irVersion: 8,
    // 18: ReduceMean takes its axes as an input
    opsetImport: [{ domain: '', version: 18 }],
    producerName: 'pseudo-ris-session-bench',
    graph: { name: 'mlp', node, initializer, input: [io('x')], output: [io('y')] },
  }).finish();
  const file = join(dir, 'synthetic.onnx');
  writeFileSync(file, bytes);
  return file;
}
