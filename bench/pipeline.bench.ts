/**
 * Pipeline figures on the shapes world (DESIGN.md §10), printed, never asserted:
 *  1. per-stage images/minute of the engine on a few scenes with generated masks;
 *  2. the same scenes in the reference-equivalent caption mode (no caching, no batching) and the ratio;
 *  3. CLIP image encodes per image (engine: 2n; the reference: 2·n per mask = 2n²);
 *  4. images/minute and peak memory (RSS) over a long run — PSEUDO_RIS_BENCH_SCENES scenes (default 200) with
 *     imported ground-truth masks and the reference preset.
 * Env: PSEUDO_RIS_BENCH_SCENES (long run), PSEUDO_RIS_BENCH_STAGE_SCENES (stage runs, default 4).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { groundTruthToCoco } from '../src/engine/dataset/evaluate.ts';
import { ensureDemoPack, generateScenes } from '../src/engine/demo/index.ts';
import { openStages } from '../src/engine/pipeline/engine.ts';
import { runProject } from '../src/engine/pipeline/run.ts';
import { Project } from '../src/engine/pipeline/store/index.ts';
import type { ImageResult } from '../src/shared/results.ts';
import { parseSettings, settingsPreset, type Settings } from '../src/shared/settings.ts';

const STAGES = ['load', 'masks', 'crops', 'captions', 'scores'] as const;

/** Prints the figures. */
export async function run(): Promise<void> {
  const long = Number(process.env.PSEUDO_RIS_BENCH_SCENES ?? 200);
  const few = Number(process.env.PSEUDO_RIS_BENCH_STAGE_SCENES ?? 4);
  const dir = mkdtempSync(join(tmpdir(), 'pseudo-ris-bench-'));
  try {
    const pack = await ensureDemoPack();
    const small = await scenes(join(dir, 'small'), few, 3);
    const stageSettings = parseSettings({ ...settingsPreset('reference'), masks: { pointsPerSide: 8 } });

    console.log(
      `pipeline on ${few} scenes, generated masks (8×8 grid), reference preset (11 candidates per crop)`,
    );
    const engine = await timedRun(pack, 'engine', small.scenes, join(dir, 'engine'), stageSettings);
    const reference = await timedRun(pack, 'reference', small.scenes, join(dir, 'reference'), stageSettings);
    printStages('engine', engine.results, engine.seconds);
    printStages('reference-equivalent', reference.results, reference.seconds);
    const caption = (r: ImageResult[]) => r.reduce((s, x) => s + (x.counters?.stageMs.captions ?? 0), 0);
    console.log(
      `reference-equivalent / engine: captions stage ${(caption(reference.results) / caption(engine.results)).toFixed(2)}×, whole run ${(reference.seconds / engine.seconds).toFixed(2)}×`,
    );
    const masks = engine.results.reduce((s, r) => s + r.masks.length, 0);
    const encodes = engine.results.reduce((s, r) => s + (r.counters?.clipImageEncodes ?? 0), 0);
    const referenceEncodes = engine.results.reduce((s, r) => s + 2 * r.masks.length * r.masks.length, 0);
    console.log(
      `CLIP image encodes per image: ${(encodes / engine.results.length).toFixed(1)} (reference 2·n per mask: ${(referenceEncodes / engine.results.length).toFixed(1)}; ${(masks / engine.results.length).toFixed(1)} masks per image)`,
    );
    const texts = engine.results.reduce((s, r) => s + (r.counters?.clipTextEncodes ?? 0), 0);
    const candidates = engine.results.reduce((s, r) => s + r.candidates.length, 0);
    console.log(
      `CLIP text encodes per image: ${(texts / engine.results.length).toFixed(1)} after deduplication (reference: 2 per candidate = ${((2 * candidates) / engine.results.length).toFixed(1)})`,
    );

    console.log(`\nlong run: ${long} scenes, imported ground-truth masks, reference preset`);
    const big = await scenes(join(dir, 'long'), long, 5);
    const settings = parseSettings({
      ...settingsPreset('reference'),
      masks: { source: 'imported', importPath: big.coco },
    });
    const stages = await openStages(pack);
    let peak = process.memoryUsage().rss;
    const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
    const start = performance.now();
    try {
      await runProject({
        project: join(dir, 'long-project'),
        images: big.scenes,
        settings,
        stages,
        onProgress: () => (peak = Math.max(peak, process.memoryUsage().rss)),
      });
    } finally {
      clearInterval(sample);
      await stages.dispose();
    }
    const seconds = (performance.now() - start) / 1000;
    const results = [...Project.open(join(dir, 'long-project')).results()];
    console.log(
      `${results.length} images in ${seconds.toFixed(1)} s = ${((60 * results.length) / seconds).toFixed(1)} images/min; peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB`,
    );
    printStages('long run', results, seconds);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function scenes(dir: string, count: number, seed: number): Promise<{ scenes: string; coco: string }> {
  const truth = await generateScenes({ count, seed, outDir: join(dir, 'scenes') });
  const coco = join(dir, 'coco.json');
  writeFileSync(coco, JSON.stringify(groundTruthToCoco(truth)));
  return { scenes: join(dir, 'scenes'), coco };
}

async function timedRun(
  pack: string,
  mode: 'engine' | 'reference',
  images: string,
  project: string,
  settings: Settings,
): Promise<{ results: ImageResult[]; seconds: number }> {
  const stages = await openStages(pack, { mode });
  const start = performance.now();
  try {
    await runProject({ project, images, settings, stages });
  } finally {
    await stages.dispose();
  }
  return { results: [...[...Project.open(project).results()]], seconds: (performance.now() - start) / 1000 };
}

function printStages(label: string, results: ImageResult[], seconds: number): void {
  const n = results.length;
  const parts = STAGES.map((stage) => {
    const ms = results.reduce((s, r) => s + (r.counters?.stageMs[stage] ?? 0), 0);
    return `${stage} ${ms > 0 ? ((60000 * n) / ms).toFixed(1) : '—'}`;
  });
  console.log(
    `${label.padEnd(22)} images/min per stage: ${parts.join(' · ')} · overall ${((60 * n) / seconds).toFixed(1)} (${seconds.toFixed(1)} s)`,
  );
}
