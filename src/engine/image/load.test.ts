import {
  chmod,
  copyFile,
  mkdir,
  mkdtemp,
  readFile,
  rm,
  symlink,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOMB_SIZE, writeBadImageCorpus, type BadImageCase } from '../testing/bad-image-corpus.ts';
import { parseSettings } from '../../shared/settings.ts';
import {
  DEFAULT_MAX_PIXELS,
  ImageInputError,
  loadDisplayImage,
  loadImage,
  MAX_IMAGE_BYTES,
  probeImage,
  sniffFormat,
} from './load.ts';

let dir: string;
let corpus: BadImageCase[];
const byFile = (file: string) => corpus.find((c) => c.file === file)!;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pseudo-ris-images-'));
  corpus = await writeBadImageCorpus(dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function refusal(promise: Promise<unknown>): Promise<ImageInputError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ImageInputError);
  return error as ImageInputError;
}

describe('the bad-image corpus', () => {
  it('holds every case the issue lists', () => {
    expect(corpus.map((c) => c.file).sort()).toEqual(
      [
        'bomb.png',
        'cmyk.jpg',
        'control.png',
        'corrupt.png',
        'empty.jpg',
        'exif-6.jpg',
        'grey-alpha.png',
        'palette.png',
        'rgb16.png',
        'text.jpg',
        'truncated.jpg',
      ].sort(),
    );
  });

  it('really is made of the awkward formats it claims', async () => {
    const meta = async (file: string) => sharp(await readFile(byFile(file).path)).metadata();
    expect((await meta('cmyk.jpg')).space).toBe('cmyk');
    expect((await meta('rgb16.png')).depth).toBe('ushort');
    const greyAlpha = await meta('grey-alpha.png');
    expect([greyAlpha.space, greyAlpha.channels, greyAlpha.hasAlpha]).toEqual(['b-w', 2, true]);
    expect((await meta('palette.png')).isPalette).toBe(true);
    const exif = await meta('exif-6.jpg');
    expect([exif.width, exif.height, exif.orientation]).toEqual([40, 20, 6]);
    expect((await readFile(byFile('bomb.png').path)).length).toBeLessThan(200_000);
  });

  it('is loaded exactly as each case expects', async () => {
    for (const item of corpus) {
      const expected = item.expected;
      if ('code' in expected) {
        const error = await refusal(loadImage(item.path));
        expect([item.file, error.code]).toEqual([item.file, expected.code]);
        expect(error.message).toContain(item.path);
        continue;
      }
      const image = await loadImage(item.path);
      expect([item.file, image.width, image.height, image.data.length]).toEqual([
        item.file,
        expected.width,
        expected.height,
        expected.width * expected.height * 3,
      ]);
      for (const { x, y, rgb } of expected.pixels ?? []) {
        const at = (y * image.width + x) * 3;
        const got = Array.from(image.data.subarray(at, at + 3));
        for (let c = 0; c < 3; c += 1) {
          expect(
            Math.abs(got[c] - rgb[c]),
            `${item.file} (${x},${y}) channel ${c}: got ${got}, want ${rgb}`,
          ).toBeLessThanOrEqual(expected.tolerance ?? 0);
        }
      }
    }
  });
});

