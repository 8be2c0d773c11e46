/**
 * Model tests: the demo pack's real segmenter graphs through the runtime, on shapes-world scenes.
 */
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderScene, type Scene } from '../demo/index.ts';
import { maskIou } from '../image/mask.ts';
import { openPack } from '../pipeline/engine.ts';
import { inBatchLane, type ModelPack } from '../runtime/index.ts';
import { generateMasks } from './generate.ts';
import { proposeMasks } from './index.ts';
import { SamModel, SegmentSession, promptPoints } from './model.ts';
import { promptMask } from './prompt.ts';

const PACK = resolve(import.meta.dirname, '../../../resources/models/demo');
const SEED = 7;

let pack: ModelPack;
/** The demo pack's segmenter with its batched decoder, 64 prompts per run (segment-anything's points_per_batch). */
let model: SamModel;
/** The same pack through the official batch-1 decoder only. */
let single: SamModel;

beforeAll(async () => {
  pack = await openPack(PACK);
  model = await SamModel.open(pack, { promptBatch: 64 });
  single = await SamModel.open(pack, { batched: 'off' });
});

afterAll(async () => {
  await pack.dispose();
});

function centreOf(scene: Scene, objectIndex: number): { x: number; y: number } {
  // A pixel of the object near its centroid (the shapes are convex, so the centroid is inside).
  const { mask } = scene.truth.objects[objectIndex];
  let sx = 0;
  let sy = 0;
  let n = 0;
  for (let y = 0; y < mask.height; y++) {
    for (let x = 0; x < mask.width; x++) {
      if (mask.data[y * mask.width + x]) {
        sx += x;
        sy += y;
        n++;
      }
    }
  }
  return { x: sx / n + 0.5, y: sy / n + 0.5 };
}

describe('the decoder contract', () => {
  it('appends the padding point without a box and box corners with labels 2 and 3', () => {
    const size = { width: 2048, height: 1024 };
    const points = promptPoints({ points: [{ x: 100, y: 50, label: 1 }] }, size);
    expect(Array.from(points.labels)).toEqual([1, -1]);
    expect(Array.from(points.coords)).toEqual([50, 25, 0, 0]);
    const boxed = promptPoints(
      { points: [{ x: 10, y: 10, label: 0 }], box: { x0: 0, y0: 0, x1: 2048, y1: 1024 } },
      size,
    );
    expect(Array.from(boxed.labels)).toEqual([0, 2, 3]);
    expect(Array.from(boxed.coords)).toEqual([5, 5, 0, 0, 1024, 512]);
    expect(() => promptPoints({ points: [] }, size)).toThrow('a prompt needs at least one point or a box');
    expect(() => promptPoints({ points: [{ x: 3000, y: 1, label: 1 }] }, size)).toThrow(
      'prompt point 0 (3000, 1) lies outside the 2048×1024 image',
    );
  });

  it('loops over prompts because the official decoder batch is fixed at 1', () => {
    expect(model.decoder.inputs.point_coords.shape[0]).toBe(1);
    expect(model.batchable).toBe(false);
  });
});

describe('interactive prompts', () => {
  it('segments an object from one click, a box, and refines with the previous mask, on one encoder run', async () => {
    const scene = renderScene(SEED, 9);
    const session = new SegmentSession(model, scene.image);
    const before = model.stats();
    const target = scene.truth.objects[0];
    const click = await promptMask(session, { points: [{ ...centreOf(scene, 0), label: 1 }] });
    expect(click.mask.width).toBe(scene.image.width);
    expect(click.mask.height).toBe(scene.image.height);
    expect(click.lowRes.length).toBe(256 * 256);
    expect(click.output).toBeGreaterThanOrEqual(1); // one click: best multimask output
    expect(maskIou(click.mask, target.mask)).toBeGreaterThanOrEqual(0.9);

    const [x, y, w, h] = target.bbox;
    const boxed = await promptMask(session, { box: { x0: x, y0: y, x1: x + w, y1: y + h } });
    expect(maskIou(boxed.mask, target.mask)).toBeGreaterThanOrEqual(0.9);

    const refined = await promptMask(session, { points: [{ ...centreOf(scene, 0), label: 1 }] }, click);
    expect(maskIou(refined.mask, target.mask)).toBeGreaterThanOrEqual(0.9);

    const after = model.stats();
    expect(after.encoderRuns - before.encoderRuns).toBe(1);
    expect(after.decoderRuns - before.decoderRuns).toBe(3);
  });

  it('removes an object with a negative point on it', async () => {
    const scene = renderScene(SEED, 9);
    const session = new SegmentSession(model, scene.image);
    const point = centreOf(scene, 0);
    const out = await promptMask(session, {
      points: [
        { ...point, label: 1 },
        { ...point, label: 0 },
      ],
    });
    expect(out.mask.data[Math.floor(point.y) * scene.image.width + Math.floor(point.x)]).toBe(0);
  });
});

