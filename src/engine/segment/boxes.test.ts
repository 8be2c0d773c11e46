import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRle } from '../image/rle.ts';
import type { BinaryMask } from '../image/types.ts';
import { BoxesChangedError, boxesRecord, openBoxImport, selectMasksByBoxes } from './boxes.ts';
import { MaskImportError } from './import.ts';

let dir: string;
const SIZE = { width: 12, height: 8 };

function rect(x0: number, y0: number, x1: number, y1: number): BinaryMask {
  const data = new Uint8Array(SIZE.width * SIZE.height);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) data[y * SIZE.width + x] = 1;
  return { ...SIZE, data };
}

const write = async (name: string, value: unknown) => {
  const path = join(dir, name);
  await writeFile(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
};

/** The MaskImportError a promise rejects with (or a function throws). */
async function failure(run: () => unknown): Promise<MaskImportError> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(MaskImportError);
    return error as MaskImportError;
  }
  throw new Error('expected a MaskImportError');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'boxes-import-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('CutLER-style detections files', () => {
  it('reads a COCO JSON: detections in file order, segmentations as masks, images matched by base name', async () => {
    const path = await write('coco.json', {
      images: [
        { id: 1, file_name: 'train/photo.jpg', width: 12, height: 8 },
        { id: 2, file_name: 'empty.jpg' },
        { id: 3, file_name: 'stranger.jpg' },
      ],
      annotations: [
        { id: 10, image_id: 1, category_id: 1, bbox: [1, 1, 3, 2], score: 0.9 },
        { id: 11, image_id: 1, bbox: [6, 2, 3, 4], score: 0.7, segmentation: encodeRle(rect(6, 2, 9, 6)) },
        { image_id: 1, bbox: [0, 0, 12, 8], score: 0.2 },
      ],
    });
    const source = await openBoxImport(path);
    expect(source).toMatchObject({ kind: 'coco', count: 3 });
    expect(source.sha256).toBe(
      createHash('sha256')
        .update(await readFile(path))
        .digest('hex'),
    );
    const found = source.detectionsFor('/data/photo.jpg', SIZE);
    expect(found.map((d) => [d.sourceId, d.bbox, d.score, d.mask !== undefined])).toEqual([
      ['annotation 10', [1, 1, 3, 2], 0.9, false],
      ['annotation 11', [6, 2, 3, 4], 0.7, true],
      ['annotation 2', [0, 0, 12, 8], 0.2, false],
    ]);
    expect(Array.from(found[1].mask!.data)).toEqual(Array.from(rect(6, 2, 9, 6).data));
    // listed with no annotation: no detection (the released code skips such an image)
    expect(source.detectionsFor('empty.jpg', SIZE)).toEqual([]);
    expect(source.has('elsewhere/empty.jpg')).toBe(true);
    expect(source.unknownImages(['/x/photo.jpg', '/x/empty.jpg'])).toEqual(['stranger.jpg']);
    // an image of the run that "images" does not list fails by name
    const missing = await failure(() => source.detectionsFor('/x/absent.png', SIZE));
    expect(missing.code).toBe('not-in-import');
    expect(missing.message).toBe(
      `boxes ${path} has no entry for image absent.png (COCO "images" does not list it)`,
    );
    const size = await failure(() => source.detectionsFor('photo.jpg', { width: 10, height: 8 }));
    expect(size.code).toBe('size-mismatch');
    expect(size.message).toBe(`boxes: ${path} says train/photo.jpg is 12×8 but the image is 10×8`);
  });

  it('reads a bare detections list: numeric image_id ↔ zero-padded stem, names by file name or stem', async () => {
    const path = await write('results.json', [
      { image_id: 139, category_id: 1, bbox: [0, 0, 2, 2], score: 0.99 },
      { file_name: 'dir/scene-0001.png', bbox: [1, 1, 2, 2], score: 0.8 },
      { image_id: 'scene-0001', bbox: [2, 2, 2, 2] },
      { image_id: 139, bbox: [3, 3, 2, 2], score: 0.6 },
      { image_id: 4242, bbox: [3, 3, 2, 2], score: 0.6 },
    ]);
    const source = await openBoxImport(path);
    expect(source.kind).toBe('results');
    expect(source.detectionsFor('/coco/000000000139.jpg', SIZE).map((d) => d.sourceId)).toEqual([
      'detection 0',
      'detection 3',
    ]);
    expect(source.detectionsFor('/elsewhere/scene-0001.png', SIZE).map((d) => d.sourceId)).toEqual([
      'detection 1',
      'detection 2',
    ]);
    // detectron2 writes nothing for an image without detections: none, not a failure
    expect(source.detectionsFor('/x/scene-0002.png', SIZE)).toEqual([]);
    expect(source.has('/x/scene-0002.png')).toBe(false);
    expect(source.unknownImages(['/coco/000000000139.jpg', '/x/scene-0001.png'])).toEqual(['4242']);
  });

  it('refuses a missing file, bad JSON (quoting none of it) and malformed detections, naming file and entry', async () => {
    const nowhere = join(dir, 'nowhere.json');
    expect(await failure(() => openBoxImport(nowhere))).toMatchObject({
      code: 'not-found',
      message: `boxes: ${nowhere} does not exist`,
    });
    const passwd = await write('passwd', 'root:x:0:0:root:/root:/bin/bash\n');
    const json = await failure(() => openBoxImport(passwd));
    expect(json).toMatchObject({ code: 'bad-json', message: `boxes: ${passwd} is not valid JSON` });
    const cases: Array<[unknown, string]> = [
      [{ images: [] }, 'is neither a COCO JSON ("images" and "annotations" arrays) nor a list of detections'],
      [{ images: [{ id: 1 }], annotations: [] }, ': images[0] needs "id" and "file_name"'],
      [
        { images: [{ id: 1, file_name: 'a.png' }], annotations: [{ image_id: 1, bbox: [1, 2, 3] }] },
        ': annotations[0].bbox must be 4 finite numbers [x, y, width, height]',
      ],
      [{ images: [], annotations: [{ bbox: [1, 2, 3, 4] }] }, ': annotations[0] needs "image_id"'],
      [[{ image_id: 1, bbox: [1, 2, '3', 4] }], ': [0].bbox must be 4 finite numbers [x, y, width, height]'],
      [[{ image_id: 1, bbox: null }], ': [0].bbox must be 4 finite numbers [x, y, width, height]'],
      [[{ image_id: 1, bbox: [1, 2, 0, 4] }], ': [0].bbox must have a width and height above 0'],
      [
        [{ image_id: 1, bbox: [1, 2, 3, 4], score: 'high' }],
        ': [0].score must be a finite number when given',
      ],
      [
        [{ image_id: -1, bbox: [1, 2, 3, 4] }],
        ': [0] needs "file_name" or "image_id" (a name, or a whole number matching a file stem)',
      ],
      [[7], ': [0] is not a detection object'],
    ];
    for (const [content, message] of cases) {
      const path = await write('bad.json', content);
      const error = await failure(() => openBoxImport(path));
      expect(error.code, message).toBe('bad-boxes');
      expect(error.message).toBe(
        message.startsWith(':') ? `boxes: ${path}${message}` : `boxes: ${path} ${message}`,
      );
    }
  });

  it('clips a box that reaches past its image, keeps one covering no pixel centre, and fails the image for one wholly outside it', async () => {
    const path = await write('outside.json', [
      { file_name: 'a.png', bbox: [10, 6, 50, 50], score: 0.9 },
      // inside the image, between pixel centres: the released overlap is 0 → SAM mask 0, not a failure
      { file_name: 'a.png', bbox: [3.6, 2.6, 0.3, 0.3], score: 0.9 },
      { file_name: 'b.png', bbox: [12, 0, 4, 4], score: 0.9 },
    ]);
    const source = await openBoxImport(path);
    expect(source.detectionsFor('a.png', SIZE)).toHaveLength(2);
    const error = await failure(() => source.detectionsFor('b.png', SIZE));
    expect(error).toMatchObject({
      code: 'bad-boxes',
      message: `boxes: ${path}: [2].bbox [12, 0, 4, 4] lies outside image b.png (12×8)`,
    });
  });
});

