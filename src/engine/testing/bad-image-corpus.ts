/**
 * A corpus of awkward and broken image files, generated on the spot (DESIGN.md §9 "bad input").
 *
 * Each case states what `loadImage` must do with it: refuse it with an `ImageInputError` code, or decode it to an
 * upright RGB image of known size (and, for some, known corner colours). The image tests use it; the pipeline tests
 * reuse it to check that a batch records each refusal and carries on.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import type { ImageInputErrorCode } from '../image/load.ts';

/** What loading a corpus file must give. */
export type BadImageExpectation =
  | { code: ImageInputErrorCode }
  | {
      width: number;
      height: number;
      /** Expected RGB at named pixels of the upright image, each channel within `tolerance`. */
      pixels?: { x: number; y: number; rgb: [number, number, number] }[];
      tolerance?: number;
    };

/** One file of the corpus. */
export interface BadImageCase {
  /** File name inside the corpus folder. */
  file: string;
  /** Absolute path once written. */
  path: string;
  description: string;
  expected: BadImageExpectation;
}

/** The declared size of the decompression-bomb PNG: 20,000² = 400 MP, over any sane limit and sharp's own. */
export const BOMB_SIZE = { width: 20_000, height: 20_000 };

/**
 * Writes the corpus into `dir` (created if needed) and returns its cases.
 *
 * Files: 0-byte, truncated JPEG, corrupt PNG, a tiny PNG declaring 20,000² pixels, CMYK JPEG, 16-bit PNG,
 * grey+alpha PNG, palette PNG, a JPEG with EXIF orientation 6, a text file named .jpg, and a plain PNG as control.
 */
export async function writeBadImageCorpus(dir: string): Promise<BadImageCase[]> {
  await mkdir(dir, { recursive: true });
  const cases: Omit<BadImageCase, 'path'>[] = [];
  const files = new Map<string, Uint8Array>();
  const add = (file: string, bytes: Uint8Array, description: string, expected: BadImageExpectation) => {
    files.set(file, bytes);
    cases.push({ file, description, expected });
  };

  // Control: 32×24, left half red, right half blue.
  const halves = halvesImage(32, 24);
  add(
    'control.png',
    await sharp(halves.data, { raw: halves.raw }).png().toBuffer(),
    'a plain 8-bit RGB PNG',
    {
      width: 32,
      height: 24,
      pixels: [
        { x: 0, y: 0, rgb: [255, 0, 0] },
        { x: 31, y: 23, rgb: [0, 0, 255] },
      ],
      tolerance: 0,
    },
  );

  add('empty.jpg', new Uint8Array(0), 'a 0-byte file', { code: 'empty' });

  // Noise compresses badly, so 60 % of the file ends inside the entropy-coded scan, not in the header.
  const noise = noiseImage(128, 128);
  const jpeg = await sharp(noise.data, { raw: noise.raw }).jpeg({ quality: 90 }).toBuffer();
  add('truncated.jpg', jpeg.subarray(0, Math.floor(jpeg.length * 0.6)), 'a JPEG cut at 60 % of its bytes', {
    code: 'truncated',
  });

  // A complete PNG (header and IEND intact) whose image data was overwritten: damaged, not cut short.
  const damaged = Buffer.from(await sharp(noise.data, { raw: noise.raw }).png().toBuffer());
  damaged.fill(0x5a, 100, damaged.length - 200);
  add('corrupt.png', damaged, 'a PNG whose image data was overwritten', { code: 'corrupt' });

  add(
    'bomb.png',
    declaredSizePng(BOMB_SIZE.width, BOMB_SIZE.height),
    `a ${BOMB_SIZE.width}×${BOMB_SIZE.height} PNG header with almost no data`,
    {
      code: 'too-large',
    },
  );

  // CMYK JPEG: sharp converts through its CMYK profile, so colours come back close to, not exactly, the originals.
  add(
    'cmyk.jpg',
    await sharp(halves.data, { raw: halves.raw }).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer(),
    'a CMYK JPEG',
    {
      width: 32,
      height: 24,
      pixels: [
        { x: 2, y: 2, rgb: [232, 0, 0] },
        { x: 29, y: 21, rgb: [28, 60, 139] },
      ],
      tolerance: 40,
    },
  );

  // 16-bit RGB PNG: 65535 → 255, 32896 (= 128·257) → 128, 0 → 0.
  add(
    'rgb16.png',
    rgb16Png(4, 2, (_x, y) => (y === 0 ? [65535, 32896, 0] : [0, 0, 65535])),
    'a 16-bit RGB PNG',
    {
      width: 4,
      height: 2,
      pixels: [
        { x: 0, y: 0, rgb: [255, 128, 0] },
        { x: 3, y: 1, rgb: [0, 0, 255] },
      ],
      tolerance: 1,
    },
  );

  // Grey + alpha: (grey 0, alpha 255) stays black; (grey 0, alpha 0) becomes the white background; half alpha
  // over white gives 255 − 0.5·255 ≈ 128.
  add('grey-alpha.png', greyAlphaPng(), 'a greyscale PNG with an alpha channel', {
    width: 3,
    height: 1,
    pixels: [
      { x: 0, y: 0, rgb: [0, 0, 0] },
      { x: 1, y: 0, rgb: [255, 255, 255] },
      { x: 2, y: 0, rgb: [128, 128, 128] },
    ],
    tolerance: 1,
  });

  add(
    'palette.png',
    await sharp(halves.data, { raw: halves.raw }).png({ palette: true, colours: 4 }).toBuffer(),
    'a palette (indexed) PNG',
    {
      width: 32,
      height: 24,
      pixels: [
        { x: 0, y: 0, rgb: [255, 0, 0] },
        { x: 31, y: 0, rgb: [0, 0, 255] },
      ],
      tolerance: 8,
    },
  );

  // Stored 40×20 (left red, right blue) with orientation 6 (display rotated 90° clockwise): upright it is 20×40,
  // the stored left half on top.
  const wide = halvesImage(40, 20);
  add(
    'exif-6.jpg',
    await sharp(wide.data, { raw: wide.raw })
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer(),
    'a JPEG with EXIF orientation 6',
    {
      width: 20,
      height: 40,
      pixels: [
        { x: 10, y: 5, rgb: [255, 0, 0] },
        { x: 10, y: 34, rgb: [0, 0, 255] },
      ],
      tolerance: 24,
    },
  );

  add(
    'text.jpg',
    new TextEncoder().encode('This is a text file with a .jpg name, not an image.\n'),
    'a text file named .jpg',
    {
      code: 'not-an-image',
    },
  );

  for (const [file, bytes] of files) await writeFile(join(dir, file), bytes);
  return cases.map((c) => ({ ...c, path: join(dir, c.file) }));
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function halvesImage(width: number, height: number) {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) data[(y * width + x) * 3 + (x < width / 2 ? 0 : 2)] = 255;
  }
  return { data, raw: { width, height, channels: 3 as const } };
}

