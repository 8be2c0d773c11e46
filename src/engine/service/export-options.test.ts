// The export options of `pseudo-ris export` through the app's `export:run` (in-process engine, served-mode path
// policy): dataset, splitBy, a seeded split by image, COCO names and the single-mask policy reach the written files
// (src/cli/commands/export.test.ts checks they are the CLI's byte for byte), an append adds a second project's refs
// with fresh ids, and bad combinations are refused by name before anything is written. Hand-made projects
// (testing/project.ts): no model runs.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExportResult } from '../../shared/api.ts';
import { pickleLoads } from '../dataset/index.ts';
import { startTestEngine, type TestEngine } from '../testing/engine.ts';
import { rectMask, writeMaskProject, writeTestProject } from '../testing/project.ts';
import type { EngineClient } from './client.ts';

let base: string;
let engine: EngineClient;
let testEngine: TestEngine;
let first: string;
let second: string;

beforeAll(async () => {
  testEngine = await startTestEngine('pris-export-options-');
  ({ base, engine } = testEngine);
  ({ project: first } = await writeTestProject(join(base, 'allowed', 'one')));
  second = await writeMaskProject(join(base, 'allowed', 'two'), [
    {
      name: 'c.png',
      width: 10,
      height: 8,
      colour: [10, 10, 200],
      masks: [
        { mask: rectMask(10, 8, 0, 0, 5, 8), captions: [['a blue left half', 2.5, 30]] },
        { mask: rectMask(10, 8, 5, 0, 10, 8), captions: [['the right half', 2.2, 28]] },
      ],
    },
  ]);
});

afterAll(() => testEngine.close());

const call = <T>(channel: Parameters<EngineClient['request']>[0], params: unknown = {}) =>
  engine.request(channel, params) as Promise<T>;

/** refcoco+ (splitBy unc), COCO names, a split by image seeded by 4, single-mask images kept. */
const OPTIONS = {
  dataset: 'refcoco+',
  splitBy: 'unc',
  cocoNames: true,
  split: 'train=0.5,val=0.5',
  splitSeed: 4,
  singleMask: 'keep-all',
} as const;

interface PickledRef {
  ref_id: number;
  ann_id: number;
  image_id: number;
  split: string;
  sent_ids: number[];
}

const refsOf = (folder: string) =>
  pickleLoads(readFileSync(join(folder, 'refcoco+', 'refs(unc).p'))) as unknown as PickledRef[];
const instancesOf = (folder: string) =>
  JSON.parse(readFileSync(join(folder, 'refcoco+', 'instances.json'), 'utf8')) as {
    images: Array<{ id: number; file_name: string }>;
    annotations: Array<{ id: number }>;
  };
const recordOf = (folder: string) =>
  JSON.parse(readFileSync(join(folder, 'export-record.json'), 'utf8')) as {
    export: Record<string, unknown> & { singleMask: { option: string } };
    parts: unknown[];
  };