describe('automatic mask generation + selection on shapes-world scenes', () => {
  it('recovers ≥ 95 % of the objects at IoU ≥ 0.9 with < 10 % of selected masks matching no object', async () => {
    // Three small scenes (9 objects); 12 points per side keeps the test near 30 s on 2 cores (the bench runs 32).
    let objects = 0;
    let recovered = 0;
    let selectedCount = 0;
    let unmatched = 0;
    let proposals = 0;
    let runs = 0;
    for (const index of [9, 17, 14]) {
      const scene = renderScene(SEED, index);
      const result = await proposeMasks(new SegmentSession(model, scene.image), {
        preset: 'reference',
        pointsPerSide: 12,
        maxMasks: 5,
      });
      expect(result.decisions).toHaveLength(result.proposals.length);
      expect(result.decisions.every((d) => d.reason.startsWith(d.kept ? 'kept: ' : 'dropped: '))).toBe(true);
      expect(result.stats.decoderRuns).toBe(Math.ceil(144 / 64));
      expect(result.stats.encoderRuns).toBe(1);
      for (const object of scene.truth.objects) {
        objects++;
        if (result.selected.some((s) => maskIou(s.mask, object.mask) >= 0.9)) recovered++;
      }
      for (const s of result.selected) {
        selectedCount++;
        if (!scene.truth.objects.some((o) => maskIou(s.mask, o.mask) >= 0.5)) unmatched++;
      }
      proposals += result.proposals.length;
      runs += result.stats.decoderRuns;
    }
    console.log(
      `masks: recovered ${recovered}/${objects} objects at IoU ≥ 0.9 (${((100 * recovered) / objects).toFixed(1)} %), ` +
        `${unmatched}/${selectedCount} selected masks match no object (IoU < 0.5), ${proposals} proposals, ${runs} decoder runs`,
    );
    expect(recovered / objects).toBeGreaterThanOrEqual(0.95);
    expect(unmatched / selectedCount).toBeLessThan(0.1);
  });

  it('runs crop layers and small-region cleanup, returning full-image masks', async () => {
    const scene = renderScene(SEED, 9);
    const { proposals, stats } = await generateMasks(model, scene.image, {
      preset: 'reference',
      pointsPerSide: 2,
      cropNLayers: 1,
      minMaskRegionArea: 50,
    });
    expect(stats.encoderRuns).toBe(5); // the whole image + 4 crops
    expect(stats.decoderRuns).toBe(5); // 4 points per crop in one batched run
    expect(proposals.length).toBeGreaterThan(0);
    for (const p of proposals) {
      expect(p.mask.width).toBe(scene.image.width);
      expect(p.mask.height).toBe(scene.image.height);
    }
    expect(new Set(proposals.map((p) => p.cropBox.join(','))).size).toBeGreaterThanOrEqual(1);
  });
});

