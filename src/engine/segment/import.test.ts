import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeMaskPng } from '../image/mask.ts';
import { encodeRle } from '../image/rle.ts';
import type { BinaryMask } from '../image/types.ts';
import {
  assertKnownImages,
  MaskImportError,
  openMaskImport,
  segmentationToMask,
  validateMaskImport,
} from './import.ts';

let dir: string;

function rect(width: number, height: number, x0: number, y0: number, x1: number, y1: number): BinaryMask {
  const data = new Uint8Array(width * height);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) data[y * width + x] = 1;
  return { width, height, data };
}

const SIZE = { width: 12, height: 8 };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'masks-import-'));
  await mkdir(join(dir, 'png', 'photo'), { recursive: true });
  await mkdir(join(dir, 'png', 'stranger'), { recursive: true });
  await writeFile(join(dir, 'png', 'photo', '10.png'), await encodeMaskPng(rect(12, 8, 0, 0, 3, 3)));
  await writeFile(join(dir, 'png', 'photo', '2.png'), await encodeMaskPng(rect(12, 8, 5, 5, 8, 7)));
  await writeFile(join(dir, 'png', 'photo', 'notes.txt'), 'ignored');
  await writeFile(join(dir, 'png', 'photo', '3.png'), await encodeMaskPng(rect(12, 8, 0, 0, 0, 0)));
  await mkdir(join(dir, 'bad', 'photo'), { recursive: true });
  await writeFile(join(dir, 'bad', 'photo', '0.png'), await encodeMaskPng(rect(10, 8, 0, 0, 3, 3)));
  const coco = {
    images: [
      { id: 1, file_name: 'images/photo.jpg', width: 12, height: 8 },
      { id: 2, file_name: 'other.jpg', width: 5, height: 5 },
    ],
    annotations: [
      { id: 7, image_id: 1, segmentation: [[1, 1, 4, 1, 4, 3, 1, 3]] },
      { id: 8, image_id: 1, segmentation: encodeRle(rect(12, 8, 6, 2, 9, 6)) },
      { id: 9, image_id: 1, segmentation: { size: [8, 12], counts: [90, 2, 4] } },
    ],
    categories: [],
  };
  await writeFile(join(dir, 'coco.json'), JSON.stringify(coco));
  await writeFile(join(dir, 'broken.json'), '{ not json');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('PNG folder import', () => {
  it('reads <stem>/<k>.png in numeric order of k', async () => {
    const source = await openMaskImport(join(dir, 'png'));
    expect(source.kind).toBe('png-folder');
    const masks = await source.masksFor('/some/where/photo.jpg', SIZE);
    expect(masks.map((m) => m.sourceId)).toEqual(['photo/2.png', 'photo/10.png']);
    expect(source.skipped).toEqual([{ sourceId: 'photo/3.png', reason: 'empty mask' }]);
    expect(masks[1].mask.data.reduce((s, v) => s + v, 0)).toBe(9);
    expect(await source.masksFor('absent.jpg', SIZE)).toEqual([]);
  });

  it('names folders that match no image', async () => {
    const source = await openMaskImport(join(dir, 'png'));
    expect(source.unknownImages(['photo.jpg'])).toEqual(['stranger']);
    expect(() => assertKnownImages(source, ['photo.jpg'])).toThrow(
      /1 image\(s\) not in the project: stranger$/,
    );
  });

  it('rejects a mask whose size differs from the image', async () => {
    const source = await openMaskImport(join(dir, 'bad'));
    await expect(source.masksFor('photo.png', SIZE)).rejects.toThrow(
      /bad\/photo\/0\.png is 10×8 but image photo\.png is 12×8$/,
    );
  });
});

