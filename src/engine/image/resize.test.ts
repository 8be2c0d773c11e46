import { describe, expect, it } from 'vitest';
import { resizeBilinearChw, resizeMaskNearest } from './resize.ts';

describe('resizeBilinearChw', () => {
  it('upsamples 2×2 to 4×4 as torch bilinear with align_corners=False', () => {
    const out = resizeBilinearChw(
      new Float32Array([0, 1, 2, 3]),
      1,
      { width: 2, height: 2 },
      { width: 4, height: 4 },
    );
    // Hand-checked: source x of output i is (i + 0.5)/2 − 0.5 → −0.25 (clamped 0), 0.25, 0.75, 1.25 (right clamped).
    const expected = [0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3];
    expected.forEach((v, i) => expect(out[i]).toBeCloseTo(v, 6));
  });

  it('downsamples by sampling between neighbours without antialiasing', () => {
    const out = resizeBilinearChw(
      new Float32Array([0, 10, 20, 30]),
      1,
      { width: 4, height: 1 },
      { width: 2, height: 1 },
    );
    // Source x = 0.5 and 2.5: the mean of each neighbouring pair.
    expect(Array.from(out)).toEqual([5, 25]);
  });

  it('resizes every channel plane independently', () => {
    const src = new Float32Array([1, 1, 1, 1, 7, 7, 7, 7]);
    const out = resizeBilinearChw(src, 2, { width: 2, height: 2 }, { width: 3, height: 3 });
    expect(out.length).toBe(18);
    expect(Array.from(out.subarray(0, 9)).every((v) => v === 1)).toBe(true);
    expect(Array.from(out.subarray(9)).every((v) => Math.abs(v - 7) < 1e-6)).toBe(true);
  });

  it('rejects a source whose length does not match its size', () => {
    expect(() =>
      resizeBilinearChw(new Float32Array(5), 1, { width: 2, height: 2 }, { width: 4, height: 4 }),
    ).toThrow('src has 5 values, expected channels·height·width = 1·2·2 = 4');
  });
});

describe('resizeMaskNearest', () => {
  it('doubles a mask by repeating pixels', () => {
    const out = resizeMaskNearest(
      { width: 2, height: 1, data: new Uint8Array([1, 0]) },
      { width: 4, height: 2 },
    );
    expect(Array.from(out.data)).toEqual([1, 1, 0, 0, 1, 1, 0, 0]);
  });
});
