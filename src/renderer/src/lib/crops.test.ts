import { describe, expect, it } from 'vitest';
import { cropWindow, maskBox } from './crops.ts';

describe('crop geometry of the thumbnails (the engine reference arithmetic)', () => {
  it('finds the inclusive box of a mask', () => {
    const data = new Uint8Array(5 * 4);
    data[1 * 5 + 2] = 1;
    data[2 * 5 + 3] = 1;
    expect(maskBox({ width: 5, height: 4, data })).toEqual({ x0: 2, y0: 1, x1: 3, y1: 2 });
    expect(maskBox({ width: 2, height: 2, data: new Uint8Array(4) })).toBeNull();
  });

  it('cuts the plain box with the reference width x1 − x0 and pads it to a centred square', () => {
    // box 10..30 × 20..25: 20 × 5, side 20, padTop (20 − 5) // 2 = 7
    expect(cropWindow({ x0: 10, y0: 20, x1: 30, y1: 25 }, 1, { width: 100, height: 100 })).toEqual({
      x: 10,
      y: 20,
      width: 20,
      height: 5,
      side: 20,
      padLeft: 0,
      padTop: 7,
    });
  });

  it('grows the box about its centre by the margin, clamps it to the image and truncates', () => {
    // margin 1.1 on a 20 × 10 box at (2, 40): mx = 1, my = 0.5 → left max(1, 0) = 1, top 39.5, w 22, h 11
    expect(cropWindow({ x0: 2, y0: 40, x1: 22, y1: 50 }, 1.1, { width: 100, height: 100 })).toEqual({
      x: 1,
      y: 39,
      width: 22,
      height: 11,
      side: 22,
      padLeft: 0,
      padTop: 5,
    });
    // margin 1.2 at the left edge: mx = 2 → left −2 clamped to 0, right 20 + 2 = 22 → w 22 (the clamp loses 2)
    const w = cropWindow({ x0: 0, y0: 0, x1: 20, y1: 20 }, 1.2, { width: 30, height: 30 });
    expect([w.x, w.width, w.side]).toEqual([0, 22, 22]);
  });
});
