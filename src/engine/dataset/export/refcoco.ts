/**
 * RefCOCO as refer.py reads it (formats.md §1): `<dataset>/refs(<splitBy>).p` (protocol-2 pickle) and
 * `<dataset>/instances.json`, images under `images/mscoco/images/train2014` (refer.py, LAVT) and `images/train2014`
 * (CRIS's copy of refer). Segmentations are COCO polygons both refer.py and pycocotools decode exactly
 * (`segmentation.ts`). Appending reads the earlier export's pickle and instances back and writes the union.
 */
import { join } from 'node:path';
import { decodeRle } from '../../image/index.ts';
import { pickleDumps, pickleLoads, type PickleValue } from '../pickle.ts';
import type { ExportContext } from './context.ts';
import { IMAGE_DIR, planDataset, planRecord, splitSummaries } from './plan.ts';
import { cocoSegmentation, MASK_REPRESENTATION } from './segmentation.ts';

interface Instances {
  info: Record<string, unknown>;
  images: Array<{ id: number; file_name: string; height: number; width: number }>;
  annotations: Array<Record<string, unknown>>;
  categories: Array<Record<string, unknown>>;
}

/** Writes the RefCOCO layout. */
export async function exportRefcoco(context: ExportContext): Promise<void> {
  const { writer, summary } = context;
  const plan = planDataset(context);
  const refsFile = join(plan.dataset, `refs(${plan.splitBy}).p`);
  const instancesFile = join(plan.dataset, 'instances.json');
  let pickleRefs: PickleValue[] = [];
  let instances: Instances = {
    info: { description: 'Pseudo-RIS Studio pseudo-supervision', version: '1' },
    images: [],
    annotations: [],
    categories: [{ id: 1, name: 'object', supercategory: 'object' }],
  };
  if (plan.previous) {
    // read through the writer's opened folder: a file there that is a link out counts as missing
    const dir = plan.previous.dir;
    const missing = (f: string) => new Error(`cannot append to ${dir}: ${f} is missing`);
    const pickled = writer.read(refsFile);
    if (!pickled) throw missing(refsFile);
    instances = writer.readJson<Instances>(instancesFile) ?? throwError(missing(instancesFile));
    pickleRefs = pickleLoads(pickled) as PickleValue[];
  }
  for (const ref of plan.refs) {
    const what = `image ${ref.image.id} (${ref.image.name}) mask ${ref.mask.index}`;
    instances.annotations.push({
      id: ref.annId,
      image_id: ref.imageId,
      category_id: 1,
      iscrowd: 0,
      area: ref.mask.area,
      bbox: ref.mask.bbox,
      segmentation: cocoSegmentation(decodeRle(ref.mask.rle), what),
    });
    pickleRefs.push({
      sent_ids: ref.sentIds,
      file_name: `${ref.fileName.replace(/\.[^.]+$/, '')}_${ref.annId}.jpg`,
      ann_id: ref.annId,
      ref_id: ref.refId,
      image_id: ref.imageId,
      split: ref.split,
      sentences: ref.sentences.map((sent, k) => ({
        tokens: ref.tokens[k],
        raw: sent,
        sent_id: ref.sentIds[k],
        sent: ref.tokens[k].join(' '),
      })),
      category_id: 1,
    });
    summary.expressions += ref.sentences.length;
  }
  for (const image of plan.images.values()) {
    instances.images.push({
      id: image.id,
      file_name: image.fileName,
      height: image.record.height,
      width: image.record.width,
    });
  }
  // refer.py / LAVT read images/mscoco/images/train2014; CRIS/ETRIS's copy reads images/train2014 (formats.md §1.1)
  let done = 0;
  for (const image of plan.images.values()) {
    for (const folder of [join('images', 'mscoco', 'images', 'train2014'), IMAGE_DIR])
      await writer.image(image.record, join(folder, image.fileName));
    summary.images++;
    context.options.onProgress?.(++done, plan.images.size);
  }
  // the index files last: an export that fails on an image (or an append that does) keeps its earlier index intact
  writer.file(refsFile, pickleDumps(pickleRefs));
  writer.file(instancesFile, JSON.stringify(instances));
  summary.refs = plan.refs.length;
  summary.splits = splitSummaries(plan);
  Object.assign(context.resolved, planRecord(plan, context), { maskRepresentation: MASK_REPRESENTATION });
}

function throwError(error: Error): never {
  throw error;
}
