/**
 * Masks benchmark (DESIGN.md §10): SAM automatic mask generation + selection on shapes-world scenes with the demo
 * pack, for the `sam` and the `reference` (Pseudo-RIS) presets. Prints decoder runs per image, prompts per second,
 * the share of wall time spent outside `session.run` (post-processing: stability, binarize, NMS, selection), and how
 * many ground-truth objects the selected masks recover. Also interactive prompts with the image embeddings cached
 * (our engine) vs re-encoding the image for every prompt (no cache), as a ratio. When the pack offers the batched
 * decoder (fast contract), the `reference` preset also runs through the batch-1 decoder: SAM decoder runs per image
 * (goal ⌈points² / 64⌉, 16 at 32 points per side), wall-time ratio batched / batch-1, and whether the masks are
 * identical and in the same order. `--models DIR` runs on another pack.
 *
 * Env: MASKS_BENCH_SCENES (comma-separated scene indices, default "9": 1024 decoder runs take 1–2 minutes on 2 shared cores), MASKS_BENCH_POINTS (points per side,
 * default 32 as SAM and the reference), MASKS_BENCH_PROMPTS (interactive prompts, default 8).
 */
import { resolve } from 'node:path';
import { ensureDemoPack, renderScene } from '../src/engine/demo/index.ts';
import { maskIou } from '../src/engine/image/mask.ts';
import { openStages } from '../src/engine/pipeline/engine.ts';
import { proposeMasks, promptMask, SegmentSession } from '../src/engine/segment/index.ts';

const SEED = 7;

