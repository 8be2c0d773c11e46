import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readMaskPng, type BinaryMask } from '../../image/index.ts';
import { exportProject } from '../export.ts';
import { rectMask, writeMaskProject, type TestImageSpec } from '../../testing/project.ts';
import { decodeLikeAnnToMask, decodeLikeReferPy } from './coco-decode.ts';

/** A ring with a hole holding an island (a nested hole), w×h ≥ 9×9. */
function nested(w: number, h: number): BinaryMask {
  const mask = rectMask(w, h, 0, 0, 9, 9);
  for (let y = 1; y < 8; y++) for (let x = 1; x < 8; x++) mask.data[y * w + x] = 0;
  for (let y = 3; y < 6; y++) for (let x = 3; x < 6; x++) mask.data[y * w + x] = 1;
  mask.data[4 * w + 4] = 0; // a one-pixel hole in the island
  return mask;
}

/** Two parts and a one-pixel part. */
function twoParts(w: number, h: number): BinaryMask {
  const mask = rectMask(w, h, 10, 0, 12, 3);
  for (let y = 6; y < 9; y++) for (let x = 10; x < 13; x++) mask.data[y * w + x] = 1;
  mask.data[4 * w + 14] = 1;
  return mask;
}

/** n images: two masks (nested holes; two parts) each, except every third: one mask with four captions. */
function specs(n: number, prefix: string, tint: number): TestImageSpec[] {
  return Array.from({ length: n }, (_, k) => {
    const [w, h] = [16, 10];
    const single = k % 3 === 2;
    return {
      name: `${String.fromCharCode(97 + k)}.png`,
      width: w,
      height: h,
      colour: [tint, 20 * k, 200 - 10 * k] as [number, number, number],
      masks: single
        ? [
            {
              mask: twoParts(w, h),
              captions: [
                [`${prefix} thing ${k} one`, null, 30],
                [`${prefix} thing ${k} two`, null, 32],
                [`${prefix} thing ${k} three`, null, 28],
                [`${prefix} thing ${k} four`, null, 31],
              ],
            },
          ]
        : [
            { mask: nested(w, h), captions: [[`${prefix} ring ${k}`, 2, 30]] },
            {
              mask: twoParts(w, h),
              captions: [
                [`${prefix} pair ${k}`, 1.8, 30],
                [`${prefix} pair ${k} left`, 1.5, 29],
              ],
            },
          ],
    };
  });
}

