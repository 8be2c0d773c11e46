/**
 * RefCOCO as refer.py reads it (formats.md §1): `<dataset>/refs(<splitBy>).p` (protocol-2 pickle) and
 * `<dataset>/instances.json`, images under `images/mscoco/images/train2014` (refer.py, LAVT) and `images/train2014`
 * (CRIS's copy of refer). Segmentations are COCO polygons both refer.py and pycocotools decode exactly
 * (`segmentation.ts`). Appending reads the earlier export's pickle and instances back and writes the union.
 */
import { join } from 'node:path';
import { decodeRle } from '../../image/index.ts';
import { pickleListBody, PickleListWriter } from '../pickle.ts';
import type { ExportContext, StreamedFile } from './context.ts';
import {
  IMAGE_DIR,
  datasetExporter,
  planRecord,
  splitSummaries,
  type DatasetPlan,
  type PlannedRef,
} from './plan.ts';
import { cocoSegmentation, MASK_REPRESENTATION } from './segmentation.ts';

/** What `instances.json` holds; written key by key in this order, as `JSON.stringify` of the object would. */
interface Instances {
  info: Record<string, unknown>;
  images: Array<{ id: number; file_name: string; height: number; width: number }>;
  annotations: Array<Record<string, unknown>>;
  categories: Array<Record<string, unknown>>;
  [key: string]: unknown;
}

/**
 * Writes the RefCOCO layout. The pickle and `instances.json` are streamed ref by ref to temp files that replace the
 * index only after every image is placed (an export or append that fails keeps its earlier index intact), byte for
 * byte what building both whole wrote.
 */
export const exportRefcoco = datasetExporter(writeRefcoco);

async function writeRefcoco(context: ExportContext, plan: DatasetPlan): Promise<void> {
  const { writer, summary } = context;
  const refsFile = join(plan.dataset, `refs(${plan.splitBy}).p`);
  const instancesFile = join(plan.dataset, 'instances.json');
  let earlier: { pickle: Uint8Array; instances: Instances } | null = null;
  if (plan.previous) {
    // read through the writer's opened folder: a file there that is a link out counts as missing
    const dir = plan.previous.dir;
    const missing = (f: string) => new Error(`cannot append to ${dir}: ${f} is missing`);
    const pickle = writer.read(refsFile) ?? throwError(missing(refsFile));
    const instances = writer.readJson<Instances>(instancesFile) ?? throwError(missing(instancesFile));
    earlier = { pickle, instances };
  }
  const refsOut = writer.stream(refsFile);
  let instancesOut: StreamedFile | null = null;
  try {
    instancesOut = writer.stream(instancesFile);
    const pickle = new PickleListWriter((bytes) => refsOut.write(bytes));
    if (earlier) {
      const { body, count } = pickleListBody(earlier.pickle);
      pickle.items(body, count);
    }
    writeInstances(instancesOut, earlier?.instances ?? null, plan, (ref) => {
      pickle.item({
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
    });
    pickle.end();
    // refer.py / LAVT read images/mscoco/images/train2014; CRIS/ETRIS's copy reads images/train2014 (formats.md §1.1)
    let done = 0;
    for (const image of plan.images.values()) {
      const folders = [join('images', 'mscoco', 'images', 'train2014'), IMAGE_DIR];
      await writer.image(
        image.record,
        folders.map((folder) => join(folder, image.fileName)),
      );
      summary.images++;
      context.options.onProgress?.(++done, plan.images.size);
    }
  } catch (error) {
    refsOut.abort();
    instancesOut?.abort();
    throw error;
  }
  // the index files last
  refsOut.commit();
  instancesOut.commit();
  summary.refs = plan.refCount;
  summary.splits = splitSummaries(plan);
  Object.assign(context.resolved, planRecord(plan, context), { maskRepresentation: MASK_REPRESENTATION });
}

/**
 * Streams `instances.json`: the earlier export's keys in their order (ours: info, images, annotations, categories),
 * this part's images and annotations after the earlier ones. `onRef` sees each ref as its annotation is written.
 */
function writeInstances(
  out: StreamedFile,
  earlier: Instances | null,
  plan: DatasetPlan,
  onRef: (ref: PlannedRef) => void,
): void {
  const base: Instances = earlier ?? {
    info: { description: 'Pseudo-RIS Studio pseudo-supervision', version: '1' },
    images: [],
    annotations: [],
    categories: [{ id: 1, name: 'object', supercategory: 'object' }],
  };
  for (const key of ['images', 'annotations'] as const)
    if (!Array.isArray(base[key]))
      throw new Error(`cannot append to ${plan.previous?.dir}: instances.json has no ${key} list`);
  const keys = Object.keys(base);
  let separator = '';
  const element = (value: unknown) => {
    out.write(separator + JSON.stringify(value));
    separator = ',';
  };
  out.write('{');
  keys.forEach((key, k) => {
    out.write(`${k > 0 ? ',' : ''}${JSON.stringify(key)}:`);
    if (key !== 'images' && key !== 'annotations') return out.write(JSON.stringify(base[key]));
    out.write('[');
    separator = '';
    for (const item of base[key]) element(item);
    if (key === 'images')
      for (const image of plan.images.values())
        element({
          id: image.id,
          file_name: image.fileName,
          height: image.record.height,
          width: image.record.width,
        });
    else
      for (const ref of plan.refs()) {
        const what = `image ${ref.image.id} (${ref.image.name}) mask ${ref.mask.index}`;
        element({
          id: ref.annId,
          image_id: ref.imageId,
          category_id: 1,
          iscrowd: 0,
          area: ref.mask.area,
          bbox: ref.mask.bbox,
          segmentation: cocoSegmentation(decodeRle(ref.mask.rle), what),
        });
        onRef(ref);
      }
    out.write(']');
  });
  out.write('}');
}

function throwError(error: Error): never {
  throw error;
}
