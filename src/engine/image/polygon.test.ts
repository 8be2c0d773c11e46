import { describe, expect, it } from 'vitest';
import { maskIou } from './mask.ts';
import { maskToPolygons, polygonsBbox, polygonsToMask } from './polygon.ts';
import type { BinaryMask } from './types.ts';

function draw(...rows: string[]): BinaryMask {
  const width = rows[0].length;
  const data = new Uint8Array(width * rows.length);
  rows.forEach((row, y) => [...row].forEach((c, x) => (data[y * width + x] = c === '#' ? 1 : 0)));
  return { width, height: rows.length, data };
}

function disc(width: number, height: number, cx: number, cy: number, r: number): BinaryMask {
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      data[y * width + x] = (x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= r * r ? 1 : 0;
  return { width, height, data };
}

describe('polygonsToMask', () => {
  it('covers exactly the pixels of a corner-coordinate square (pycocotools rleFrPoly example)', () => {
    const mask = polygonsToMask([[2, 1, 5, 1, 5, 3, 2, 3]], { width: 7, height: 5 });
    const set: Array<[number, number]> = [];
    for (let y = 0; y < 5; y++) for (let x = 0; x < 7; x++) if (mask.data[y * 7 + x]) set.push([x, y]);
    expect(set).toEqual([
      [2, 1],
      [3, 1],
      [4, 1],
      [2, 2],
      [3, 2],
      [4, 2],
    ]);
  });

  it('rejects a polygon with fewer than 3 points', () => {
    expect(() => polygonsToMask([[1, 1, 4, 4]], { width: 5, height: 5 })).toThrow(
      'polygon 0 must list at least 3 points',
    );
  });
});

describe('maskToPolygons', () => {
  it('traces a rectangle as its 4 corners', () => {
    const result = maskToPolygons(draw('.....', '.###.', '.###.', '.....'));
    expect(result).toEqual({ polygons: [[1, 1, 4, 1, 4, 3, 1, 3]], exact: true });
    expect(polygonsBbox(result.polygons)).toEqual([1, 1, 3, 2]);
  });

  it('gives one polygon per part and splits diagonal neighbours', () => {
    const mask = draw('##...', '##...', '..#..', '....#');
    const result = maskToPolygons(mask);
    expect(result.polygons).toHaveLength(3);
    expect(result.exact).toBe(true);
  });

  it('re-rasterizes concave shapes exactly', () => {
    const mask = draw('#####', '#...#', '#...#', '##.##', '.....');
    const result = maskToPolygons(mask);
    expect(result.exact).toBe(true);
    expect(Array.from(polygonsToMask(result.polygons, mask).data)).toEqual(Array.from(mask.data));
  });

  it('says a mask with a hole needs RLE', () => {
    const result = maskToPolygons(draw('#####', '#...#', '#...#', '#####'));
    expect(result.exact).toBe(false);
    expect(result.reason).toBe(
      'the mask has 1 hole(s); COCO polygons cannot carve holes (parts are unioned): use RLE for this mask',
    );
  });

  it('returns no polygon for an empty mask', () => {
    expect(maskToPolygons(draw('...', '...'))).toEqual({ polygons: [], exact: true });
  });

  it('re-rasterizes convex shapes (discs) to IoU ≥ 0.98', () => {
    for (const [cx, cy, r] of [
      [20, 20, 15],
      [33.3, 17.8, 9.2],
      [5, 30, 12],
    ]) {
      const mask = disc(48, 40, cx, cy, r);
      const { polygons, exact } = maskToPolygons(mask);
      const iou = maskIou(mask, polygonsToMask(polygons, mask));
      expect(iou).toBeGreaterThanOrEqual(0.98);
      expect(exact).toBe(true);
    }
  });
});
