import { describe, expect, it } from 'vitest';
import type { RgbImage } from '../image/types.ts';
import { resizedSize, samEncoderInput, toModelFrame } from './preprocess.ts';

describe('resizedSize', () => {
  it('scales the longest side to 1024 with int(x·s + 0.5)', () => {
    expect(resizedSize({ width: 2250, height: 1500 })).toEqual({ width: 1024, height: 683 }); // 1500·0.4551 = 682.67
    expect(resizedSize({ width: 365, height: 473 })).toEqual({ width: 790, height: 1024 }); // 365·2.1649 = 790.2
    expect(resizedSize({ width: 1024, height: 1024 })).toEqual({ width: 1024, height: 1024 });
  });
});

describe('toModelFrame', () => {
  it('maps x by newW/W and y by newH/H', () => {
    const out = toModelFrame([100, 50, 2250, 1500], { width: 2250, height: 1500 });
    expect(out[0]).toBeCloseTo((100 * 1024) / 2250, 4);
    expect(out[1]).toBeCloseTo((50 * 683) / 1500, 4);
    expect(out[2]).toBeCloseTo(1024, 4);
    expect(out[3]).toBeCloseTo(683, 4);
  });
});

describe('samEncoderInput', () => {
  it('normalizes with SAM mean/std and zero-pads bottom/right', () => {
    const image: RgbImage = { width: 2, height: 1, data: new Uint8Array([124, 116, 104, 255, 255, 255]) };
    const input = samEncoderInput(image, {
      longestSide: 4,
      mean: [123.675, 116.28, 103.53],
      std: [58.395, 57.12, 57.375],
    });
    expect(input.length).toBe(3 * 16);
    // Resized 2×1 → 4×2; the first pixel stays (124 − 123.675)/58.395.
    expect(input[0]).toBeCloseTo((124 - 123.675) / 58.395, 5);
    // Rows 2 and 3 are padding: exactly 0 in every channel.
    for (let c = 0; c < 3; c++) for (let i = 8; i < 16; i++) expect(input[c * 16 + i]).toBe(0);
    expect(input[3]).toBeCloseTo((255 - 123.675) / 58.395, 5);
  });
});
