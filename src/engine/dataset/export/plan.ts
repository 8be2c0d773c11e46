/**
 * The shared plan of the RefCOCO and CRIS exports: dataset name and splitBy, the split of each image, fresh ids and
 * image file names — continuing an earlier export when appending (`appendTo`), so ids never repeat and file names
 * never clash, and refusing when the earlier export's format, dataset or splitBy differ.
 */
import { extname, join } from 'node:path';
import { crisFolderName, crisSplitMismatch } from '../../../shared/formats.ts';
import type { ImageRecord } from '../../../shared/results.ts';
import { scanLines } from '../../pipeline/index.ts';
import type { MaskResult } from '../../../shared/results.ts';
import {
  imageRefs,
  stem,
  tokenize,
  type ExportContext,
  type Exporter,
  type ExportRef,
  type Writer,
} from './context.ts';
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
  parts?: RecordPart[];
  project?: string;
  images?: Array<{ sha256?: string }>;
  [key: string]: unknown;
}

/** What appending reads of an earlier part of export-record.json. */
export interface RecordPart {
  project?: string;
  split?: string;
  splitSeed?: number;
  /** The images the part wrote (refcoco/cris parts since this version); else the project's images. */
  exported?: Array<{ sha256?: string }>;
  images?: Array<{ sha256?: string }>;
}