describe('batched SAM prompts (the fast contract) on the demo pack', () => {
  it('gives the same masks, scores and order as batch-1 prompts, in ⌈points / 64⌉ decoder runs', async () => {
    const scene = renderScene(SEED, 17);
    const options = { preset: 'reference' as const, pointsPerSide: 10 };
    const batched = await generateMasks(model, scene.image, options);
    const one = await generateMasks(single, scene.image, options);
    expect(model.path).toBe('batched');
    expect(single.path).toBe('batch-1');
    expect(batched.stats.decoderRuns).toBe(2);
    expect(one.stats.decoderRuns).toBe(100);
    expect(batched.proposals.length).toBeGreaterThan(0);
    expect(batched.proposals.map((p) => [p.predictedIou, p.stability, p.point, p.bbox])).toEqual(
      one.proposals.map((p) => [p.predictedIou, p.stability, p.point, p.bbox]),
    );
    batched.proposals.forEach((p, i) =>
      expect(Buffer.from(p.mask.data).equals(Buffer.from(one.proposals[i]!.mask.data))).toBe(true),
    );
    expect(batched.stats.afterNms).toBe(one.stats.afterNms);
  });

  it('in the batch lane, decodes in chunks sized to the run budget, with the same masks, scores and order', async () => {
    const scene = renderScene(SEED, 17);
    const options = { preset: 'reference' as const, pointsPerSide: 10 };
    const throughput = await generateMasks(model, scene.image, options);
    const budgeted = await inBatchLane(() => generateMasks(model, scene.image, options));
    // outside a lane: ⌈100 / 64⌉ runs; in the batch lane the first chunk is 4 prompts, then sized by its time
    expect(throughput.stats.decoderRuns).toBe(2);
    expect(budgeted.stats.decoderRuns).toBeGreaterThan(2);
    expect(budgeted.proposals.map((p) => [p.predictedIou, p.stability, p.point, p.bbox])).toEqual(
      throughput.proposals.map((p) => [p.predictedIou, p.stability, p.point, p.bbox]),
    );
    budgeted.proposals.forEach((p, i) =>
      expect(Buffer.from(p.mask.data).equals(Buffer.from(throughput.proposals[i]!.mask.data))).toBe(true),
    );
  });

  it('gives every prompt the outputs of its own batch-1 run, bit for bit', async () => {
    const scene = renderScene(SEED, 17);
    const prompts = scene.truth.objects.map((_, i) => ({
      points: [{ ...centreOf(scene, i), label: 1 as const }],
    }));
    expect(prompts.length).toBeGreaterThan(1);
    const a = await new SegmentSession(model, scene.image).decode(prompts);
    const b = await new SegmentSession(single, scene.image).decode(prompts);
    const bytes = (values: Float32Array) => Buffer.from(values.buffer, values.byteOffset, values.byteLength);
    a.forEach((decoded, i) => {
      expect(bytes(decoded.masks).equals(bytes(b[i]!.masks))).toBe(true);
      expect(bytes(decoded.iou).equals(bytes(b[i]!.iou))).toBe(true);
      expect(bytes(decoded.lowRes).equals(bytes(b[i]!.lowRes))).toBe(true);
    });
  });

  it('measures the prompt batch size at the first batched decode when not set', async () => {
    const measured = await SamModel.open(pack);
    expect(measured.promptBatch).toBeNull();
    const scene = renderScene(SEED, 9);
    const prompts = [0, 1].map((i) => ({ points: [{ ...centreOf(scene, i), label: 1 as const }] }));
    await new SegmentSession(measured, scene.image).decode(prompts);
    expect(measured.promptBatch!.source).toBe('measured');
    // sizes up to the work (2 prompts), chosen for it: fewest runs within 5 % of the fastest total, with the reason
    expect([1, 2]).toContain(measured.promptBatch!.size);
    expect(measured.promptBatch!.timings!.map((t) => t.batch)).toEqual(
      [1, 2].slice(0, measured.promptBatch!.timings!.length),
    );
    expect(measured.promptBatch!.reason).toContain('for 2 prompts (predicted 1: 2 runs');
    expect(() => new SamModel(model.encoder, model.decoder, undefined, 0, null, 0)).toThrow(
      "promptBatch must be an integer ≥ 1 or 'auto', got 0",
    );
  });
});
