/**
 * Interactive latency while a run goes (issue 22), printed, never asserted: the engine in its worker thread (as
 * `pseudo-ris serve` runs it) on demo scenes with a local run going, and the requests a labeler makes meanwhile —
 * reads (thumbnail, full image, masks, candidates, report, image list) and model work (a point prompt on an image
 * not prompted before, a sampling trace, a beam trace). Prints p50 / p95 / max per request, idle and during the run.
 * Env: PSEUDO_RIS_BENCH_INTERACTIVE_SCENES (default 8), PSEUDO_RIS_BENCH_INTERACTIVE_ROUNDS (default 4).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CandidateView, ImagePage, RunFinished } from '../src/shared/api.ts';
import type { EngineClient } from '../src/engine/service/client.ts';
import { startWorkerEngine } from '../src/engine/service/worker.ts';

type Kind = 'read' | 'prompt' | 'trace' | 'beam';

/** Prints the figures. */
export async function run(): Promise<void> {
  const count = Number(process.env.PSEUDO_RIS_BENCH_INTERACTIVE_SCENES ?? 8);
  const rounds = Number(process.env.PSEUDO_RIS_BENCH_INTERACTIVE_ROUNDS ?? 4);
  const base = mkdtempSync(join(tmpdir(), 'pris-interactive-'));
  mkdirSync(join(base, 'allowed'));
  const engine = startWorkerEngine({
    mode: 'served',
    version: 'bench',
    packDirs: [],
    allowedRoots: [join(base, 'allowed')],
    defaultProjectDir: join(base, 'allowed'),
  });
  const call = <T>(channel: Parameters<EngineClient['request']>[0], params: unknown = {}) =>
    engine.request(channel, params) as Promise<T>;
  try {
    await call('project:openDemo', { dir: join(base, 'allowed', 'demo'), count, seed: 7 });
    const { images } = await call<ImagePage>('project:images');
    // the first image runs alone, so the trace and beam requests have stored candidates to replay
    const first = waitFinished(engine);
    await call('run:start', { imageIds: [images[0]!.id] });
    await first;
    const candidates = await call<CandidateView[]>('candidates:list', { imageId: images[0]!.id });
    const sampled = candidates.find((c) => c.setting.kind !== 'beam')!;
    const beam = candidates.find((c) => c.setting.kind === 'beam')!;
    let prompted = 0;
    const requests: Record<Kind, (round: number) => Timed[]> = {
      read: (round) => [
        ['thumbnail', call('image:get', { imageId: images[round % images.length]!.id, maxSide: 256 })],
        ['image', call('image:get', { imageId: images[0]!.id })],
        ['masks', call('image:masks', { imageId: images[0]!.id })],
        ['candidates', call('candidates:list', { imageId: images[0]!.id })],
        ['report', call('report:get', {})],
        ['images', call('project:images')],
      ],
      // a fresh image each time (its embeddings computed), as a labeler pressing Shift+J then clicking
      prompt: () => [
        [
          'prompt',
          call('mask:predict', {
            imageId: images[prompted++ % images.length]!.id,
            prompt: { points: [{ x: 100, y: 100, label: 1 }] },
          }),
        ],
      ],
      trace: () => [['trace', call('inspector:trace', { candidateId: sampled.id })]],
      beam: () => [['beam', call('inspector:beam', { candidateId: beam.id })]],
    };

    const idle = await measure(requests, rounds);
    // `prompted` goes on: the prompts during the run hit images whose embeddings are not cached yet
    const finished = waitFinished(engine);
    await call('run:start', {});
    const busy = await measure(requests, rounds);
    const status = await call<{ imagesDone: number; imagesTotal: number; state: string }>('run:status');
    await call('run:cancel').catch(() => {});
    await finished;

    console.log(`${count} demo scenes, paper-default settings, engine in a worker thread; ${rounds} rounds`);
    console.log(`(the run had done ${status.imagesDone}/${status.imagesTotal} images when measuring ended)`);
    console.log('request     idle p50 / p95 / max (ms)        during a run p50 / p95 / max (ms)');
    for (const label of Object.keys(busy))
      console.log(`${label.padEnd(11)} ${figures(idle[label] ?? []).padEnd(32)} ${figures(busy[label]!)}`);
    const reads = Object.entries(busy).flatMap(([label, times]) => (READS.has(label) ? times : []));
    console.log(`${'all reads'.padEnd(11)} ${''.padEnd(32)} ${figures(reads)}`);
  } finally {
    await engine.close();
    rmSync(base, { recursive: true, force: true });
  }
}

/** A request's label (what the figures are printed under) and its answer. */
type Timed = [label: string, answer: Promise<unknown>];

const READS = new Set(['thumbnail', 'image', 'masks', 'candidates', 'report', 'images']);

/** Times every request, one round after another; reads of a round go together as the page sends them. */
async function measure(
  requests: Record<Kind, (round: number) => Timed[]>,
  rounds: number,
): Promise<Record<string, number[]>> {
  const times: Record<string, number[]> = {};
  for (let round = 0; round < rounds; round++) {
    for (const kind of Object.keys(requests) as Kind[]) {
      const start = performance.now();
      const pending = requests[kind](round).map(([label, answer]) =>
        answer.then(() => (times[label] ??= []).push(performance.now() - start)),
      );
      await Promise.all(pending);
      // a labeler's pause between actions, so the run gets the machine back in between
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
  return times;
}

function figures(values: number[]): string {
  if (values.length === 0) return '–';
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
  return `${at(0.5).toFixed(0)} / ${at(0.95).toFixed(0)} / ${sorted.at(-1)!.toFixed(0)}`;
}

function waitFinished(engine: EngineClient): Promise<RunFinished> {
  return new Promise((resolve) => {
    const stop = engine.onEvent((event, payload) => {
      if (event !== 'run:finished') return;
      stop();
      resolve(payload as RunFinished);
    });
  });
}
