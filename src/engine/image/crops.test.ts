import { describe, expect, it } from 'vitest';
import { boxWindow, buildCrops, normalizedFill, normalizeImage, OPENAI_MEAN, OPENAI_STD } from './crops.ts';
import type { BinaryMask, RgbImage } from './types.ts';

function solidImage(width: number, height: number, value: number): RgbImage {
  return { width, height, data: new Uint8Array(width * height * 3).fill(value) };
}

function maskOf(width: number, height: number, pixels: Array<[number, number]>): BinaryMask {
  const data = new Uint8Array(width * height);
  for (const [x, y] of pixels) data[y * width + x] = 1;
  return { width, height, data };
}

/** Value of channel c at (x, y) of crop i in a batch [n,3,s,s]. */
function at(data: Float32Array, size: number, i: number, c: number, x: number, y: number): number {
  return data[((i * 3 + c) * size + y) * size + x];
}

const WHITE = [0, 1, 2].map((c) => (1 - OPENAI_MEAN[c]) / OPENAI_STD[c]);

describe('normalizedFill', () => {
  it('is the mean vector in normalized space for the reference fill', () => {
    expect(normalizedFill('reference')).toEqual([0.48145466, 0.4578275, 0.40821073]);
  });

  it('corresponds to the pixel colour mean + mean·std ≈ (0.611, 0.578, 0.521)', () => {
    const pixel = [0, 1, 2].map((c) => OPENAI_MEAN[c] + OPENAI_MEAN[c] * OPENAI_STD[c]);
    expect(pixel[0]).toBeCloseTo(0.6108, 3);
    expect(pixel[1]).toBeCloseTo(0.5775, 3);
    expect(pixel[2]).toBeCloseTo(0.5208, 3);
    const fill = normalizedFill([pixel[0], pixel[1], pixel[2]]);
    fill.forEach((v, c) => expect(v).toBeCloseTo(OPENAI_MEAN[c], 6));
  });

  it('maps a grey pixel colour through (c − mean)/std', () => {
    expect(normalizedFill([0.5, 0.5, 0.5])[0]).toBeCloseTo((0.5 - 0.48145466) / 0.26862954, 6);
  });

  it('rejects a fill that is not an RGB triple', () => {
    expect(() => normalizedFill([1, 2] as unknown as [number, number, number])).toThrow(
      "fill must be 'reference' or an RGB triple",
    );
  });
});

describe('normalizeImage', () => {
  it('writes (x/255 − mean)/std planar', () => {
    const image: RgbImage = { width: 1, height: 2, data: new Uint8Array([0, 255, 51, 255, 0, 0]) };
    const out = normalizeImage(image);
    expect(out[0]).toBeCloseTo(-0.48145466 / 0.26862954, 5); // R of pixel 0
    expect(out[1]).toBeCloseTo(WHITE[0], 5); // R of pixel 1
    expect(out[2]).toBeCloseTo(WHITE[1], 5); // G of pixel 0
    expect(out[4]).toBeCloseTo((0.2 - 0.40821073) / 0.27577711, 5); // B of pixel 0
  });
});