function noiseImage(width: number, height: number) {
  const data = Buffer.alloc(width * height * 3);
  let state = 12345;
  for (let i = 0; i < data.length; i += 1) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0; // LCG: deterministic noise
    data[i] = state >>> 24;
  }
  return { data, raw: { width, height, channels: 3 as const } };
}

function chunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A valid PNG header declaring `width`×`height` RGB, with one compressed row of data and IEND. */
function declaredSizePng(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit, colour type 2 (RGB), deflate, no filter, no interlace
  const row = deflateSync(Buffer.alloc(1 + width * 3));
  return Buffer.concat([
    PNG_SIGNATURE,
    chunk('IHDR', ihdr),
    chunk('IDAT', row),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

/** A 16-bit RGB PNG (colour type 2, bit depth 16) written by hand; samples are big-endian. */
function rgb16Png(
  width: number,
  height: number,
  colour: (x: number, y: number) => [number, number, number],
): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([16, 2, 0, 0, 0], 8);
  const stride = 1 + width * 6;
  const raw = Buffer.alloc(stride * height); // filter byte 0 on each row
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      colour(x, y).forEach((sample, c) => raw.writeUInt16BE(sample, y * stride + 1 + x * 6 + c * 2));
    }
  }
  return Buffer.concat([
    PNG_SIGNATURE,
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

/** A 3×1 greyscale+alpha PNG (colour type 4) written by hand, so the file really is grey+alpha. */
function greyAlphaPng(): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(3, 0);
  ihdr.writeUInt32BE(1, 4);
  ihdr.set([8, 4, 0, 0, 0], 8); // 8-bit, colour type 4 (grey + alpha)
  // Filter byte 0, then (grey, alpha) pairs: opaque black, transparent black, half-transparent black.
  const raw = Buffer.from([0, 0, 255, 0, 0, 0, 127]);
  return Buffer.concat([
    PNG_SIGNATURE,
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array(0)),
  ]);
}
