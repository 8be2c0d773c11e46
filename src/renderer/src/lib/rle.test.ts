import { describe, expect, it } from 'vitest';
import { decodeRle, labelPoint, paintHalo, paintMask, rleRuns } from './rle.ts';

describe('COCO RLE decoding in the renderer', () => {
  it('decodes uncompressed runs in column-major order into a row-major mask', () => {
    // 2×3 image (h=2, w=3); column-major pixels: (0,0) (1,0) (0,1) (1,1) (0,2) (1,2); runs: 1 bg, 2 fg, 3 bg
    const mask = decodeRle({ size: [2, 3], counts: [1, 2, 3] });
    expect(Array.from(mask.data)).toEqual([0, 1, 0, 1, 0, 0]);
  });

  it('reads pycocotools compressed strings, including the difference-coded runs', () => {
    // 4×4 mask, centre 2×2 set: runs 5,2,2,2,5; rleToString stores runs 4.. as differences (2−2=0, 5−2=3) → "52203"
    expect(Array.from(rleRuns({ size: [4, 4], counts: '52203' }))).toEqual([5, 2, 2, 2, 5]);
    const mask = decodeRle({ size: [4, 4], counts: '52203' });
    expect(Array.from(mask.data)).toEqual([0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0]);
  });

  it('rejects runs that overflow the image and truncated strings', () => {
    expect(() => decodeRle({ size: [2, 2], counts: [1, 9] })).toThrow(
      'decodeRle: runs cover 10 pixels but the mask has 4',
    );
    expect(() => rleRuns({ size: [2, 2], counts: 'P' })).toThrow(
      'rleRuns: counts string ends inside a number at character 1',
    );
  });

  it('paints an outline opaque and the interior translucent', () => {
    const mask = decodeRle({ size: [4, 4], counts: [0, 16] });
    const rgba = paintMask(mask, [10, 20, 30], { fillAlpha: 0.2, outlineAlpha: 1 });
    expect(rgba[3]).toBe(255); // corner is an edge
    expect(rgba[(1 * 4 + 1) * 4 + 3]).toBe(51); // interior pixel (1,1)
    expect(rgba[(1 * 4 + 1) * 4]).toBe(10);
  });

  it('widens the outline to the requested number of pixels', () => {
    const mask = decodeRle({ size: [7, 7], counts: [0, 49] });
    const rgba = paintMask(mask, [1, 2, 3], { fillAlpha: 0, outlineAlpha: 1, outlineWidth: 2 });
    const alpha = (x: number, y: number) => rgba[(y * 7 + x) * 4 + 3];
    expect([alpha(0, 3), alpha(1, 3), alpha(2, 3), alpha(3, 3)]).toEqual([255, 255, 0, 0]);
  });

  it('paints a dark halo just outside a mask and leaves painted pixels alone', () => {
    // 5×5, centre pixel (2,2) set (column-major index 12)
    const mask = decodeRle({ size: [5, 5], counts: [12, 1, 12] });
    const rgba = new Uint8ClampedArray(5 * 5 * 4);
    rgba[(2 * 5 + 1) * 4 + 3] = 99; // (1,2) already painted
    paintHalo(mask, 0.8, rgba);
    const alpha = (x: number, y: number) => rgba[(y * 5 + x) * 4 + 3];
    expect([alpha(2, 1), alpha(3, 2), alpha(2, 3)]).toEqual([204, 204, 204]);
    expect(alpha(1, 2)).toBe(99);
    expect(alpha(2, 2)).toBe(0); // the mask itself
    expect(alpha(0, 0)).toBe(0); // far away
  });

  it('puts a label on the centroid, or on the nearest mask pixel when the centroid is outside', () => {
    const square = decodeRle({ size: [5, 5], counts: [6, 3, 2, 3, 2, 3, 6] });
    expect(labelPoint(square)).toEqual({ x: 2, y: 2 });
    // a ring: every pixel of a 5×5 border; its centroid (2,2) is background
    const ring = new Uint8Array(25).fill(1);
    ring.fill(0, 6, 9);
    ring.fill(0, 11, 14);
    ring.fill(0, 16, 19);
    const point = labelPoint({ width: 5, height: 5, data: ring });
    expect(point && ring[point.y * 5 + point.x]).toBe(1);
    expect(labelPoint({ width: 2, height: 2, data: new Uint8Array(4) })).toBeNull();
  });
});