describe('export:run with the options of pseudo-ris export', () => {
  it('writes refcoco+ (unc) with COCO names, a seeded split by image and the single-mask policy asked for', async () => {
    await call('project:open', { dir: first });
    const dest = join(base, 'allowed', 'app');
    const result = await call<ExportResult>('export:run', { formats: ['refcoco'], dest, ...OPTIONS });
    const folder = join(dest, 'refcoco');
    expect(result.files).toContain(join(folder, 'refcoco+', 'refs(unc).p'));
    // two images with refs, one per split; image 1 has two refs (masks 0 and 1), image 2 one
    expect(result.splits.map(({ format, folder: f, name, images }) => [format, f, name, images])).toEqual([
      ['refcoco', folder, 'train', 1],
      ['refcoco', folder, 'val', 1],
    ]);
    expect(result.splits.reduce((sum, s) => sum + s.refs, 0)).toBe(3);

    const refs = refsOf(folder);
    const instances = instancesOf(folder);
    expect(new Set(refs.map((r) => r.split))).toEqual(new Set(['train', 'val']));
    for (const s of result.splits) expect(refs.filter((r) => r.split === s.name)).toHaveLength(s.refs);
    expect(instances.images.map((i) => i.file_name).sort()).toEqual([
      'COCO_train2014_000000000001.jpg',
      'COCO_train2014_000000000002.jpg',
    ]);
    expect(recordOf(folder).export).toMatchObject({
      dataset: 'refcoco+',
      splitBy: 'unc',
      split: 'train=0.5,val=0.5',
      splitSeed: 4,
      cocoNames: true,
      singleMask: { option: 'keep-all' },
    });
  });

  it('appends a second project to that export with fresh ids, and refuses another dataset there', async () => {
    const folder = join(base, 'allowed', 'app', 'refcoco');
    const before = refsOf(folder);
    await call('project:open', { dir: second });
    const refsFile = join(folder, 'refcoco+', 'refs(unc).p');
    const untouched = readFileSync(refsFile);
    await expect(
      call('export:run', { formats: ['refcoco'], dataset: 'refcoco', appendTo: folder }),
    ).rejects.toThrow(`cannot append refcoco (splitBy unc) to ${folder}: it holds refcoco+ (splitBy unc)`);
    expect(readFileSync(refsFile)).toEqual(untouched);

    const result = await call<ExportResult>('export:run', {
      formats: ['refcoco'],
      dataset: 'refcoco+',
      cocoNames: true,
      appendTo: folder,
    });
    expect(result.dest).toBe(folder);
    const refs = refsOf(folder);
    expect(refs.slice(0, before.length)).toEqual(before);
    const added = refs.slice(before.length);
    expect(added).toHaveLength(2);
    const maxBefore = (pick: (r: PickledRef) => number[]) => Math.max(...before.flatMap(pick));
    for (const ref of added) {
      expect(ref.ref_id).toBeGreaterThan(maxBefore((r) => [r.ref_id]));
      expect(ref.ann_id).toBeGreaterThan(maxBefore((r) => [r.ann_id]));
      expect(ref.image_id).toBeGreaterThan(maxBefore((r) => [r.image_id]));
      expect(Math.min(...ref.sent_ids)).toBeGreaterThan(maxBefore((r) => r.sent_ids));
      expect(ref.split).toBe('train');
    }
    expect(new Set(refs.map((r) => r.ref_id)).size).toBe(refs.length);
    const instances = instancesOf(folder);
    expect(new Set(instances.annotations.map((a) => a.id)).size).toBe(refs.length);
    expect(instances.images).toHaveLength(3);
    expect(recordOf(folder).parts).toHaveLength(2);
    // the split counts cover the whole export: the first project's train and val, plus this one in train
    expect(result.splits.map(({ name, images, refs: n }) => [name, images, n])).toEqual([
      ['train', 2, result.splits[0].refs],
      ['val', 1, result.splits[1].refs],
    ]);
    expect(result.splits[0].refs + result.splits[1].refs).toBe(5);
  });

  it('refuses the refcoco options without refcoco/cris, a non-integer seed and an append-to folder outside the allowed ones', async () => {
    await expect(call('export:run', { formats: ['masks'], dataset: 'refcoco+' })).rejects.toThrow(
      'export:run: invalid parameters: dataset: only for the refcoco or cris formats, not masks',
    );
    await expect(call('export:run', { formats: ['refcoco'], splitSeed: 1.5 })).rejects.toThrow(
      'export:run: invalid parameters: splitSeed: must be an integer',
    );
    const outside = join(base, 'outside', 'refcoco');
    await expect(call('export:run', { formats: ['refcoco'], appendTo: outside })).rejects.toThrow(
      `export append-to folder is outside the allowed folders: ${outside}`,
    );
    const missing = join(base, 'allowed', 'no-export');
    await expect(call('export:run', { formats: ['refcoco'], appendTo: missing })).rejects.toThrow(
      `export append-to folder does not exist: ${missing}`,
    );
    expect([existsSync(join(base, 'outside')), existsSync(missing)]).toEqual([false, false]);
  });
});
