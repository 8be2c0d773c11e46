import { describe, expect, it } from 'vitest';
import { occludedCrops, occlusionGrid } from './occlusion.ts';

describe('occlusionGrid', () => {
  it('tiles a 224 crop with 8×8 patches of 28 pixels, row-major', () => {
    const boxes = occlusionGrid(224, 8);
    expect(boxes).toHaveLength(64);
    expect(boxes[0]).toEqual({ x: 0, y: 0, width: 28, height: 28 });
    expect(boxes[1]).toEqual({ x: 28, y: 0, width: 28, height: 28 });
    expect(boxes[8]).toEqual({ x: 0, y: 28, width: 28, height: 28 });
    expect(boxes[63]).toEqual({ x: 196, y: 196, width: 28, height: 28 });
  });

  it('covers every pixel exactly once when the grid does not divide the side', () => {
    // edges round(i·10/3) = 0, 3, 7, 10: widths 3, 4, 3
    const boxes = occlusionGrid(10, 3);
    expect(boxes.slice(0, 3).map((b) => [b.x, b.width])).toEqual([
      [0, 3],
      [3, 4],
      [7, 3],
    ]);
    const covered = new Uint8Array(100);
    for (const b of boxes)
      for (let y = b.y; y < b.y + b.height; y++)
        for (let x = b.x; x < b.x + b.width; x++) covered[y * 10 + x]!++;
    expect([...covered].every((c) => c === 1)).toBe(true);
  });

  it('names the argument and its range when the grid cannot be built', () => {
    expect(() => occlusionGrid(4, 5)).toThrow('grid must be an integer in 1..4 (the crop side), got 5');
    expect(() => occlusionGrid(4, 1.5)).toThrow('grid must be an integer in 1..4');
    expect(() => occlusionGrid(0, 1)).toThrow('size must be an integer ≥ 1, got 0');
  });
});

describe('occludedCrops', () => {
  it('paints each patch with the normalised mean (0) in every channel and leaves the rest of the crop', () => {
    const size = 4;
    const crop = Float32Array.from({ length: 3 * 16 }, (_, i) => i + 1);
    const out = occludedCrops(crop, size, [{ x: 1, y: 2, width: 2, height: 1 }]);
    expect(out).toHaveLength(48);
    const zeros = [...out.keys()].filter((i) => out[i] === 0);
    // pixels (1,2) and (2,2) = offsets 9 and 10 of each 16-value plane
    expect(zeros).toEqual([9, 10, 25, 26, 41, 42]);
    expect(out[0]).toBe(1);
    expect(out[47]).toBe(48);
  });

  it('stacks one copy per patch, each with only its own patch grey', () => {
    const crop = new Float32Array(3 * 4).fill(1);
    const out = occludedCrops(crop, 2, occlusionGrid(2, 2), [0.5, -1, 2]);
    expect(out).toHaveLength(4 * 12);
    // copy 3 (bottom-right patch): pixel 3 of each plane is grey, the rest intact
    expect([...out.subarray(36, 48)]).toEqual([1, 1, 1, 0.5, 1, 1, 1, -1, 1, 1, 1, 2]);
    expect(out.subarray(0, 12)[0]).toBe(0.5);
  });

  it('refuses a patch outside the crop', () => {
    expect(() => occludedCrops(new Float32Array(12), 2, [{ x: 1, y: 0, width: 2, height: 1 }])).toThrow(
      'ends outside the 2×2 crop',
    );
    expect(() => occludedCrops(new Float32Array(5), 2, [])).toThrow('expected 3×2×2 = 12');
  });
});
