import { describe, expect, it } from 'vitest';
import { decodeRle, paintMask, rleRuns } from './rle.ts';

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
});
