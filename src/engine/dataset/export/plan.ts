/**
 * The shared plan of the RefCOCO and CRIS exports: dataset name and splitBy, the split of each image, fresh ids and
 * image file names — continuing an earlier export when appending (`appendTo`), so ids never repeat and file names
 * never clash, and refusing when the earlier export's format, dataset or splitBy differ.
 */
import { extname, join } from 'node:path';
import type { ImageRecord } from '../../../shared/results.ts';
import { collectRefs, stem, type ExportContext, type ExportRef, type Writer } from './context.ts';
import {
  assignSplits,
  cocoName,
  parseSplits,
  resolveDataset,
  type ReferDataset,
  type SplitShare,
} from './naming.ts';

/** Where appended images and the earlier export's images live (both layouts have it). */
export const IMAGE_DIR = join('images', 'train2014');

/** Inclusive id range; [0, -1] when empty. */
export type IdRange = [number, number];

/** Counts of one split. */
export interface SplitCount {
  name: string;
  share: number;
  images: number;
  refs: number;
  expressions: number;
}

/** What an export appended to says about itself (from its export-record.json). */
export interface PreviousExport {
  dir: string;
  record: ExportRecordFile;
  fileNames: Set<string>;
}

/** The parts of export-record.json that appending reads. */
export interface ExportRecordFile {
  export: {
    format: string;
    dataset?: string;
    splitBy?: string;
    splits?: SplitCount[];
    ids?: { images: IdRange; annotations: IdRange; refs: IdRange; sentences: IdRange };
  };
  parts?: unknown[];
  [key: string]: unknown;
}

/** A planned ref: its ids, image and split. */
export interface PlannedRef extends ExportRef {
  refId: number;
  annId: number;
  sentIds: number[];
  imageId: number;
  fileName: string;
  split: string;
}

/** A planned image. */
export interface PlannedImage {
  record: ImageRecord;
  id: number;
  fileName: string;
  split: string;
}

/** The plan of a RefCOCO/CRIS export. */
export interface DatasetPlan {
  dataset: ReferDataset;
  splitBy: string;
  splits: SplitShare[];
  splitSeed: number;
  refs: PlannedRef[];
  /** By project image id, in id order. */
  images: Map<number, PlannedImage>;
  previous: PreviousExport | null;
  /** This part's id ranges. */
  ids: { images: IdRange; annotations: IdRange; refs: IdRange; sentences: IdRange };
  /** Counts per split over the whole export (earlier parts included). */
  splitCounts: SplitCount[];
}

/**
 * Reads the export in the writer's folder for appending, refusing when it was not written with the same
 * format/dataset/splitBy. Read through the writer's opened folder: a file there that is a link is not followed.
 */
export function readPrevious(
  writer: Writer,
  format: string,
  dataset: string,
  splitBy: string,
): PreviousExport {
  const root = writer.root;
  const record = writer.readJson<ExportRecordFile>('export-record.json');
  if (!record)
    throw new Error(
      `cannot append to ${root}: it has no export-record.json (not a Pseudo-RIS Studio export)`,
    );
  const was = record.export ?? {};
  if (was.format !== format)
    throw new Error(`cannot append a ${format} export to ${root}: it is a ${was.format} export`);
  if (was.dataset !== dataset || was.splitBy !== splitBy)
    throw new Error(
      `cannot append ${dataset} (splitBy ${splitBy}) to ${root}: it holds ${was.dataset} (splitBy ${was.splitBy})`,
    );
  if (!was.ids || !was.splits)
    throw new Error(
      `cannot append to ${root}: its export-record.json has no id ranges (written by an older version)`,
    );
  const fileNames = new Set(writer.list(IMAGE_DIR));
  return { dir: root, record, fileNames };
}