describe('loadImage refusals', () => {
  it('names a 0-byte file', async () => {
    const error = await refusal(loadImage(byFile('empty.jpg').path));
    expect(error.message).toBe(`image ${byFile('empty.jpg').path}: the file is empty (0 bytes)`);
  });

  it('names a truncated JPEG', async () => {
    const error = await refusal(loadImage(byFile('truncated.jpg').path));
    expect(error.code).toBe('truncated');
    expect(error.message).toMatch(/the jpeg data ends early \(.*premature end.*\): the file was cut short/i);
  });

  it('refuses the 400 MP PNG from its header, before decoding', async () => {
    const error = await refusal(loadImage(byFile('bomb.png').path));
    expect(error.code).toBe('too-large');
    expect(error.message).toContain(
      '20000×20000 = 400,000,000 pixels is over the limit of 50,000,000; refused before decoding',
    );
    // With the limit lifted, the same file gets as far as decoding, where its missing rows make it fail otherwise:
    // so the refusal above came from the header alone.
    const decoded = await refusal(
      loadImage(byFile('bomb.png').path, { maxPixels: BOMB_SIZE.width * BOMB_SIZE.height }),
    );
    expect(decoded.code).not.toBe('too-large');
  });

  it('applies a smaller configured pixel limit', async () => {
    const error = await refusal(loadImage(byFile('control.png').path, { maxPixels: 32 * 24 - 1 }));
    expect(error.code).toBe('too-large');
    await expect(loadImage(byFile('control.png').path, { maxPixels: 32 * 24 })).resolves.toMatchObject({
      width: 32,
      height: 24,
    });
    await expect(loadImage(byFile('control.png').path, { maxPixels: 0 })).rejects.toThrow(
      'maxPixels must be a positive number of pixels, got 0',
    );
  });

  it('says a text file named .jpg is not an image, naming the file and never quoting its content', async () => {
    const error = await refusal(loadImage(byFile('text.jpg').path));
    expect(error.code).toBe('not-an-image');
    expect(error.message).toContain(`image ${byFile('text.jpg').path}: not an image sharp can read`);
    expect(error.message).not.toContain('This is');
    expect(error.message).not.toContain('starts with');
  });

  it('calls a complete PNG with overwritten data corrupt', async () => {
    const error = await refusal(loadImage(byFile('corrupt.png').path));
    expect(error.code).toBe('corrupt');
    expect(error.message).toContain('the png data is damaged');
  });

  it('names a missing file and an empty buffer', async () => {
    const missing = await refusal(loadImage(join(dir, 'nope.png')));
    expect([missing.code, missing.message]).toEqual([
      'unreadable',
      `image ${join(dir, 'nope.png')}: file not found`,
    ]);
    const empty = await refusal(loadImage(new Uint8Array(0)));
    expect([empty.code, empty.message]).toEqual(['empty', 'image <buffer>: the buffer is empty (0 bytes)']);
  });
});

describe('loadImage confined to folders', () => {
  it('opens the file first and refuses one whose real path is outside, reading nothing of it', async () => {
    const allowed = join(dir, 'allowed');
    const outside = join(dir, 'outside');
    await mkdir(allowed);
    await mkdir(outside);
    await writeFile(join(outside, 'secret'), 'Zq7Kx9Wp the outside file');
    await copyFile(byFile('control.png').path, join(allowed, 'ok.png'));
    await symlink(join(outside, 'secret'), join(allowed, 'evil.png'));
    await copyFile(byFile('control.png').path, join(outside, 'real.png'));
    await symlink(join(outside, 'real.png'), join(allowed, 'outside.png'));
    const contains = (real: string) => real === allowed || real.startsWith(`${allowed}/`);
    await expect(loadImage(join(allowed, 'ok.png'), { contains })).resolves.toMatchObject({ width: 32 });
    for (const name of ['evil.png', 'outside.png']) {
      const error = await refusal(loadImage(join(allowed, name), { contains }));
      expect([error.code, error.message]).toEqual([
        'unreadable',
        `image ${join(allowed, name)}: is outside the allowed folders (not read)`,
      ]);
    }
    // through a folder link too, and probeImage alike
    await symlink(outside, join(allowed, 'dir'));
    await expect(probeImage(join(allowed, 'dir', 'real.png'), { contains })).rejects.toThrow(
      'is outside the allowed folders',
    );
  });
});