/** The parts of an earlier export, oldest first; a record without `parts` is its own first part. */
export function recordParts(record: ExportRecordFile): RecordPart[] {
  return record.parts ?? [{ project: record.project, images: record.images }];
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

/** A line of the refs scratch file: an image id and its refs' masks with their sentences. */
type ScratchLine = [number, Array<[MaskResult, string[]]>];

/** A planned image. */
export interface PlannedImage {
  record: ImageRecord;
  id: number;
  fileName: string;
  split: string;
  /** Its refs and their expressions. */
  refs: number;
  expressions: number;
}

/** The plan of a RefCOCO/CRIS export. */
export interface DatasetPlan {
  dataset: ReferDataset;
  splitBy: string;
  splits: SplitShare[];
  splitSeed: number;
  /**
   * The refs in export order (image id, then mask), with their ids, read back from a scratch file the first pass
   * wrote beside the export: the refs of a paper-size project are never held together, and the project's records
   * are decoded once.
   */
  refs(): Generator<PlannedRef>;
  refCount: number;
  /** Removes the scratch file (call once the refs are written, or on failure). */
  close(): void;
  /** By project image id, in id order (only images with refs). */
  images: Map<number, PlannedImage>;
  previous: PreviousExport | null;
  /** This part's id ranges. */
  ids: { images: IdRange; annotations: IdRange; refs: IdRange; sentences: IdRange };
  /** Counts per split over the whole export (earlier parts included). */
  splitCounts: SplitCount[];
  /** Counts per split of this part alone. */
  partSplitCounts: SplitCount[];
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

/** An exporter that plans the dataset, writes it with `write`, and removes the plan's scratch file whatever happens. */
export function datasetExporter(
  write: (context: ExportContext, plan: DatasetPlan) => Promise<void>,
): Exporter {
  return async (context) => {
    const plan = planDataset(context);
    try {
      await write(context, plan);
    } finally {
      plan.close();
    }
  };
}

/** Plans ids, splits and names for the dataset formats. */
export function planDataset(context: ExportContext): DatasetPlan {
  const { options } = context;
  const { dataset, splitBy } = resolveDataset(options.dataset, options.splitBy);
  const splits = parseSplits(options.split ?? 'train');
  checkCrisSplits(context, dataset, splitBy, splits);
  const splitSeed = options.splitSeed ?? context.project.file.settings.seed;
  if (!Number.isInteger(splitSeed)) throw new Error(`--split-seed must be an integer, got ${splitSeed}`);
  const previous = options.appendTo ? readPrevious(context.writer, options.format, dataset, splitBy) : null;
  const prevIds = previous?.record.export.ids;
  // fresh ids continue after the earlier export's; without one, the project's image ids, ann ids from 1, refs from 0
  const imageBase = prevIds ? prevIds.images[1] : 0;
  const annBase = prevIds ? prevIds.annotations[1] + 1 : 1;
  const refBase = prevIds ? prevIds.refs[1] + 1 : 0;
  const sentBase = prevIds ? prevIds.sentences[1] + 1 : 0;

  // first pass: which images have refs, and how many refs and expressions each; the refs go to a scratch file
  const withRefs: Array<{ record: ImageRecord; refs: number; expressions: number }> = [];
  let refCount = 0;
  let expressionCount = 0;
  const scratch = context.writer.stream('.refs-plan');
  try {
    for (const result of context.results) {
      const refs = imageRefs(result, context);
      if (refs.length === 0) continue;
      const expressions = refs.reduce((n, r) => n + r.sentences.length, 0);
      withRefs.push({ record: result.image, refs: refs.length, expressions });
      refCount += refs.length;
      expressionCount += expressions;
      const line: ScratchLine = [result.image.id, refs.map((r) => [r.mask, r.sentences])];
      scratch.write(`${JSON.stringify(line)}\n`);
    }
    scratch.flush();
    if (previous && !options.allowRepeat)
      refuseRepeat(
        previous,
        withRefs.map((w) => w.record),
      );
    return planFrom();
  } catch (error) {
    scratch.abort();
    throw error;
  }

  // the rest of the plan, inside the scratch file's try: a refusal below removes it too
  function planFrom(): DatasetPlan {
    const splitOf = assignSplits(
      withRefs.map(({ record }) => ({ key: record.id, sha256: record.sha256 })),
      splits,
      splitSeed,
    );
    const used = new Set(previous?.fileNames ?? []);
    const images = new Map<number, PlannedImage>();
    for (const { record, refs, expressions } of withRefs) {
      const id = imageBase + record.id;
      let fileName = options.cocoNames ? cocoName(id) : record.name;
      if (used.has(fileName)) {
        if (options.cocoNames) throw new Error(`image file ${fileName} already exists in ${previous?.dir}`);
        const ext = extname(record.name);
        for (let k = 0; used.has(fileName); k++)
          fileName = `${stem(record.name)}_${id}${k > 0 ? `_${k}` : ''}${ext}`;
      }
      used.add(fileName);
      images.set(record.id, { record, id, fileName, split: splitOf.get(record.id)!, refs, expressions });
    }
    // second pass, from the scratch file: the refs with their ids
    function* plannedRefs(): Generator<PlannedRef> {
      let k = 0;
      let sentId = sentBase;
      for (const { text } of scanLines(scratch.temp)) {
        const [imageId, refs] = JSON.parse(text) as ScratchLine;
        const image = images.get(imageId)!;
        for (const [mask, sentences] of refs) {
          yield {
            image: image.record,
            mask,
            sentences,
            tokens: sentences.map(tokenize),
            refId: refBase + k,
            annId: annBase + k,
            sentIds: sentences.map(() => sentId++),
            imageId: image.id,
            fileName: image.fileName,
            split: image.split,
          };
          k++;
        }
      }
    }
    const range = (lo: number, hi: number): IdRange => (hi >= lo ? [lo, hi] : [0, -1]);
    let minImage = Infinity;
    let maxImage = -Infinity;
    for (const image of images.values()) {
      minImage = Math.min(minImage, image.id);
      maxImage = Math.max(maxImage, image.id);
    }
    const ids = {
      images: range(minImage, maxImage),
      annotations: range(annBase, annBase + refCount - 1),
      refs: range(refBase, refBase + refCount - 1),
      sentences: range(sentBase, sentBase + expressionCount - 1),
    };
    const splitCounts: SplitCount[] = [];
    const counts = (name: string, share: number): SplitCount => {
      let count = splitCounts.find((s) => s.name === name);
      if (!count) splitCounts.push((count = { name, share, images: 0, refs: 0, expressions: 0 }));
      return count;
    };
    for (const s of previous?.record.export.splits ?? []) Object.assign(counts(s.name, s.share), { ...s });
    for (const s of splits) counts(s.name, s.share);
    const partSplitCounts = splits.map((s) => ({
      name: s.name,
      share: s.share,
      images: 0,
      refs: 0,
      expressions: 0,
    }));
    for (const image of images.values()) {
      for (const count of [counts(image.split, 0), partSplitCounts.find((s) => s.name === image.split)!]) {
        count.images++;
        count.refs += image.refs;
        count.expressions += image.expressions;
      }
    }
    return {
      dataset,
      splitBy,
      splits,
      splitSeed,
      refs: plannedRefs,
      refCount,
      close: () => scratch.abort(),
      images,
      previous,
      ids,
      splitCounts,
      partSplitCounts,
    };
  }
}

/**
 * The cris export refuses splits CRIS does not read for its folder, naming those it does; the refcoco export warns
 * (CRIS's `data_process.py` converts refer.py's files and would drop those refs without a word). refcoco splitBy
 * google and refclef are not CRIS inputs, so no warning there.
 */
function checkCrisSplits(
  context: ExportContext,
  dataset: ReferDataset,
  splitBy: string,
  splits: readonly SplitShare[],
): void {
  const mismatch = crisSplitMismatch(
    crisFolderName(dataset, splitBy),
    splits.map((s) => s.name),
  );
  if (!mismatch) return;
  if (context.options.format === 'cris') throw new Error(`split ${context.options.split}: ${mismatch}`);
  if (dataset === 'refclef' || (dataset === 'refcoco' && splitBy === 'google')) return;
  (context.summary.warnings ??= []).push(
    `${mismatch}: CRIS's data_process.py would drop those refs without a word (refer.py and LAVT read them)`,
  );
}

/**
 * Refuses to add images whose content (SHA-256) an earlier part already holds: appending the same project twice
 * would weigh its images double and could put one image in two splits.
 */
function refuseRepeat(previous: PreviousExport, images: readonly ImageRecord[]): void {
  recordParts(previous.record).forEach((part, k) => {
    const held = new Set((part.exported ?? part.images ?? []).map((i) => i.sha256));
    const repeated = images.filter((r) => held.has(r.sha256));
    if (repeated.length > 0)
      throw new Error(
        `cannot append to ${previous.dir}: ${repeated.length} of the ${images.length} images to export ` +
          `(${repeated[0].name}${repeated.length > 1 ? ', …' : ''}) are already in part ${k + 1} ` +
          `(project ${part.project ?? 'unknown'}), by content; give --allow-repeat to add them again`,
      );
  });
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

/** The plan's resolved values for export-record.json, with this part's own split, seed, counts and images. */
export function planRecord(plan: DatasetPlan, context: ExportContext): Record<string, unknown> {
  const split =
    plan.splits.length === 1 ? plan.splits[0].name : plan.splits.map((s) => `${s.name}=${s.share}`).join(',');
  // the export's split and seed are one value only while every part used the same; else each part says its own
  const was = plan.previous?.record.export as { split?: unknown; splitSeed?: unknown } | undefined;
  const same = !was || (was.split === split && was.splitSeed === plan.splitSeed);
  return {
    dataset: plan.dataset,
    splitBy: plan.splitBy,
    split: same ? split : 'per part (see parts[].split)',
    splitSeed: same ? plan.splitSeed : 'per part (see parts[].splitSeed)',
    splits: plan.splitCounts,
    cocoNames: context.options.cocoNames ?? false,
    keepDuplicates: context.options.keepDuplicates ?? false,
    ids: mergedIds(plan),
    appendedTo: plan.previous ? plan.previous.dir : false,
    thisPart: {
      split,
      splitSeed: plan.splitSeed,
      splits: plan.partSplitCounts,
      ids: plan.ids,
      allowRepeat: context.options.allowRepeat ?? false,
      exported: [...plan.images.values()].map((i) => ({
        id: i.id,
        projectId: i.record.id,
        fileName: i.fileName,
        split: i.split,
        sha256: i.record.sha256,
      })),
    },
  };
}

/** The per-split counts an export summary reports (name, images, refs, expressions). */
export function splitSummaries(plan: Pick<DatasetPlan, 'splitCounts'>) {
  return plan.splitCounts.map(({ name, images, refs, expressions }) => ({ name, images, refs, expressions }));
}