// Debian bookworm has no python3-pycocotools: build it from the cocoapi source (README "Checking exports against the
// real consumers") and put it on PYTHONPATH; where it is importable these tests run the real COCO.annToMask and
// refer.py's getMask steps (mask.area included) over the exports.
const HAS_PYCOCOTOOLS = (() => {
  try {
    execFileSync('python3', ['-c', 'import pycocotools.coco'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/**
 * Every annotation of an export's instances.json decoded by the real pycocotools: `COCO.annToMask` and refer.py's
 * `getMask` steps (frPyObjects, decode, sum, astype, `sum(mask.area(rle))`), masks as '0'/'1' strings row-major.
 */
function realDecode(root: string): Record<string, { annToMask: string; getMask: string; area: number }> {
  const script = `
import contextlib, json, sys, numpy as np
from pycocotools.coco import COCO
from pycocotools import mask as maskUtils
with contextlib.redirect_stdout(sys.stderr):  # COCO() prints 'loading annotations into memory...'
    coco = COCO(sys.argv[1] + '/refcocog/instances.json')
out = {}
for ann in coco.dataset['annotations']:
    img = coco.imgs[ann['image_id']]
    m1 = coco.annToMask(ann)
    seg = ann['segmentation']
    rle = maskUtils.frPyObjects(seg, img['height'], img['width']) if type(seg[0]) == list else seg
    m2 = np.sum(maskUtils.decode(rle), axis=2).astype(np.uint8)
    area = sum(maskUtils.area(rle))
    out[ann['id']] = {'annToMask': ''.join(str(int(v)) for v in m1.flatten()),
                      'getMask': ''.join(str(int(v)) for v in m2.flatten()), 'area': int(area)}
print(json.dumps(out))`;
  return JSON.parse(execFileSync('python3', ['-c', script, root], { maxBuffer: 1 << 28 }).toString());
}

let dir: string;
let projectA: string;
let projectB: string;
const specsA = specs(7, 'red', 250);
const specsB = specs(4, 'blue', 5);
// image 1, mask 1: edit candidate 0, reject candidate 1
const reviewA = {
  decisions: { '1:1:1': 'rejected' as const },
  edits: { '1:1:0': 'the reviewed pair' },
  deletedMasks: [],
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pseudo-ris-merge-'));
  projectA = await writeMaskProject(join(dir, 'a'), specsA);
  projectB = await writeMaskProject(join(dir, 'b'), specsB);
});

/** refer.py's createIndex and getRefIds(split=…) over the merged files, run by python3. */
const LOAD_AS_ONE = `
import pickle, json, sys
root = sys.argv[1]
refs = pickle.load(open(root + '/refcocog/refs(umd).p', 'rb'))
inst = json.load(open(root + '/refcocog/instances.json'))
Refs = {r['ref_id']: r for r in refs}; Anns = {a['id']: a for a in inst['annotations']}; Imgs = {i['id']: i for i in inst['images']}
Sents = {s['sent_id']: s for r in refs for s in r['sentences']}
assert len(Refs) == len(refs) and len(Anns) == len(inst['annotations']) and len(Imgs) == len(inst['images'])
assert len(Sents) == sum(len(r['sentences']) for r in refs)
assert len({i['file_name'] for i in inst['images']}) == len(inst['images'])
for r in refs:
    assert Anns[r['ann_id']]['image_id'] == r['image_id'] and r['image_id'] in Imgs
splits = {}
for r in refs: splits.setdefault(r['split'], []).append(r['ref_id'])
print(json.dumps({'refs': len(refs), 'splits': {k: len(v) for k, v in splits.items()},
  'sents': {r['ref_id']: [s['sent'] for s in r['sentences']] for r in refs},
  'files': [i['file_name'] for i in inst['images']]}))
`;

describe('a refcoco export split three ways, with a second project appended', () => {
  let out: string;
  beforeAll(async () => {
    out = join(dir, 'refcoco');
    await exportProject(projectA, {
      format: 'refcoco',
      out,
      split: 'train=0.6,val=0.2,test=0.2',
      splitSeed: 3,
      singleMask: 'cos-top-half',
      review: reviewA,
    });
    await exportProject(projectB, {
      format: 'refcoco',
      out: '',
      appendTo: out,
      split: 'train=0.6,val=0.2,test=0.2',
      splitSeed: 3,
      singleMask: 'cos-top-half',
    });
  });

  it('loads as one dataset in python: unique ids and file names, every split non-empty', () => {
    const loaded = JSON.parse(execFileSync('python3', ['-c', LOAD_AS_ONE, out]).toString());
    // A: 5 two-mask images (2 refs) + 2 single-mask (1 ref); B: 3 two-mask + 1 single-mask
    expect(loaded.refs).toBe(5 * 2 + 2 + 3 * 2 + 1);
    expect(Object.keys(loaded.splits).sort()).toEqual(['test', 'train', 'val']);
    for (const count of Object.values(loaded.splits)) expect(count).toBeGreaterThan(0);
    // B's a.png … d.png clash with A's: renamed, never overwritten
    expect(loaded.files).toHaveLength(11);
    for (const file of loaded.files) {
      expect(existsSync(join(out, 'images/mscoco/images/train2014', file))).toBe(true);
      expect(existsSync(join(out, 'images/train2014', file))).toBe(true);
    }
  });

  it('applies the review and the single-mask top half by CoS', () => {
    const loaded = JSON.parse(execFileSync('python3', ['-c', LOAD_AS_ONE, out]).toString());
    const sents = Object.values(loaded.sents) as string[][];
    expect(sents).toContainEqual(['the reviewed pair']);
    // image 3 of A (k = 2): four captions, CoS 30, 32, 28, 31 → the top two, in candidate order
    expect(sents).toContainEqual(['red thing 2 two', 'red thing 2 four']);
  });

  it('writes segmentations that decode to their masks under both refer.py and pycocotools rules', () => {
    const instances = JSON.parse(readFileSync(join(out, 'refcocog/instances.json'), 'utf8'));
    expect(instances.annotations).toHaveLength(19);
    const record = JSON.parse(readFileSync(join(out, 'export-record.json'), 'utf8'));
    const firstB = record.parts[1].ids.images[0];
    for (const ann of instances.annotations) {
      const image = instances.images.find((i: { id: number }) => i.id === ann.image_id);
      const k = ann.image_id >= firstB ? ann.image_id - firstB : ann.image_id - 1;
      const spec = (ann.image_id >= firstB ? specsB : specsA)[k];
      const candidates = spec.masks.map((m) => Array.from(m.mask.data).join(''));
      for (const decode of [decodeLikeReferPy, decodeLikeAnnToMask]) {
        const decoded = Array.from(decode(ann.segmentation, image.height, image.width).data).join('');
        expect(candidates).toContain(decoded);
      }
    }
    // a mask with nested holes is one bridged polygon
    expect(instances.annotations[0].segmentation).toHaveLength(1);
  });

  it.skipIf(!HAS_PYCOCOTOOLS)(
    'decodes like the real pycocotools COCO.annToMask and refer.py getMask (skipped where pycocotools is not importable)',
    () => {
      const real = realDecode(out);
      const instances = JSON.parse(readFileSync(join(out, 'refcocog/instances.json'), 'utf8'));
      for (const ann of instances.annotations) {
        const image = instances.images.find((i: { id: number }) => i.id === ann.image_id);
        expect(real[ann.id].annToMask).toBe(
          Array.from(decodeLikeAnnToMask(ann.segmentation, image.height, image.width).data).join(''),
        );
        expect(real[ann.id].getMask).toBe(
          Array.from(decodeLikeReferPy(ann.segmentation, image.height, image.width).data).join(''),
        );
        expect(real[ann.id].area).toBe(ann.area);
      }
    },
  );

  it('records every resolved value, split counts, parts and merged id ranges, with no nulls', () => {
    const record = JSON.parse(readFileSync(join(out, 'export-record.json'), 'utf8'));
    expect(record.export).toMatchObject({
      format: 'refcoco',
      dataset: 'refcocog',
      splitBy: 'umd',
      split: 'train=0.6,val=0.2,test=0.2',
      splitSeed: 3,
      cocoNames: false,
      singleMask: { option: 'cos-top-half', policy: 'keep-by-cos-rank', share: 0.5 },
      maskRepresentation: { form: 'coco-polygons' },
      ids: { images: [1, 11], annotations: [1, 19], refs: [0, 18], sentences: [0, 28] },
    });
    expect(record.export.splits.map((s: { name: string }) => s.name)).toEqual(['train', 'val', 'test']);
    expect(record.export.splits.reduce((n: number, s: { refs: number }) => n + s.refs, 0)).toBe(19);
    expect(record.parts).toHaveLength(2);
    expect(JSON.stringify(record.export)).not.toContain('null');
  });

  it('leaves the earlier export intact when an append fails on a missing image', async () => {
    const projectC = await writeMaskProject(join(dir, 'c'), specs(2, 'green', 90));
    rmSync(join(dir, 'c', 'images', 'b.png'));
    const before = readFileSync(join(out, 'refcocog/instances.json'), 'utf8');
    const refsBefore = readFileSync(join(out, 'refcocog/refs(umd).p'));
    await expect(exportProject(projectC, { format: 'refcoco', out: '', appendTo: out })).rejects.toThrow(
      `image ${join(dir, 'c', 'images', 'b.png')} (id 2) is missing; it is needed for the export`,
    );
    expect(readFileSync(join(out, 'refcocog/instances.json'), 'utf8')).toBe(before);
    expect(readFileSync(join(out, 'refcocog/refs(umd).p')).equals(refsBefore)).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'export-record.json'), 'utf8')).parts).toHaveLength(2);
  });

  it('refuses to append another dataset, splitBy or format', async () => {
    await expect(
      exportProject(projectB, { format: 'refcoco', out: '', appendTo: out, dataset: 'refcoco' }),
    ).rejects.toThrow(`cannot append refcoco (splitBy unc) to ${out}: it holds refcocog (splitBy umd)`);
    await expect(
      exportProject(projectB, { format: 'refcoco', out: '', appendTo: out, splitBy: 'google' }),
    ).rejects.toThrow('it holds refcocog (splitBy umd)');
    await expect(exportProject(projectB, { format: 'cris', out: '', appendTo: out })).rejects.toThrow(
      `cannot append a cris export to ${out}: it is a refcoco export`,
    );
  });

  it('records each part’s own split spec, seed and counts, and the reference settings it differs in', () => {
    const record = JSON.parse(readFileSync(join(out, 'export-record.json'), 'utf8'));
    expect(record.parts.map((p: { split: string; splitSeed: number }) => [p.split, p.splitSeed])).toEqual([
      ['train=0.6,val=0.2,test=0.2', 3],
      ['train=0.6,val=0.2,test=0.2', 3],
    ]);
    const [a, b] = record.parts;
    expect(a.splits.reduce((n: number, s: { refs: number }) => n + s.refs, 0)).toBe(12);
    expect(b.splits.reduce((n: number, s: { refs: number }) => n + s.refs, 0)).toBe(7);
    expect(b.exported.map((i: { projectId: number }) => i.projectId)).toEqual([1, 2, 3, 4]);
    expect(record.referenceDifferences.referencePreset).toBe(false);
    expect(record.referenceDifferences.settingsDifferingFromReference).toContain(
      'filter.emptyMask: "drop" (reference: "random")',
    );
    expect(record.referenceDifferences.releasedCodeDifferences.length).toBeGreaterThan(3);
  });

  it('refuses to append a project whose images are already in the export, unless allowRepeat', async () => {
    const before = readFileSync(join(out, 'refcocog/instances.json'), 'utf8');
    await expect(exportProject(projectB, { format: 'refcoco', out: '', appendTo: out })).rejects.toThrow(
      `cannot append to ${out}: 4 of the 4 images to export (a.png, …) are already in part 2 (project ${projectB}), ` +
        'by content; give --allow-repeat to add them again',
    );
    expect(readFileSync(join(out, 'refcocog/instances.json'), 'utf8')).toBe(before);
    // allowed, and appended without split flags: the part says its own split; the export's split is per part
    await exportProject(projectB, { format: 'refcoco', out: '', appendTo: out, allowRepeat: true });
    const record = JSON.parse(readFileSync(join(out, 'export-record.json'), 'utf8'));
    expect(record.parts).toHaveLength(3);
    expect(record.parts[2]).toMatchObject({
      split: 'train',
      allowRepeat: true,
      counts: { images: 4, refs: 7 },
    });
    expect(record.export.split).toBe('per part (see parts[].split)');
  });
});

