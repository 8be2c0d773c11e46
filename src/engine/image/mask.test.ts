import { describe, expect, it } from 'vitest';
import {
  binarize,
  bordersTouched,
  boxToXywh,
  connectedComponents,
  encodeMaskPng,
  maskArea,
  maskBox,
  maskIou,
  readMaskPng,
  removeSmallRegions,
} from './mask.ts';
import { decodeRle, encodeRle, rleArea, rleToBbox } from './rle.ts';
import type { BinaryMask } from './types.ts';

/** Builds a mask from rows of '#' (inside) and '.' (outside). */
function draw(...rows: string[]): BinaryMask {
  const width = rows[0].length;
  const data = new Uint8Array(width * rows.length);
  rows.forEach((row, y) => [...row].forEach((c, x) => (data[y * width + x] = c === '#' ? 1 : 0)));
  return { width, height: rows.length, data };
}

function rows(mask: BinaryMask): string[] {
  const out: string[] = [];
  for (let y = 0; y < mask.height; y++) {
    let line = '';
    for (let x = 0; x < mask.width; x++) line += mask.data[y * mask.width + x] ? '#' : '.';
    out.push(line);
  }
  return out;
}

function randomMask(seed: number, width: number, height: number): BinaryMask {
  let state = seed >>> 0;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const data = new Uint8Array(width * height);
  // A few random rectangles and some salt, so runs of every length occur.
  for (let r = 0; r < 4; r++) {
    const x0 = Math.floor(next() * width);
    const y0 = Math.floor(next() * height);
    const x1 = Math.min(width, x0 + Math.floor(next() * width));
    const y1 = Math.min(height, y0 + Math.floor(next() * height));
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) data[y * width + x] = 1;
  }
  for (let i = 0; i < data.length / 20; i++) data[Math.floor(next() * data.length)] ^= 1;
  return { width, height, data };
}

describe('maskArea, maskBox and boxToXywh', () => {
  it('measures a block as SAM batched_mask_to_box does (last set index inclusive)', () => {
    const mask = draw('.....', '.##..', '.###.', '.....');
    expect(maskArea(mask)).toBe(5);
    expect(maskBox(mask)).toEqual({ x0: 1, y0: 1, x1: 3, y1: 2 });
    expect(boxToXywh(maskBox(mask))).toEqual([1, 1, 3, 2]);
  });

  it('has no box for an empty mask', () => {
    expect(maskBox(draw('...', '...'))).toBeNull();
    expect(boxToXywh(null)).toEqual([0, 0, 0, 0]);
  });
});

describe('maskIou', () => {
  it('divides intersection by union', () => {
    expect(maskIou(draw('##..'), draw('.##.'))).toBeCloseTo(1 / 3, 6);
    expect(maskIou(draw('....'), draw('....'))).toBe(0);
  });

  it('rejects masks of different sizes', () => {
    expect(() => maskIou(draw('##'), draw('###'))).toThrow('maskIou: masks differ in size (2×1 vs 3×1)');
  });
});

describe('bordersTouched and binarize', () => {
  it('counts the image borders a mask reaches', () => {
    expect(bordersTouched(draw('##.', '#..', '...')).count).toBe(2);
    expect(bordersTouched(draw('###', '###', '###')).count).toBe(4);
    expect(bordersTouched(draw('...', '.#.', '...')).count).toBe(0);
  });

  it('thresholds logits strictly above the threshold', () => {
    const mask = binarize(new Float32Array([-1, 0, 0.001, 3]), { width: 2, height: 2 });
    expect(Array.from(mask.data)).toEqual([0, 0, 1, 1]);
  });
});

describe('connectedComponents', () => {
  it('joins diagonal neighbours with 8-connectivity and separates them with 4', () => {
    const mask = draw('#...', '.#..', '...#');
    expect(connectedComponents(mask, 1, 8).count).toBe(2);
    expect(connectedComponents(mask, 1, 4).count).toBe(3);
    const eight = connectedComponents(mask, 1, 8);
    expect(eight.areas.slice(1)).toEqual([2, 1]);
  });
});

describe('removeSmallRegions', () => {
  it('fills small holes and leaves large ones', () => {
    const mask = draw('#######', '#.##..#', '###..##', '#######');
    const { mask: out, changed } = removeSmallRegions(mask, 2, 'holes');
    expect(changed).toBe(true);
    // The 1-pixel hole at (1,1) is filled; the 4-pixel hole (8-connected) stays.
    expect(rows(out)).toEqual(['#######', '####..#', '###..##', '#######']);
  });

  it('removes small islands', () => {
    const { mask: out, changed } = removeSmallRegions(draw('##...', '##..#', '.....'), 2, 'islands');
    expect(changed).toBe(true);
    expect(rows(out)).toEqual(['##...', '##...', '.....']);
  });

  it('keeps the largest island when every island is small', () => {
    const { mask: out } = removeSmallRegions(draw('##..#', '.....'), 5, 'islands');
    expect(rows(out)).toEqual(['##...', '.....']);
  });

  it('reports no change when nothing is small', () => {
    const mask = draw('##', '##');
    expect(removeSmallRegions(mask, 2, 'islands')).toEqual({ mask, changed: false });
  });
});

describe('mask PNGs', () => {
  it('writes 0/255 greyscale and reads it back', async () => {
    const mask = draw('#..#', '.##.', '#..#');
    const png = await encodeMaskPng(mask);
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    const back = await readMaskPng(png);
    expect(back.width).toBe(4);
    expect(back.height).toBe(3);
    expect(Array.from(back.data)).toEqual(Array.from(mask.data));
  });
});

describe('RLE round trips through rle.ts', () => {
  it('gives back random masks, their area and their box', () => {
    for (let seed = 1; seed <= 25; seed++) {
      const mask = randomMask(seed, 17 + seed, 11 + 2 * seed);
      const rle = encodeRle(mask);
      expect(Array.from(decodeRle(rle).data)).toEqual(Array.from(mask.data));
      expect(rleArea(rle)).toBe(maskArea(mask));
      expect(rleToBbox(rle)).toEqual(boxToXywh(maskBox(mask)));
    }
  });
});
