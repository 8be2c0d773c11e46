import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  decodeRle,
  encodeRle,
  maskToRuns,
  rleArea,
  rleToBbox,
  runsToMask,
  runsToString,
  stringToRuns,
} from './rle.ts';
import type { BinaryMask } from './types.ts';

interface GoldenCase {
  name: string;
  height: number;
  width: number;
  columnMajorRuns: number[];
  counts: string;
  area: number;
  bboxXYWH: number[];
  rowMajorBits?: string;
}

// Vectors produced by pycocotools.mask.encode / area / toBbox (copied from shared/testdata/coco-rle-golden.json).
const golden = JSON.parse(
  readFileSync(new URL('./fixtures/coco-rle-golden.json', import.meta.url), 'utf8'),
) as {
  cases: GoldenCase[];
};

function seededMask(seed: number, width: number, height: number, density: number): BinaryMask {
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const data = new Uint8Array(width * height);
  // Blobs of runs rather than salt and pepper, so long runs and long deltas both occur.
  let value = 0;
  for (let i = 0; i < data.length; i++) {
    if (next() < density) value = 1 - value;
    data[i] = value;
  }
  return { width, height, data };
}

describe('COCO RLE', () => {
  it.each(golden.cases.map((c) => [c.name, c] as const))('matches pycocotools for "%s"', (_name, c) => {
    const size = { width: c.width, height: c.height };
    const mask = c.rowMajorBits
      ? { ...size, data: Uint8Array.from(c.rowMajorBits, (bit) => Number(bit)) }
      : runsToMask(c.columnMajorRuns, size);
    expect(maskToRuns(mask)).toEqual(c.columnMajorRuns);
    expect(encodeRle(mask)).toEqual({ size: [c.height, c.width], counts: c.counts });
    expect(stringToRuns(c.counts)).toEqual(c.columnMajorRuns);
    expect(rleArea({ counts: c.counts })).toBe(c.area);
    expect(rleToBbox({ size: [c.height, c.width], counts: c.counts })).toEqual(c.bboxXYWH);
    expect(
      Buffer.from(decodeRle({ size: [c.height, c.width], counts: c.counts }).data).equals(
        Buffer.from(mask.data),
      ),
    ).toBe(true);
  });

  it('round-trips random masks of many sizes and densities', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const width = 1 + ((seed * 37) % 211);
      const height = 1 + ((seed * 53) % 157);
      const mask = seededMask(seed, width, height, [0.5, 0.05, 0.001][seed % 3]);
      const rle = encodeRle(mask);
      expect(Buffer.from(decodeRle(rle).data).equals(Buffer.from(mask.data))).toBe(true);
      expect(rleArea(rle)).toBe(mask.data.reduce((a, b) => a + b, 0));
    }
  });

  it('codes negative deltas from two runs back', () => {
    // runs 0,100,5,3: the fourth run is coded as 3 - 100 = -97
    expect(stringToRuns(runsToString([0, 100, 5, 3]))).toEqual([0, 100, 5, 3]);
  });

  it('reports a bbox spanning the full height when a run wraps into the next column', () => {
    // 3×2 (h×w): ones at column-major positions 2..3 → (x0,y2) and (x1,y0)
    expect(rleToBbox({ size: [3, 2], counts: [2, 2, 2] })).toEqual([0, 0, 2, 3]);
  });

  it('refuses a malformed string and runs that do not fill the mask', () => {
    expect(() => stringToRuns('0\u0007')).toThrow('invalid character');
    expect(() => decodeRle({ size: [2, 2], counts: [1, 1] })).toThrow(
      'RLE runs cover 2 pixels, the mask has 4',
    );
    expect(() => maskToRuns({ width: 2, height: 2, data: new Uint8Array(3) })).toThrow(
      'mask data has 3 bytes',
    );
  });
});