describe('probeImage', () => {
  it('gives upright dimensions and the stored orientation without decoding', async () => {
    const probe = await probeImage(byFile('exif-6.jpg').path);
    expect(probe).toMatchObject({ format: 'jpeg', width: 20, height: 40, orientation: 6 });
  });

  it('loads from a buffer the same as from the file', async () => {
    const bytes = await readFile(byFile('palette.png').path);
    const fromBuffer = await loadImage(bytes);
    const fromFile = await loadImage(byFile('palette.png').path);
    expect(fromBuffer.width).toBe(fromFile.width);
    expect(Buffer.from(fromBuffer.data).equals(Buffer.from(fromFile.data))).toBe(true);
  });

  it('uses the settings’ default limit of 50,000,000 pixels, well under sharp’s 268 MP', () => {
    expect(DEFAULT_MAX_PIXELS).toBe(50_000_000);
    expect(parseSettings({}).maxPixels).toBe(DEFAULT_MAX_PIXELS);
  });

  it('refuses a 3 GiB file from its size before reading a byte, naming the file', async () => {
    const huge = join(dir, 'huge.jpg');
    await truncate(huge, 3 * 1024 ** 3).catch(async () => {
      await writeFile(huge, '');
      await truncate(huge, 3 * 1024 ** 3);
    });
    const error = await refusal(loadImage(huge));
    expect(error.code).toBe('too-large');
    expect(error.message).toBe(`image ${huge}: the file is 3.0 GiB, over the limit of 512 MiB for one image`);
    expect(MAX_IMAGE_BYTES).toBe(512 * 1024 * 1024);
  });

  it('refuses a folder named like an image as unreadable', async () => {
    const folder = join(dir, 'folder.png');
    await mkdir(folder, { recursive: true });
    const error = await refusal(loadImage(folder));
    expect(error.code).toBe('unreadable');
    expect(error.message).toBe(`image ${folder}: is a folder, not an image file`);
  });

  it.skipIf(process.getuid?.() === 0)(
    'names permission denied for an unreadable file (not as root)',
    async () => {
      const locked = join(dir, 'locked.png');
      await writeFile(locked, 'x');
      await chmod(locked, 0o000);
      const error = await refusal(loadImage(locked));
      expect(error.code).toBe('unreadable');
      expect(error.message).toBe(`image ${locked}: cannot be read: permission denied (EACCES)`);
    },
  );

  it('recognises formats by their magic bytes', () => {
    expect(sniffFormat(new Uint8Array([0xff, 0xd8, 0xff, 0xe0]))).toBe('jpeg');
    expect(sniffFormat(new TextEncoder().encode('GIF89a...'))).toBe('gif');
    expect(sniffFormat(new TextEncoder().encode('hello'))).toBeUndefined();
  });
});

describe('loadDisplayImage', () => {
  /** The RGB pixels of encoded bytes, as loadImage reads them. */
  const pixelsOf = async (bytes: Uint8Array) => (await loadImage(bytes)).data;

  it('answers an 8-bit sRGB RGB PNG with the file’s own bytes', async () => {
    const path = byFile('control.png').path;
    const shown = await loadDisplayImage(path);
    const probe = await probeImage(path);
    expect(shown).toMatchObject({ mime: 'image/png', width: probe.width, height: probe.height });
    expect(Buffer.from(shown.bytes).equals(await readFile(path))).toBe(true);
  });

  it.each(['exif-6.jpg', 'grey-alpha.png', 'palette.png', 'cmyk.jpg', 'rgb16.png'])(
    'encodes %s as a PNG of the pixels loadImage reads (upright, sRGB, alpha over white)',
    async (file) => {
      const path = byFile(file).path;
      const shown = await loadDisplayImage(path);
      const image = await loadImage(path);
      expect(shown).toMatchObject({ mime: 'image/png', width: image.width, height: image.height });
      expect(Buffer.from(shown.bytes).equals(await readFile(path))).toBe(false);
      expect(Buffer.from(await pixelsOf(shown.bytes)).equals(Buffer.from(image.data))).toBe(true);
    },
  );

  it('shrinks to maxSide on the longer side, keeping the aspect', async () => {
    const path = byFile('control.png').path;
    const { width, height } = await probeImage(path);
    const shown = await loadDisplayImage(path, { maxSide: 16 });
    expect(shown.mime).toBe('image/png');
    expect(Math.max(shown.width, shown.height)).toBe(16);
    expect(shown.width / shown.height).toBeCloseTo(width / height, 1);
  });
});
