// Near-twin masks: the pure rule on hand-made masks, then the engine answering a box prompt drawn over an existing
// mask of a demo scene (issue 22: "mask 3 equals mask 2" was added silently and both lost every candidate).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MaskPreview, MaskView, RunFinished } from '../../shared/api.ts';
import { encodeRle } from '../image/index.ts';
import { startTestEngine, type TestEngine } from '../testing/engine.ts';
import { nearestTwin } from './twins.ts';

/** A width×height mask with the pixels of rectangle [x0, x1) × [y0, y1) set. */
function rect(width: number, height: number, x0: number, y0: number, x1: number, y1: number) {
  const data = new Uint8Array(width * height);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) data[y * width + x] = 1;
  return { width, height, data };
}

function view(id: string, mask: ReturnType<typeof rect>): Pick<MaskView, 'id' | 'rle' | 'area'> {
  return { id, rle: encodeRle(mask), area: mask.data.reduce((s, v) => s + v, 0) };
}

describe('nearestTwin', () => {
  const shown = [view('1:0', rect(20, 20, 0, 0, 10, 10)), view('1:1', rect(20, 20, 10, 10, 20, 20))];

  it('names the shown mask a new one nearly repeats, with their IoU', () => {
    // 10×10 against 10×9 inside it: IoU 90/100
    const twin = nearestTwin(rect(20, 20, 0, 0, 10, 9), 90, shown);
    expect(twin?.maskId).toBe('1:0');
    expect(twin?.iou).toBeCloseTo(0.9);
  });

  it('answers null below the threshold and for masks of another size', () => {
    expect(nearestTwin(rect(20, 20, 0, 0, 10, 8), 80, shown)).toBeNull(); // IoU 0.8
    expect(nearestTwin(rect(20, 20, 0, 0, 10, 8), 80, shown, 0.8)?.maskId).toBe('1:0');
    expect(nearestTwin(rect(10, 10, 0, 0, 10, 10), 100, shown)).toBeNull();
    expect(nearestTwin(rect(20, 20, 0, 0, 0, 0), 0, [])).toBeNull();
  });

  it('refuses a threshold outside (0, 1]', () => {
    expect(() => nearestTwin(rect(2, 2, 0, 0, 1, 1), 1, shown, 0)).toThrow(
      'nearestTwin: threshold must be in (0, 1], got 0',
    );
  });
});

describe('a prompt over an existing mask of a demo scene', () => {
  let test: TestEngine;
  const call = <T>(channel: string, params: unknown = {}) =>
    test.engine.request(channel as never, params) as Promise<T>;

  beforeAll(async () => {
    test = await startTestEngine('pris-twins-');
    await call('project:openDemo', { dir: join(test.base, 'allowed', 'demo'), count: 1, seed: 3 });
    const finished = new Promise<RunFinished>((resolve) =>
      test.engine.onEvent((event, payload) => event === 'run:finished' && resolve(payload as RunFinished)),
    );
    await call('run:start');
    expect((await finished).outcome).toBe('completed');
  }, 240_000);
  afterAll(() => test.close());

  it('is named the twin of that mask, and not when it refines it', async () => {
    const [image] = (await call<{ images: { id: string }[] }>('project:images')).images;
    const imageId = image!.id;
    const masks = await call<MaskView[]>('image:masks', { imageId });
    expect(masks.length).toBeGreaterThan(0);
    const mask = masks[0]!;
    const [x, y, w, h] = mask.bbox;
    const prompt = { box: { x0: x, y0: y, x1: x + w, y1: y + h } };
    const preview = await call<MaskPreview>('mask:predict', { imageId, prompt });
    expect(preview.duplicateOf?.maskId).toBe(mask.id);
    expect(preview.duplicateOf!.iou).toBeGreaterThanOrEqual(0.9);
    const refined = await call<MaskPreview>('mask:predict', { imageId, prompt, refining: mask.id });
    expect(refined.duplicateOf?.maskId ?? null).not.toBe(mask.id);
    // a point on empty background repeats nothing
    const elsewhere = await call<MaskPreview>('mask:predict', {
      imageId,
      prompt: { points: [{ x: 1, y: 1, label: 1 }] },
    }).catch(() => null);
    if (elsewhere) expect(elsewhere.duplicateOf?.maskId ?? null).not.toBe(mask.id);
  });
});