describe('boxWindow', () => {
  it('uses x1 − x0 as the crop size for the plain box, like the reference', () => {
    const window = boxWindow({ x0: 1, y0: 1, x1: 3, y1: 2 }, 1, { width: 6, height: 4 });
    expect(window).toEqual({ x: 1, y: 1, width: 2, height: 1, side: 2, padLeft: 0, padTop: 0 });
  });

  it('grows the box about its centre by the margin and truncates corners', () => {
    // Box 10..19 × 0..9 (9×9) at 1.2: ±0.9 → x 9.1..19.9, y 0 (clamped)..9.9 → window 9,0 10×9 in a 10 square.
    const window = boxWindow({ x0: 10, y0: 0, x1: 19, y1: 9 }, 1.2, { width: 20, height: 10 });
    expect(window).toEqual({ x: 9, y: 0, width: 10, height: 9, side: 10, padLeft: 0, padTop: 0 });
  });

  it('clamps the grown box at the image borders', () => {
    // Box x 2..19 (17 wide) at 1.2 → ±1.7 → 0.3..20.7 clamped to 0.3..20 → x 0, width int(19.7) = 19.
    const window = boxWindow({ x0: 2, y0: 4, x1: 19, y1: 6 }, 1.2, { width: 20, height: 10 });
    expect(window.x).toBe(0);
    expect(window.width).toBe(19);
    // y: 2 tall → ±0.2 → 3.8..6.2 → y 3, height int(2.4) = 2; side int(19.7) = 19, padTop (19 − 2)//2 = 8.
    expect(window.y).toBe(3);
    expect(window.height).toBe(2);
    expect(window.side).toBe(19);
    expect(window.padTop).toBe(8);
  });

  it('can use the inclusive box size instead', () => {
    const window = boxWindow({ x0: 1, y0: 1, x1: 3, y1: 2 }, 1, { width: 6, height: 4 }, true);
    expect(window).toMatchObject({ width: 3, height: 2, side: 3, padLeft: 0, padTop: 0 });
  });
});