describe('a cris export split three ways, with a second project appended', () => {
  it('writes CRIS folder names, one JSON per split and a mask per fresh segment id', async () => {
    const out = join(dir, 'cris');
    await exportProject(projectA, { format: 'cris', out, split: 'train=0.6,val=0.2,test=0.2', review: null });
    await exportProject(projectB, {
      format: 'cris',
      out: '',
      appendTo: out,
      split: 'train=0.6,val=0.2,test=0.2',
    });
    const entries: Array<{ segment_id: number; img_name: string; img_id: number }> = [];
    for (const split of ['train', 'val', 'test']) {
      const list = JSON.parse(readFileSync(join(out, 'anns/refcocog_u', `${split}.json`), 'utf8'));
      expect(list.length).toBeGreaterThan(0);
      entries.push(...list);
    }
    expect(new Set(entries.map((e) => e.segment_id)).size).toBe(entries.length);
    for (const e of entries) {
      expect(existsSync(join(out, 'masks/refcocog_u', `${e.segment_id}.png`))).toBe(true);
      expect(existsSync(join(out, 'images/train2014', e.img_name))).toBe(true);
    }
    const first = entries.find((e) => e.segment_id === 0)!;
    const png = await readMaskPng(readFileSync(join(out, 'masks/refcocog_u/0.png')));
    expect(Array.from(png.data)).toEqual(Array.from(specsA[first.img_id - 1].masks[0].mask.data));
  });

  it('names the folder refcocog_g for splitBy google', async () => {
    const out = join(dir, 'cris-g');
    await exportProject(projectB, { format: 'cris', out, splitBy: 'google' });
    expect(existsSync(join(out, 'anns/refcocog_g/train.json'))).toBe(true);
    const record = JSON.parse(readFileSync(join(out, 'export-record.json'), 'utf8'));
    expect(record.export).toMatchObject({
      dataset: 'refcocog',
      splitBy: 'google',
      crisFolder: 'refcocog_g',
      split: 'train',
      splits: [{ name: 'train', share: 1, images: 4, refs: 7, expressions: 13 }],
      singleMask: { option: 'project', policy: 'keep-all', share: 0.5 },
      emptyMask: 'drop',
      maskRepresentation: 'png-0-255',
    });
  });
});

