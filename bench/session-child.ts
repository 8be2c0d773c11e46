/**
 * One measurement of `session.bench.ts` in its own process (so RSS is the variant's alone): creates a session of an
 * ONNX file with the given options, runs it `runs` times on zero feeds, prints JSON figures on stdout.
 *
 * argv: <model.onnx> <options JSON> <runs>
 */
import * as ort from 'onnxruntime-node';

const [file, optionsJson, runsArg] = process.argv.slice(2);
const options = JSON.parse(optionsJson!) as ort.InferenceSession.SessionOptions;
const runs = Number(runsArg ?? 3);
const rssBefore = process.memoryUsage().rss;
let peak = rssBefore;
const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
const started = performance.now();
const cpuStarted = process.cpuUsage();
const session = await ort.InferenceSession.create(file!, options);
const createMs = performance.now() - started;
// CPU time as well as wall time: on a shared machine the wall time of a creation mostly measures the neighbours
const cpu = process.cpuUsage(cpuStarted);
const createCpuMs = (cpu.user + cpu.system) / 1000;
const rssCreated = process.memoryUsage().rss;
const feeds: Record<string, ort.Tensor> = {};
for (const meta of session.inputMetadata) {
  if (!meta.isTensor) continue;
  // symbolic dims → 1 (the bench's synthetic graph declares B and T; pack graphs: one row)
  const dims = meta.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
  const size = dims.reduce((a, b) => a * b, 1);
  feeds[meta.name] =
    meta.type === 'int64'
      ? new ort.Tensor('int64', new BigInt64Array(size), dims)
      : meta.type === 'int32'
        ? new ort.Tensor('int32', new Int32Array(size), dims)
        : new ort.Tensor('float32', new Float32Array(size), dims);
}
const runMs: number[] = [];
for (let i = 0; i < runs; i++) {
  const t = performance.now();
  await session.run(feeds);
  runMs.push(performance.now() - t);
}
clearInterval(sample);
peak = Math.max(peak, process.memoryUsage().rss);
await session.release();
process.stdout.write(
  `${JSON.stringify({ createMs, createCpuMs, firstRunMs: runMs[0], steadyRunMs: Math.min(...runMs.slice(1)), rssCreatedMiB: (rssCreated - rssBefore) / 2 ** 20, peakMiB: peak / 2 ** 20 })}\n`,
);