/** Plans ids, splits and names for the dataset formats. */
export function planDataset(context: ExportContext): DatasetPlan {
  const { options } = context;
  const { dataset, splitBy } = resolveDataset(options.dataset, options.splitBy);
  const splits = parseSplits(options.split ?? 'train');
  const splitSeed = options.splitSeed ?? context.project.file.settings.seed;
  if (!Number.isInteger(splitSeed)) throw new Error(`--split-seed must be an integer, got ${splitSeed}`);
  const previous = options.appendTo ? readPrevious(context.writer, options.format, dataset, splitBy) : null;
  const prevIds = previous?.record.export.ids;
  // fresh ids continue after the earlier export's; without one, the project's image ids, ann ids from 1, refs from 0
  const imageBase = prevIds ? prevIds.images[1] : 0;
  const annBase = prevIds ? prevIds.annotations[1] + 1 : 1;
  const refBase = prevIds ? prevIds.refs[1] + 1 : 0;
  const sentBase = prevIds ? prevIds.sentences[1] + 1 : 0;

  const refs = collectRefs(context);
  const withRefs = [...new Map(refs.map((r) => [r.image.id, r.image])).values()];
  const splitOf = assignSplits(
    withRefs.map((r) => ({ key: r.id, sha256: r.sha256 })),
    splits,
    splitSeed,
  );
  const used = new Set(previous?.fileNames ?? []);
  const images = new Map<number, PlannedImage>();
  for (const record of withRefs) {
    const id = imageBase + record.id;
    let fileName = options.cocoNames ? cocoName(id) : record.name;
    if (used.has(fileName)) {
      if (options.cocoNames) throw new Error(`image file ${fileName} already exists in ${previous?.dir}`);
      const ext = extname(record.name);
      for (let k = 0; used.has(fileName); k++)
        fileName = `${stem(record.name)}_${id}${k > 0 ? `_${k}` : ''}${ext}`;
    }
    used.add(fileName);
    images.set(record.id, { record, id, fileName, split: splitOf.get(record.id)! });
  }
  let sentId = sentBase;
  const planned: PlannedRef[] = refs.map((ref, k) => {
    const image = images.get(ref.image.id)!;
    return {
      ...ref,
      refId: refBase + k,
      annId: annBase + k,
      sentIds: ref.sentences.map(() => sentId++),
      imageId: image.id,
      fileName: image.fileName,
      split: image.split,
    };
  });
  const range = (lo: number, hi: number): IdRange => (hi >= lo ? [lo, hi] : [0, -1]);
  const imageIds = [...images.values()].map((i) => i.id);
  const ids = {
    images: range(Math.min(...imageIds, Infinity), Math.max(...imageIds, -Infinity)),
    annotations: range(annBase, annBase + refs.length - 1),
    refs: range(refBase, refBase + refs.length - 1),
    sentences: range(sentBase, sentId - 1),
  };
  const splitCounts: SplitCount[] = [];
  const counts = (name: string, share: number): SplitCount => {
    let count = splitCounts.find((s) => s.name === name);
    if (!count) splitCounts.push((count = { name, share, images: 0, refs: 0, expressions: 0 }));
    return count;
  };
  for (const s of previous?.record.export.splits ?? []) Object.assign(counts(s.name, s.share), { ...s });
  for (const s of splits) counts(s.name, s.share);
  for (const image of images.values()) counts(image.split, 0).images++;
  for (const ref of planned) {
    counts(ref.split, 0).refs++;
    counts(ref.split, 0).expressions += ref.sentences.length;
  }
  return { dataset, splitBy, splits, splitSeed, refs: planned, images, previous, ids, splitCounts };
}

/** Merges this part's id ranges with the earlier export's. */
export function mergedIds(plan: DatasetPlan): DatasetPlan['ids'] {
  const prev = plan.previous?.record.export.ids;
  if (!prev) return plan.ids;
  const join2 = (a: IdRange, b: IdRange): IdRange =>
    a[1] < a[0] ? b : b[1] < b[0] ? a : [Math.min(a[0], b[0]), Math.max(a[1], b[1])];
  return {
    images: join2(prev.images, plan.ids.images),
    annotations: join2(prev.annotations, plan.ids.annotations),
    refs: join2(prev.refs, plan.ids.refs),
    sentences: join2(prev.sentences, plan.ids.sentences),
  };
}

/** The plan's resolved values for export-record.json. */
export function planRecord(plan: DatasetPlan, context: ExportContext): Record<string, unknown> {
  return {
    dataset: plan.dataset,
    splitBy: plan.splitBy,
    split:
      plan.splits.length === 1
        ? plan.splits[0].name
        : plan.splits.map((s) => `${s.name}=${s.share}`).join(','),
    splitSeed: plan.splitSeed,
    splits: plan.splitCounts,
    cocoNames: context.options.cocoNames ?? false,
    ids: mergedIds(plan),
    idsOfThisPart: plan.ids,
    appendedTo: plan.previous ? plan.previous.dir : false,
  };
}

/** The per-split counts an export summary reports (name, images, refs, expressions). */
export function splitSummaries(plan: Pick<DatasetPlan, 'splitCounts'>) {
  return plan.splitCounts.map(({ name, images, refs, expressions }) => ({ name, images, refs, expressions }));
}