describe('a mask of more than 1,000 parts', () => {
  /** Sparse specks (seeded LCG): ~1,500 4-connected parts on 120×90. */
  function specks(width: number, height: number): BinaryMask {
    let state = 11;
    const data = new Uint8Array(width * height);
    for (let i = 0; i < data.length; i++) {
      state = (state * 1103515245 + 12345) % 2147483648;
      data[i] = state / 2147483648 < 0.2 ? 1 : 0;
    }
    return { width, height, data };
  }
  const mask = specks(120, 90);
  let out: string;
  beforeAll(async () => {
    const project = await writeMaskProject(join(dir, 'specks'), [
      {
        name: 'specks.png',
        width: 120,
        height: 90,
        colour: [30, 60, 90],
        masks: [{ mask, captions: [['the specks', null, 30]] }],
      },
    ]);
    out = join(dir, 'specks-export');
    await exportProject(project, { format: 'refcoco', out });
  });

  it('is one polygon that decodes to it under both decoders', () => {
    const instances = JSON.parse(readFileSync(join(out, 'refcocog/instances.json'), 'utf8'));
    const [ann] = instances.annotations;
    expect(ann.segmentation).toHaveLength(1);
    const expected = Array.from(mask.data).join('');
    expect(Array.from(decodeLikeReferPy(ann.segmentation, 90, 120).data).join('')).toBe(expected);
    expect(Array.from(decodeLikeAnnToMask(ann.segmentation, 90, 120).data).join('')).toBe(expected);
  });

  it.skipIf(!HAS_PYCOCOTOOLS)(
    'decodes under the real refer.py getMask (mask.area included) and annToMask (skipped where pycocotools is not importable)',
    () => {
      const [real] = Object.values(realDecode(out));
      const expected = Array.from(mask.data).join('');
      expect(real.getMask).toBe(expected);
      expect(real.annToMask).toBe(expected);
      expect(real.area).toBe(mask.data.reduce((n, v) => n + v, 0));
    },
  );
});