describe('one image’s masks selected by its detections', () => {
  const proposals = [{ mask: rect(0, 0, 4, 4) }, { mask: rect(4, 0, 12, 8) }];

  it('runs SAM only when a detection scores above the threshold, and keeps duplicates', async () => {
    const path = await write('dup.json', [
      { file_name: 'a.png', bbox: [5, 1, 2, 2], score: 0.9 },
      { file_name: 'a.png', bbox: [6, 4, 3, 3], score: 0.8 },
      { file_name: 'a.png', bbox: [0, 0, 1, 1], score: 0.3 },
      { file_name: 'b.png', bbox: [0, 0, 4, 4], score: 0.4 },
    ]);
    const source = await openBoxImport(path);
    let runs = 0;
    const generate = async () => (runs++, proposals);
    const settings = { boxesMinScore: 0.5, hardCap: 30, boxesSha256: source.sha256 };
    const a = await selectMasksByBoxes(source, 'a.png', SIZE, generate, settings);
    expect(a.selected).toEqual([proposals[1], proposals[1]]);
    expect(a.matches.map((m) => m.overlap)).toEqual([4, 9]);
    expect(runs).toBe(1);
    // a SAM mask over the whole image is selected but left out, as the released caption script skips it
    const whole = [{ mask: rect(0, 0, 12, 8) }, ...proposals];
    const skipped = await selectMasksByBoxes(source, 'a.png', SIZE, async () => whole, settings);
    expect(skipped.selected).toEqual([]);
    expect(skipped.decisions[0]).toEqual({
      sourceId: 'detection 0',
      used: false,
      proposal: 0,
      reason:
        'selects SAM mask 0 (4 px shared with its box), the first of 2 tied; skipped: the mask has one value everywhere, as the released caption script skips it',
    });
    const b = await selectMasksByBoxes(source, 'b.png', SIZE, generate, settings);
    expect(b).toMatchObject({ proposals: [], selected: [] });
    expect(runs).toBe(1);
  });

  it('fails the image when the masks exceed hardCap, and refuses a file changed since it was recorded', async () => {
    const path = await write('many.json', [
      { file_name: 'a.png', bbox: [5, 1, 2, 2], score: 0.9 },
      { file_name: 'a.png', bbox: [6, 4, 3, 3], score: 0.8 },
      { file_name: 'a.png', bbox: [0, 0, 1, 1], score: 0.7 },
    ]);
    const source = await openBoxImport(path);
    const generate = async () => proposals;
    const capped = await failure(() =>
      selectMasksByBoxes(source, '/x/a.png', SIZE, generate, { boxesMinScore: 0.5, hardCap: 2 }),
    );
    expect(capped.code).toBe('too-many-masks');
    expect(capped.message).toBe(
      `boxes ${path}: 3 detections of image a.png score above 0.5 and select 3 masks; at most 2 (settings.masks.hardCap) can be captioned together — the released code has no cap: raise masks.hardCap (≤ 100) or masks.boxesMinScore`,
    );
    const changed = await failure(() =>
      selectMasksByBoxes(source, 'a.png', SIZE, generate, {
        boxesMinScore: 0.5,
        hardCap: 30,
        boxesSha256: 'ab'.repeat(32),
      }),
    );
    expect(changed.code).toBe('bad-boxes');
    expect(changed.message).toBe(
      `boxes: ${path} changed since the project recorded it (sha256 abababababab… → ${source.sha256.slice(0, 12)}…)`,
    );
  });

  it('records the file’s hash once, renews it when the path is set anew, and refuses a changed file', async () => {
    const path = await write('record.json', [{ file_name: 'a.png', bbox: [0, 0, 2, 2], score: 0.9 }]);
    const first = await boxesRecord({ boxesPath: path });
    expect(first.sha256).toBe(
      createHash('sha256')
        .update(await readFile(path))
        .digest('hex'),
    );
    expect((await boxesRecord({ boxesPath: path, boxesSha256: first.sha256 })).sha256).toBe(first.sha256);
    await write('record.json', [{ file_name: 'a.png', bbox: [0, 0, 3, 3], score: 0.9 }]);
    const changed = await failure(() => boxesRecord({ boxesPath: path, boxesSha256: first.sha256 }));
    expect(changed).toBeInstanceOf(BoxesChangedError);
    expect(changed.message).toMatch(/^boxes: .*record\.json changed since the project recorded it \(sha256 /);
    const renewed = await boxesRecord({ boxesPath: path, boxesSha256: first.sha256 }, true);
    expect(renewed.sha256).not.toBe(first.sha256);
    expect((await failure(() => boxesRecord({}))).message).toBe('boxes: masks.boxesPath is not set');
    expect((await failure(() => boxesRecord({ boxesPath: join(dir, 'none.json') }))).code).toBe('not-found');
  });
});
