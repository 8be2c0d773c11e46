import { describe, expect, it } from 'vitest';
import {
  AMG_PRESETS,
  boxIou,
  boxNms,
  buildPointGrid,
  checkAmgOptions,
  generateCropBoxes,
  isBoxNearCropEdge,
  stabilityScore,
} from './amg.ts';

describe('buildPointGrid', () => {
  it('places n² points offset 1/(2n) from the edges, x varying fastest', () => {
    const grid = Array.from(buildPointGrid(2));
    expect(grid).toEqual([0.25, 0.25, 0.75, 0.25, 0.25, 0.75, 0.75, 0.75]);
  });

  it('spaces 32 points per side like np.linspace(1/64, 63/64, 32)', () => {
    const grid = buildPointGrid(32);
    expect(grid.length).toBe(32 * 32 * 2);
    expect(grid[0]).toBeCloseTo(1 / 64, 12);
    expect(grid[2 * 31]).toBeCloseTo(63 / 64, 12);
    expect(grid[2 * 32 + 1]).toBeCloseTo(1 / 64 + 1 / 32, 12); // second row's y
  });

  it('puts a single point in the centre', () => {
    expect(Array.from(buildPointGrid(1))).toEqual([0.5, 0.5]);
  });
});

describe('stabilityScore', () => {
  it('is #(logit > 1) / #(logit > −1)', () => {
    const logits = new Float32Array([-3, -0.5, 0.5, 1.5, 2, 0.99]);
    // > −1: −0.5, 0.5, 1.5, 2, 0.99 → 5; > 1: 1.5, 2 → 2.
    expect(stabilityScore(logits, 0, 1)).toBeCloseTo(2 / 5, 12);
  });

  it('reads one mask of a stack and is 0 when nothing exceeds the low threshold', () => {
    const logits = new Float32Array([5, 5, -5, -5, 2, 0]);
    expect(stabilityScore(logits, 0, 1, 2, 2)).toBe(0);
    expect(stabilityScore(logits, 0, 1, 4, 2)).toBeCloseTo(0.5, 12);
  });
});

describe('boxIou and boxNms', () => {
  it('measures boxes as torchvision, (x1 − x0)·(y1 − y0)', () => {
    expect(boxIou({ x0: 0, y0: 0, x1: 10, y1: 10 }, { x0: 5, y0: 0, x1: 15, y1: 10 })).toBeCloseTo(
      50 / 150,
      12,
    );
  });

  it('keeps the higher-scored of two overlapping boxes and returns descending score order', () => {
    const boxes = [
      { x0: 0, y0: 0, x1: 10, y1: 10 },
      { x0: 1, y0: 0, x1: 11, y1: 10 }, // IoU 90/110 = 0.82 with box 0
      { x0: 20, y0: 20, x1: 30, y1: 30 },
    ];
    expect(boxNms(boxes, [0.8, 0.9, 0.5], 0.7)).toEqual([1, 2]);
    // Strictly above the threshold suppresses: at 0.9 nothing overlaps enough.
    expect(boxNms(boxes, [0.8, 0.9, 0.5], 0.9)).toEqual([1, 0, 2]);
  });
});

describe('generateCropBoxes', () => {
  it('is the whole image for 0 layers', () => {
    expect(generateCropBoxes({ width: 100, height: 50 }, 0, 512 / 1500)).toEqual([
      { x0: 0, y0: 0, x1: 100, y1: 50, layer: 0 },
    ]);
  });

  it('adds 4 overlapping crops for layer 1 as SAM computes them', () => {
    // short side 100, overlap int(0.25·100·1) = 25, crop_w ceil((25 + 200)/2) = 113, crop_h ceil((25 + 100)/2) = 63.
    const boxes = generateCropBoxes({ width: 200, height: 100 }, 1, 0.25);
    expect(boxes.slice(1)).toEqual([
      { x0: 0, y0: 0, x1: 113, y1: 63, layer: 1 },
      { x0: 0, y0: 38, x1: 113, y1: 100, layer: 1 },
      { x0: 88, y0: 0, x1: 200, y1: 63, layer: 1 },
      { x0: 88, y0: 38, x1: 200, y1: 100, layer: 1 },
    ]);
  });
});

describe('isBoxNearCropEdge', () => {
  const image = { width: 200, height: 100 };
  it('flags boxes at an inner crop edge but not at the image edge', () => {
    const crop = { x0: 0, y0: 0, x1: 113, y1: 63, layer: 1 };
    expect(isBoxNearCropEdge({ x0: 0, y0: 0, x1: 50, y1: 30 }, crop, image)).toBe(false);
    expect(isBoxNearCropEdge({ x0: 30, y0: 10, x1: 100, y1: 30 }, crop, image)).toBe(true);
    expect(
      isBoxNearCropEdge(
        { x0: 0, y0: 0, x1: 199, y1: 99 },
        { x0: 0, y0: 0, x1: 200, y1: 100, layer: 0 },
        image,
      ),
    ).toBe(false);
  });
});

describe('presets', () => {
  it('differ only in the predicted-IoU threshold (0.88 SAM, 0.5 reference)', () => {
    expect(AMG_PRESETS.sam.predIouThresh).toBe(0.88);
    expect(AMG_PRESETS.reference.predIouThresh).toBe(0.5);
    expect({ ...AMG_PRESETS.reference, predIouThresh: 0.88 }).toEqual(AMG_PRESETS.sam);
    expect(AMG_PRESETS.sam).toMatchObject({
      pointsPerSide: 32,
      stabilityScoreThresh: 0.95,
      stabilityScoreOffset: 1,
      boxNmsThresh: 0.7,
    });
  });

  it('reject bad options by name', () => {
    expect(() => checkAmgOptions({ ...AMG_PRESETS.sam, pointsPerSide: 0 })).toThrow(
      'pointsPerSide must be a positive integer, got 0',
    );
    expect(() => checkAmgOptions({ ...AMG_PRESETS.sam, boxNmsThresh: 2 })).toThrow(
      'boxNmsThresh must be in [0, 1], got 2',
    );
  });
});