describe('the splits CRIS reads', () => {
  it('are the only ones the cris export writes, per dataset; the refcoco export warns about the others', async () => {
    const out = join(dir, 'cris-plus');
    await expect(
      exportProject(projectB, {
        format: 'cris',
        out,
        dataset: 'refcoco+',
        split: 'train=0.8,val=0.1,test=0.1',
      }),
    ).rejects.toThrow(
      'split train=0.8,val=0.1,test=0.1: CRIS has no "test" split for refcoco+ (its splits: train, val, testA, testB)',
    );
    expect(existsSync(out)).toBe(false);
    await expect(
      exportProject(projectB, { format: 'cris', out, splitBy: 'google', split: 'train=0.5,test=0.5' }),
    ).rejects.toThrow('CRIS has no "test" split for refcocog_g (its splits: train, val)');
    const ok = await exportProject(projectB, {
      format: 'cris',
      out,
      dataset: 'refcoco+',
      split: 'train=0.5,testA=0.25,testB=0.25',
    });
    expect(ok.warnings).toBeUndefined();
    const refcoco = await exportProject(projectB, {
      format: 'refcoco',
      out: join(dir, 'refcoco-plus'),
      dataset: 'refcoco+',
      split: 'train=0.5,test=0.5',
    });
    expect(refcoco.warnings).toEqual([
      'CRIS has no "test" split for refcoco+ (its splits: train, val, testA, testB): CRIS\'s data_process.py ' +
        'would drop those refs without a word (refer.py and LAVT read them)',
    ]);
    const record = JSON.parse(readFileSync(join(dir, 'refcoco-plus', 'export-record.json'), 'utf8'));
    expect(record.export.warnings).toEqual(refcoco.warnings);
  });
});

describe('COCO file names', () => {
  it('names images COCO_train2014_%012d.jpg after their image ids', async () => {
    const out = join(dir, 'coco-names');
    await exportProject(projectB, { format: 'refcoco', out, cocoNames: true });
    const instances = JSON.parse(readFileSync(join(out, 'refcocog/instances.json'), 'utf8'));
    expect(instances.images[0]).toMatchObject({ id: 1, file_name: 'COCO_train2014_000000000001.jpg' });
    expect(existsSync(join(out, 'images/mscoco/images/train2014/COCO_train2014_000000000004.jpg'))).toBe(
      true,
    );
  });
});

describe('split errors', () => {
  it('says when there are fewer images than splits', async () => {
    await expect(
      exportProject(projectB, {
        format: 'refcoco',
        out: join(dir, 'x'),
        split: 'train=0.2,val=0.2,testA=0.2,testB=0.2,test=0.2',
      }),
    ).rejects.toThrow(
      '4 image(s) with kept expressions cannot fill 5 splits (train, val, testA, testB, test)',
    );
  });
});