export async function run(): Promise<void> {
  const scenes = (process.env.MASKS_BENCH_SCENES ?? '9').split(',').map(Number);
  const points = Number(process.env.MASKS_BENCH_POINTS ?? 32);
  const promptCount = Number(process.env.MASKS_BENCH_PROMPTS ?? 8);
  const at = process.argv.indexOf('--models');
  const dir = at >= 0 ? resolve(process.argv[at + 1]!) : await ensureDemoPack();
  // the one opener (pipeline/engine.ts); each SAM model below is its own, with the runtime overrides it compares
  const stages = await openStages(resolve(dir));
  const { pack } = stages;
  try {
    const model = await stages.segmenterWith({ promptBatch: 64 });
    console.log(
      `pack ${pack.name}, seed ${SEED}, scenes ${scenes.join(', ')}, ${points} points per side, prompts ${model.batched ? 'batched (decoderBatched, 64 per run)' : model.batchable ? 'dynamic batch' : 'batch 1 (loop)'}`,
    );
    console.log(
      'preset     scene  size       runs  prompts/s  outside run  proposals  selected  recovered  unmatched  seconds',
    );
    for (const preset of ['sam', 'reference'] as const) {
      let wall = 0;
      let session = 0;
      let runs = 0;
      let prompts = 0;
      let objects = 0;
      let recovered = 0;
      for (const index of scenes) {
        const scene = renderScene(SEED, index);
        const result = await proposeMasks(new SegmentSession(model, scene.image), {
          preset,
          pointsPerSide: points,
        });
        const s = result.stats;
        const found = scene.truth.objects.filter((o) =>
          result.selected.some((m) => maskIou(m.mask, o.mask) >= 0.9),
        ).length;
        const unmatched = result.selected.filter(
          (m) => !scene.truth.objects.some((o) => maskIou(m.mask, o.mask) >= 0.5),
        ).length;
        wall += s.milliseconds;
        session += s.sessionMilliseconds;
        runs += s.decoderRuns;
        prompts += s.points;
        objects += scene.truth.objects.length;
        recovered += found;
        console.log(
          [
            preset.padEnd(10),
            String(index).padStart(5),
            `${scene.image.width}×${scene.image.height}`.padEnd(10),
            String(s.decoderRuns).padStart(5),
            (s.points / (s.milliseconds / 1000)).toFixed(1).padStart(10),
            `${((100 * (s.milliseconds - s.sessionMilliseconds)) / s.milliseconds).toFixed(1)} %`.padStart(
              12,
            ),
            String(s.afterNms).padStart(10),
            String(result.selected.length).padStart(9),
            `${found}/${scene.truth.objects.length}`.padStart(10),
            String(unmatched).padStart(10),
            (s.milliseconds / 1000).toFixed(1).padStart(8),
          ].join(' '),
        );
      }
      console.log(
        `${preset}: ${(runs / scenes.length).toFixed(0)} decoder runs per image, ${(prompts / (wall / 1000)).toFixed(1)} prompts/s, ` +
          `${((100 * (wall - session)) / wall).toFixed(1)} % of wall time outside session.run, recovered ${recovered}/${objects} objects at IoU ≥ 0.9`,
      );
    }

    if (model.batched) {
      // The same AMG through the official batch-1 decoder, and a measured batch size, side by side.
      const single = await stages.segmenterWith({ batchedPrompts: 'off' });
      const measured = await stages.segmenterWith({});
      const figures: Record<string, { runs: number; ms: number; masks: string[] }> = {};
      for (const [name, m] of [
        ['batched 64', model],
        ['batched auto', measured],
        ['batch-1', single],
      ] as const) {
        figures[name] = { runs: 0, ms: 0, masks: [] };
        for (const index of scenes) {
          const scene = renderScene(SEED, index);
          const result = await proposeMasks(new SegmentSession(m, scene.image), {
            preset: 'reference',
            pointsPerSide: points,
          });
          figures[name].runs += result.stats.decoderRuns;
          figures[name].ms += result.stats.milliseconds;
          figures[name].masks.push(
            ...result.proposals.map(
              (p) => `${p.predictedIou},${p.stability},${Buffer.from(p.mask.data).toString('base64')}`,
            ),
          );
        }
      }
      const choice = measured.promptBatch;
      console.log(
        `prompt batch measured at start: ${choice?.size} (${choice?.timings?.map((t) => `B=${t.batch} ${t.msPerRow.toFixed(1)} ms/prompt`).join(', ')}): ${choice?.reason ?? ''}`,
      );
      console.log(
        'reference preset       decoder runs/image   AMG ms/image   ratio to batch-1   masks vs batch-1',
      );
      const base = figures['batch-1']!;
      for (const [name, f] of Object.entries(figures)) {
        const same =
          f.masks.length === base.masks.length && f.masks.every((mask, i) => mask === base.masks[i]);
        console.log(
          [
            name.padEnd(22),
            (f.runs / scenes.length).toFixed(0).padStart(19),
            (f.ms / scenes.length).toFixed(0).padStart(14),
            (f.ms / base.ms).toFixed(3).padStart(18),
            (same ? 'identical, same order' : 'DIFFERENT').padStart(22),
          ].join(' '),
        );
      }
    }

    // Interactive prompts: one encoder run per image (cached) vs one per prompt (no cache).
    const scene = renderScene(SEED, scenes[0]);
    const clicks = Array.from({ length: promptCount }, (_, i) => {
      const o = scene.truth.objects[i % scene.truth.objects.length];
      return { x: o.bbox[0] + o.bbox[2] / 2, y: o.bbox[1] + o.bbox[3] / 2, label: 1 as const };
    });
    const cachedSession = new SegmentSession(model, scene.image);
    let start = performance.now();
    await cachedSession.embeddings();
    const encode = performance.now() - start;
    start = performance.now();
    for (const click of clicks) await promptMask(cachedSession, { points: [click] });
    const cached = (performance.now() - start) / clicks.length;
    start = performance.now();
    for (const click of clicks) await promptMask(new SegmentSession(model, scene.image), { points: [click] });
    const uncached = (performance.now() - start) / clicks.length;
    console.log(
      `interactive prompts on scene ${scenes[0]}: encoder ${encode.toFixed(0)} ms once, then ${cached.toFixed(0)} ms/prompt with cached ` +
        `embeddings vs ${uncached.toFixed(0)} ms/prompt re-encoding each time (no cache): ${(uncached / cached).toFixed(1)}× faster per prompt`,
    );
  } finally {
    await stages.dispose();
  }
}
