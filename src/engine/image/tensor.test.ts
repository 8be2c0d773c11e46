import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  OPENAI_MEAN,
  OPENAI_STD,
  SAM_MEAN,
  SAM_STD,
  openAiNormalizedChw,
  resizeBilinear,
  samEncoderInput,
  samResizedSize,
} from './tensor.ts';
import type { RgbImage } from './types.ts';

/** The pattern the Pillow fixtures below were computed on: channel c of (x, y) = (7x + 13y + 50c + xy mod 17) mod 256. */
function pattern(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      for (let c = 0; c < 3; c += 1)
        data[(y * width + x) * 3 + c] = (x * 7 + y * 13 + c * 50 + ((x * y) % 17)) % 256;
    }
  }
  return { width, height, data };
}

function pixel(image: RgbImage, x: number, y: number): number[] {
  const at = (y * image.width + x) * 3;
  return Array.from(image.data.subarray(at, at + 3));
}

describe('samResizedSize', () => {
  it('scales the longest side to 1024 and rounds the other with int(x + 0.5)', () => {
    expect(samResizedSize({ width: 37, height: 23 })).toEqual({ width: 1024, height: 637 }); // 636.54 → 637
    expect(samResizedSize({ width: 1500, height: 2001 })).toEqual({ width: 768, height: 1024 }); // 767.62 → 768
    expect(samResizedSize({ width: 640, height: 480 })).toEqual({ width: 1024, height: 768 });
    expect(samResizedSize({ width: 3000, height: 1 })).toEqual({ width: 1024, height: 1 }); // 0.34 → 0, kept at 1
  });

  it('refuses sizes that are not positive integers', () => {
    expect(() => samResizedSize({ width: 0, height: 5 })).toThrow(
      'size must have positive integer width and height, got 0×5',
    );
  });
});

describe('resizeBilinear matches Pillow’s Image.resize(BILINEAR) bit for bit', () => {
  // Fixtures: Pillow 9.4 (Debian bookworm) on the same pattern: sum of all bytes, three pixels, sha256 prefix.
  const cases = [
    {
      from: [37, 23],
      to: [1024, 637],
      sum: 249974462,
      first: [0, 50, 100],
      middle: [237, 31, 81],
      last: [36, 86, 136],
      sha: '392231acc07614ef',
    },
    {
      from: [2000, 1500],
      to: [1024, 768],
      sum: 300805941,
      first: [14, 64, 114],
      middle: [94, 144, 194],
      last: [194, 194, 38],
      sha: 'c5f889e7c3c72875',
    },
    {
      from: [1500, 2001],
      to: [768, 1024],
      sum: 300811201,
      first: [14, 64, 114],
      middle: [139, 189, 194],
      last: [137, 187, 187],
      sha: '0caf55fe3fde7efe',
    },
  ];
  for (const c of cases) {
    it(`on ${c.from[0]}×${c.from[1]} → ${c.to[0]}×${c.to[1]}`, () => {
      const out = resizeBilinear(pattern(c.from[0], c.from[1]), { width: c.to[0], height: c.to[1] });
      expect([out.width, out.height]).toEqual(c.to);
      expect(out.data.reduce((a, b) => a + b, 0)).toBe(c.sum);
      expect(pixel(out, 0, 0)).toEqual(c.first);
      expect(pixel(out, Math.floor(c.to[0] / 3), Math.floor(c.to[1] / 2))).toEqual(c.middle);
      expect(pixel(out, c.to[0] - 1, c.to[1] - 1)).toEqual(c.last);
      expect(createHash('sha256').update(out.data).digest('hex').slice(0, 16)).toBe(c.sha);
    });
  }

  it('keeps a flat colour flat', () => {
    const flat = { width: 5, height: 3, data: new Uint8Array(45).fill(77) };
    expect(resizeBilinear(flat, { width: 11, height: 2 }).data.every((v) => v === 77)).toBe(true);
  });
});

describe('samEncoderInput', () => {
  it('normalizes with SAM mean/std and zero-pads bottom/right to [1,3,1024,1024]', () => {
    const image = { width: 4, height: 2, data: new Uint8Array(24).fill(200) };
    const input = samEncoderInput(image);
    expect(input.dims).toEqual([1, 3, 1024, 1024]);
    expect(input.data.length).toBe(3 * 1024 * 1024);
    expect(input.original).toEqual({ width: 4, height: 2 });
    expect(input.resized).toEqual({ width: 1024, height: 512 });
    const plane = 1024 * 1024;
    for (let c = 0; c < 3; c += 1) {
      expect(input.data[c * plane]).toBeCloseTo((200 - SAM_MEAN[c]) / SAM_STD[c], 5);
      expect(input.data[c * plane + 511 * 1024 + 1023]).toBeCloseTo((200 - SAM_MEAN[c]) / SAM_STD[c], 5);
      expect(input.data[c * plane + 512 * 1024]).toBe(0); // first padded row
    }
  });

  it('takes another side length and constants from the pack', () => {
    const image = {
      width: 2,
      height: 2,
      data: new Uint8Array([0, 0, 0, 255, 255, 255, 0, 0, 0, 255, 255, 255]),
    };
    const input = samEncoderInput(image, { longestSide: 2, mean: [0, 0, 0], std: [255, 255, 255] });
    expect(input.dims).toEqual([1, 3, 2, 2]);
    expect(Array.from(input.data.subarray(0, 4))).toEqual([0, 1, 0, 1]);
  });

  it('refuses an image whose data does not match its size', () => {
    expect(() => samEncoderInput({ width: 2, height: 2, data: new Uint8Array(5) })).toThrow(
      'image data has 5 bytes; 2×2 RGB needs 12',
    );
  });
});

describe('openAiNormalizedChw', () => {
  it('computes (x/255 − mean)/std per channel in planar order', () => {
    const image = { width: 2, height: 1, data: new Uint8Array([255, 0, 128, 0, 255, 64]) };
    const tensor = openAiNormalizedChw(image);
    expect(tensor.dims).toEqual([3, 1, 2]);
    const expected = [
      (1 - OPENAI_MEAN[0]) / OPENAI_STD[0],
      (0 - OPENAI_MEAN[0]) / OPENAI_STD[0],
      (0 - OPENAI_MEAN[1]) / OPENAI_STD[1],
      (1 - OPENAI_MEAN[1]) / OPENAI_STD[1],
      (128 / 255 - OPENAI_MEAN[2]) / OPENAI_STD[2],
      (64 / 255 - OPENAI_MEAN[2]) / OPENAI_STD[2],
    ];
    Array.from(tensor.data).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
    expect(tensor.data[0]).toBeCloseTo(1.9303, 4);
  });
});