describe('buildCrops', () => {
  it('fills pixels outside the mask and the padding with the reference fill in the masked crop', () => {
    const image = solidImage(6, 4, 255);
    // Box x 1..3, y 1..2 → window x 1, y 1, 2×1, square side 2 (pad bottom 1 row). (2,1) is outside the mask.
    const mask = maskOf(6, 4, [
      [1, 1],
      [3, 1],
      [1, 2],
      [3, 2],
    ]);
    const [masked] = buildCrops(image, [mask], { size: 2 });
    expect(masked.kind).toBe('masked');
    expect(masked.dims).toEqual([1, 3, 2, 2]);
    for (let c = 0; c < 3; c++) {
      expect(at(masked.data, 2, 0, c, 0, 0)).toBeCloseTo(WHITE[c], 5); // (1,1): inside
      expect(at(masked.data, 2, 0, c, 1, 0)).toBeCloseTo(OPENAI_MEAN[c], 6); // (2,1): outside the mask → fill
      expect(at(masked.data, 2, 0, c, 0, 1)).toBeCloseTo(OPENAI_MEAN[c], 6); // padding row
      expect(at(masked.data, 2, 0, c, 1, 1)).toBeCloseTo(OPENAI_MEAN[c], 6);
    }
  });

  it('keeps every pixel of the box in the box crops', () => {
    const image = solidImage(6, 4, 255);
    const mask = maskOf(6, 4, [
      [1, 1],
      [3, 1],
      [1, 2],
      [3, 2],
    ]);
    const batches = buildCrops(image, [mask], { size: 2 });
    expect(batches.map((b) => [b.kind, b.margin])).toEqual([
      ['masked', 1],
      ['box', 1],
      ['box', 1.1],
      ['box', 1.2],
    ]);
    const box = batches[1];
    expect(at(box.data, 2, 0, 0, 1, 0)).toBeCloseTo(WHITE[0], 5); // (2,1) is image, not fill
    expect(at(box.data, 2, 0, 0, 0, 1)).toBeCloseTo(OPENAI_MEAN[0], 6); // still padding below
  });

  it('centres a tall crop with pad_left = (side − width) // 2', () => {
    // Image columns coloured by x so the pixels can be told apart; box x 2..4 (width 2), y 0..5 (height 5).
    const width = 8;
    const height = 6;
    const data = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) data.fill(x * 30, (y * width + x) * 3, (y * width + x) * 3 + 3);
    const image: RgbImage = { width, height, data };
    const pixels: Array<[number, number]> = [];
    for (let y = 0; y < 6; y++) for (let x = 2; x <= 4; x++) pixels.push([x, y]);
    const [, box] = buildCrops(image, [maskOf(width, height, pixels)], { size: 5 });
    expect(box.windows[0]).toEqual({ x: 2, y: 0, width: 2, height: 5, side: 5, padLeft: 1, padTop: 0 });
    const expectRow = [
      OPENAI_MEAN[0],
      (60 / 255 - OPENAI_MEAN[0]) / OPENAI_STD[0],
      (90 / 255 - OPENAI_MEAN[0]) / OPENAI_STD[0],
      OPENAI_MEAN[0],
      OPENAI_MEAN[0],
    ];
    expectRow.forEach((v, x) => expect(at(box.data, 5, 0, 0, x, 3)).toBeCloseTo(v, 5));
  });

  it('resizes to 224 and keeps a uniform region uniform', () => {
    const image = solidImage(64, 48, 51);
    const pixels: Array<[number, number]> = [];
    for (let y = 10; y < 30; y++) for (let x = 5; x < 45; x++) pixels.push([x, y]);
    const batches = buildCrops(image, [
      maskOf(64, 48, pixels),
      maskOf(64, 48, [
        [0, 0],
        [63, 47],
      ]),
    ]);
    expect(batches).toHaveLength(4);
    for (const batch of batches) {
      expect(batch.dims).toEqual([2, 3, 224, 224]);
      expect(batch.data.length).toBe(2 * 3 * 224 * 224);
    }
    // Box crop 1.0 of mask 0: 39×19 window in a 39 square, padTop 10; the centre row is image.
    const v = (0.2 - OPENAI_MEAN[0]) / OPENAI_STD[0];
    expect(at(batches[1].data, 224, 0, 0, 112, 112)).toBeCloseTo(v, 5);
    expect(at(batches[1].data, 224, 0, 0, 112, 0)).toBeCloseTo(OPENAI_MEAN[0], 5);
    // Mask 1 spans the whole image: its box crop at 1.2 is clamped to the image and centred.
    expect(batches[3].windows[1]).toEqual({
      x: 0,
      y: 0,
      width: 64,
      height: 48,
      side: 64,
      padLeft: 0,
      padTop: 8,
    });
  });

  it('uses a configurable pixel fill and margins', () => {
    const image = solidImage(4, 4, 0);
    const batches = buildCrops(
      image,
      [
        maskOf(4, 4, [
          [0, 0],
          [2, 0],
        ]),
      ],
      { size: 2, fill: [1, 1, 1], margins: [1.5] },
    );
    expect(batches).toHaveLength(2);
    expect(batches[1].margin).toBe(1.5);
    expect(at(batches[0].data, 2, 0, 0, 1, 0)).toBeCloseTo(WHITE[0], 5); // (1,0) is outside the mask → white fill
  });

  it('rejects an empty mask, a mask of another size and a margin below 1', () => {
    const image = solidImage(4, 4, 0);
    expect(() => buildCrops(image, [maskOf(4, 4, [])])).toThrow('mask 0 is empty: it has no box to crop');
    expect(() => buildCrops(image, [maskOf(3, 4, [[0, 0]])])).toThrow('mask 0 is 3×4, the image is 4×4');
    expect(() => buildCrops(image, [maskOf(4, 4, [[0, 0]])], { margins: [0.9] })).toThrow(
      'crop margins must be finite numbers ≥ 1, got 0.9',
    );
  });
});

describe('buildCrops with crop types', () => {
  it('builds the batches of the given crop types in order', () => {
    const image = solidImage(4, 4, 0);
    const batches = buildCrops(
      image,
      [
        maskOf(4, 4, [
          [0, 0],
          [2, 2],
        ]),
      ],
      {
        size: 2,
        crops: [{ kind: 'box', margin: 1.2 }, { kind: 'masked' }],
      },
    );
    expect(batches.map((b) => b.crop)).toEqual([{ kind: 'box', margin: 1.2 }, { kind: 'masked' }]);
    expect(batches[1].margin).toBe(1);
  });
});