describe('COCO import', () => {
  it('decodes polygons, compressed RLE and uncompressed RLE by file name', async () => {
    const source = await openMaskImport(join(dir, 'coco.json'));
    expect(source.kind).toBe('coco');
    const masks = await source.masksFor('photo.jpg', SIZE);
    expect(masks.map((m) => m.sourceId)).toEqual(['annotation 7', 'annotation 8', 'annotation 9']);
    const areas = masks.map((m) => m.mask.data.reduce((s, v) => s + v, 0));
    expect(areas).toEqual([6, 12, 2]);
    // Uncompressed counts [90, 2, 4]: column-major index 90 and 91 → x = 11, y = 2 and 3.
    expect(masks[2].mask.data[2 * 12 + 11]).toBe(1);
    expect(masks[2].mask.data[3 * 12 + 11]).toBe(1);
  });

  it('reports images missing from the project and size mismatches', async () => {
    const source = await openMaskImport(join(dir, 'coco.json'));
    expect(source.unknownImages(['photo.jpg'])).toEqual(['other.jpg']);
    await expect(source.masksFor('photo.jpg', { width: 10, height: 8 })).rejects.toThrow(
      'says images/photo.jpg is 12×8 but the image is 10×8',
    );
  });

  it('rejects malformed files and segmentations with clear messages', async () => {
    await expect(openMaskImport(join(dir, 'broken.json'))).rejects.toThrow(/broken\.json is not valid JSON/);
    await expect(openMaskImport(join(dir, 'nowhere'))).rejects.toThrow(/nowhere does not exist$/);
    expect(() => segmentationToMask({ size: [4, 4], counts: '0' }, SIZE, 'ann 3')).toThrow(
      'mask import: ann 3: RLE size is 4×4 (size [4, 4]) but the image is 12×8',
    );
    expect(() => segmentationToMask('nope', SIZE, 'ann 4')).toThrow(
      'mask import: ann 4: segmentation is neither polygons nor RLE',
    );
  });
});

describe('import problems a batch reports per image', () => {
  it('validates the source before a batch: unknown names and images without an entry', async () => {
    const checked = await validateMaskImport(join(dir, 'coco.json'), ['/p/photo.jpg', '/p/third.jpg']);
    expect(checked.unknown).toEqual(['other.jpg']);
    expect(checked.missing).toEqual(['third.jpg']);
  });

  it('fails an image the source has no entry for, and one with more masks than the cap, each by name', async () => {
    const source = await openMaskImport(join(dir, 'coco.json'));
    const missing = await source.masksFor('third.jpg', SIZE, { required: true }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(MaskImportError);
    expect((missing as MaskImportError).code).toBe('not-in-import');
    expect((missing as Error).message).toBe(
      `mask import ${join(dir, 'coco.json')} has no entry for image third.jpg`,
    );
    await expect(source.masksFor('photo.jpg', SIZE, { limit: 2 })).rejects.toThrow(
      `mask import ${join(dir, 'coco.json')} has 3 masks for image photo.jpg; at most 2 (settings.masks.hardCap) can be captioned together`,
    );
    expect(await source.masksFor('photo.jpg', SIZE, { limit: 3, required: true })).toHaveLength(3);
  });

  it('never quotes a non-JSON file it was pointed at', async () => {
    await writeFile(join(dir, 'passwd'), 'root:x:0:0:root:/root:/bin/bash\n');
    const error = (await openMaskImport(join(dir, 'passwd')).catch((e: unknown) => e)) as Error;
    expect(error.message).toBe(`mask import: ${join(dir, 'passwd')} is not valid JSON`);
    expect(error.message).not.toContain('root:x');
  });

  it('refuses a source or a mask file whose real path leaves the allowed folders', async () => {
    const allowed = await realpath(join(dir, 'png'));
    const contains = (real: string) => real.startsWith(`${allowed}/`) || real === allowed;
    await symlink(join(dir, 'coco.json'), join(dir, 'png', 'link.json'));
    await expect(openMaskImport(join(dir, 'png', 'link.json'), { contains })).rejects.toThrow(
      `mask import: ${join(dir, 'png', 'link.json')} is outside the allowed folders`,
    );
    await symlink(join(dir, 'bad', 'photo', '0.png'), join(dir, 'png', 'stranger', '0.png'));
    const source = await openMaskImport(join(dir, 'png'), { contains });
    await expect(source.masksFor('stranger.jpg', SIZE)).rejects.toThrow('is outside the allowed folders');
    expect(await source.masksFor('photo.jpg', SIZE)).toHaveLength(2);
  });
});
