/**
 * Dataset exports of a project (DESIGN.md §7, research/formats.md): RefCOCO (refer.py), CRIS/ETRIS, the
 * reference CSV, JSONL of every candidate, and the reference's per-image mask PNGs. Every export writes a
 * reproducibility record (`export-record.json`) beside its files; every file is written atomically (temp + rename).
 *
 * Which expressions are exported is decided from the stored scores at the export's τ and the project's review by the
 * shared rule (`shared/decide.ts`: accepted kept whatever τ says, rejected and deleted masks' candidates dropped), so
 * exporting at another τ recomputes nothing. Edited candidates are exported with the edited text (their scores stay
 * those of the generated text). Plain-sampling comparison candidates are never exported.
 */
import { copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { decodeRle, maskToPolygons, type BinaryMask } from '../image/index.ts';
import sharp from 'sharp';
import type { CandidateResult, ImageResult, MaskResult } from '../../shared/results.ts';
import { REFERENCE_DIFFERENCES, type FilterSettings, type Settings } from '../../shared/settings.ts';
import { decideResult, reviewedText, reviewMark, type ReviewInput } from '../filter/index.ts';
import { Project, writeFileAtomic } from '../pipeline/index.ts';
import { pickleDumps, type PickleValue } from './pickle.ts';
import { readProjectReview } from './review.ts';
import {
  DATASET_FORMATS as EXPORT_FORMATS,
  type DatasetFormat as ExportFormat,
} from '../../shared/formats.ts';

/** Export formats: the dataset formats of shared/formats.ts. */
export {
  DATASET_FORMATS as EXPORT_FORMATS,
  type DatasetFormat as ExportFormat,
} from '../../shared/formats.ts';

/** refer.py accepts only these dataset names (formats.md §1.1). */
export const REFER_DATASETS = ['refcoco', 'refcoco+', 'refcocog', 'refclef'] as const;

/** Options of {@link exportProject}. */
export interface ExportOptions {
  format: ExportFormat;
  out: string;
  /** τ for this export (default: the project's). */
  tau?: number;
  /** refcoco/cris: dataset name refer.py accepts (default refcocog) and its splitBy (default umd). */
  dataset?: (typeof REFER_DATASETS)[number];
  splitBy?: string;
  /** The split written for every ref (default train: pseudo-supervision is training data). */
  split?: string;
  /** Called after each image. */
  onProgress?: (done: number, total: number) => void;
  /** Review to apply: default the project's `review.json` (when it has one); null exports without review. */
  review?: ReviewInput | null;
}

/** What an export wrote. */
export interface ExportSummary {
  format: ExportFormat;
  dest: string;
  files: string[];
  images: number;
  refs: number;
  expressions: number;
  tau: number;
}

/** One mask with its kept expressions at τ, as the RefCOCO/CRIS exports see it. */
interface ExportRef {
  result: ImageResult;
  mask: MaskResult;
  sentences: string[];
  tokens: string[][];
}

/** Exports a project in one format into `options.out`. */
export async function exportProject(projectDir: string, options: ExportOptions): Promise<ExportSummary> {
  const project = Project.open(projectDir);
  const tau = options.tau ?? project.file.settings.filter.tau;
  if (!Number.isFinite(tau)) throw new Error(`--tau must be a number, got ${options.tau}`);
  if (!(EXPORT_FORMATS as readonly string[]).includes(options.format)) {
    throw new Error(
      `unknown export format "${options.format}": expected one of ${EXPORT_FORMATS.join(', ')}`,
    );
  }
  const filter: FilterSettings = { ...project.file.settings.filter, tau };
  const out = resolve(options.out);
  mkdirSync(out, { recursive: true });
  const results = project
    .results()
    .filter((r) => r.status === 'done')
    .sort((a, b) => a.image.id - b.image.id);
  const summary: ExportSummary = {
    format: options.format,
    dest: out,
    files: [],
    images: 0,
    refs: 0,
    expressions: 0,
    tau,
  };
  options = {
    ...options,
    review: options.review === undefined ? readProjectReview(projectDir) : options.review,
  };
  const writer = new Writer(out, summary.files);
  switch (options.format) {
    case 'refcoco':
      await exportRefcoco(results, filter, options, writer, summary);
      break;
    case 'cris':
      await exportCris(results, filter, options, writer, summary);
      break;
    case 'csv':
      await exportCsv(results, filter, writer, summary, options);
      break;
    case 'jsonl':
      exportJsonl(results, filter, writer, summary, options);
      break;
    case 'masks':
      await exportMasks(results, writer, 'masks', summary, options);
      break;
  }
  writeRecord(project, options, filter, writer, summary);
  return summary;
}

/** The kept, exportable candidates of each mask of an image at τ, with the review applied (edited texts in `text`). */
export function keptByMask(
  result: ImageResult,
  filter: FilterSettings,
  review?: ReviewInput | null,
): Map<number, CandidateResult[]> {
  const decisions = decideResult(result, filter, review);
  const kept = new Map<number, CandidateResult[]>();
  result.candidates.forEach((c, k) => {
    if (!decisions[k].kept || c.comparison) return;
    const list = kept.get(c.mask) ?? [];
    list.push({ ...c, text: reviewedText(result.image.id, c, review).text });
    kept.set(c.mask, list);
  });
  return kept;
}

/** Lower-case word tokens as RefCOCO stores them (`tokens`). */
export function tokenize(sentence: string): string[] {
  return sentence.toLowerCase().match(/[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu) ?? [];
}

function collectRefs(
  results: readonly ImageResult[],
  filter: FilterSettings,
  review?: ReviewInput | null,
): ExportRef[] {
  const refs: ExportRef[] = [];
  for (const result of results) {
    const kept = keptByMask(result, filter, review);
    for (const mask of result.masks) {
      // distinct sentences per ref, in candidate order (identical captions from several crops count once)
      const sentences = [
        ...new Set((kept.get(mask.index) ?? []).map((c) => c.text.trim()).filter((t) => t !== '')),
      ];
      if (sentences.length === 0) continue;
      refs.push({ result, mask, sentences, tokens: sentences.map(tokenize) });
    }
  }
  return refs;
}

async function exportRefcoco(
  results: readonly ImageResult[],
  filter: FilterSettings,
  options: ExportOptions,
  writer: Writer,
  summary: ExportSummary,
): Promise<void> {
  const dataset = checkDataset(options.dataset ?? 'refcocog');
  const splitBy = options.splitBy ?? (dataset === 'refcocog' ? 'umd' : 'unc');
  const split = checkSplit(options.split ?? 'train');
  const refs = collectRefs(results, filter, options.review);
  const images = new Map<number, ImageResult>();
  const annotations: Record<string, unknown>[] = [];
  const pickleRefs: PickleValue[] = [];
  let sentId = 0;
  refs.forEach((ref, refId) => {
    const annId = refId + 1;
    images.set(ref.result.image.id, ref.result);
    annotations.push({
      id: annId,
      image_id: ref.result.image.id,
      category_id: 1,
      iscrowd: 0,
      area: ref.mask.area,
      bbox: ref.mask.bbox,
      segmentation: segmentation(ref.mask),
    });
    const sentIds = ref.sentences.map(() => sentId++);
    pickleRefs.push({
      sent_ids: sentIds,
      file_name: `${stem(ref.result.image.name)}_${ref.mask.index}.jpg`,
      ann_id: annId,
      ref_id: refId,
      image_id: ref.result.image.id,
      split,
      sentences: ref.sentences.map((sent, k) => ({
        tokens: ref.tokens[k],
        raw: sent,
        sent_id: sentIds[k],
        sent: ref.tokens[k].join(' '),
      })),
      category_id: 1,
    });
    summary.expressions += ref.sentences.length;
  });
  const instances = {
    info: { description: 'Pseudo-RIS Studio pseudo-supervision', version: '1' },
    images: [...images.values()].map((r) => ({
      id: r.image.id,
      file_name: r.image.name,
      height: r.image.height,
      width: r.image.width,
    })),
    annotations,
    categories: [{ id: 1, name: 'object', supercategory: 'object' }],
  };
  writer.file(join(dataset, `refs(${splitBy}).p`), pickleDumps(pickleRefs));
  writer.file(join(dataset, 'instances.json'), JSON.stringify(instances));
  // refer.py / LAVT read images/mscoco/images/train2014; CRIS/ETRIS's copy reads images/train2014 (formats.md §1.1)
  await writeImages(images, [join('images', 'mscoco', 'images', 'train2014'), join('images', 'train2014')], {
    writer,
    summary,
    options,
  });
  summary.refs = refs.length;
}

async function exportCris(
  results: readonly ImageResult[],
  filter: FilterSettings,
  options: ExportOptions,
  writer: Writer,
  summary: ExportSummary,
): Promise<void> {
  const dataset = checkDataset(options.dataset ?? 'refcocog');
  const split = checkSplit(options.split ?? 'train');
  const refs = collectRefs(results, filter, options.review);
  let sentId = 0;
  const entries = [];
  for (const [refId, ref] of refs.entries()) {
    const [x, y, w, h] = ref.mask.bbox;
    entries.push({
      bbox: [Math.trunc(x), Math.trunc(y), Math.trunc(x) + Math.trunc(w), Math.trunc(y) + Math.trunc(h)],
      cat: 0,
      segment_id: refId,
      img_name: ref.result.image.name,
      img_id: ref.result.image.id,
      sentences: ref.sentences.map((sent, idx) => ({
        idx,
        sent_id: sentId++,
        sent: ref.tokens[idx].join(' '),
      })),
      sentences_num: ref.sentences.length,
    });
    writer.file(join('masks', dataset, `${refId}.png`), await encodeMaskPng(decodeRle(ref.mask.rle)));
    summary.expressions += ref.sentences.length;
  }
  writer.file(join('anns', dataset, `${split}.json`), JSON.stringify(entries));
  const images = new Map(refs.map((r) => [r.result.image.id, r.result]));
  await writeImages(images, [join('images', 'train2014')], { writer, summary, options });
  summary.refs = refs.length;
}

/** Copies every referenced image into each of `folders`, counting and reporting progress per image. */
async function writeImages(
  images: Map<number, ImageResult>,
  folders: string[],
  target: { writer: Writer; summary: ExportSummary; options: ExportOptions },
): Promise<void> {
  const { writer, summary, options } = target;
  for (const result of images.values()) {
    for (const folder of folders) await writer.image(result, join(folder, result.image.name));
    summary.images++;
    options.onProgress?.(summary.images, images.size);
  }
}

/**
 * The reference CSV (formats.md §2.5): one row per mask with all its captions and their DoS (`doc`); with one mask
 * the CoS instead and `one_mask = 1`. The reference filters by `doc > doc_value` when it loads, so every
 * non-comparison caption is written; pass the export's τ as `doc_value`. Masks go to `pseudo_masks/<img_id>/<seg_id>.png`.
 * Review: rejected candidates and deleted masks are left out, edited texts replace generated ones. The CSV's own
 * filter runs when the reference loads it, so an accepted candidate below τ is written but only counted here.
 */
async function exportCsv(
  results: readonly ImageResult[],
  filter: FilterSettings,
  writer: Writer,
  summary: ExportSummary,
  options: ExportOptions,
): Promise<void> {
  const header = ['index', 'img_name', 'img_id', 'seg_id', 'num_sent', 'pseudo_caption', 'doc', 'one_mask'];
  const rows: string[] = [header.join(',')];
  let index = 0;
  for (const result of results) {
    const oneMask = result.masks.length === 1 ? 1 : 0;
    const decisions = decideResult(result, filter, options.review);
    for (const mask of result.masks) {
      const candidates = result.candidates.filter(
        (c) =>
          c.mask === mask.index &&
          !c.comparison &&
          !(['rejected', 'mask-deleted'] as const).some(
            (m) => m === reviewMark(options.review, result.image.id, c.mask, c.index),
          ),
      );
      if (candidates.length === 0) continue;
      const captions = candidates.map((c) => reviewedText(result.image.id, c, options.review).text);
      const doc = candidates.map((c) => finite(oneMask ? c.scores.cos : c.scores.dos));
      rows.push(
        [
          index++,
          result.image.name,
          result.image.id,
          mask.index,
          captions.length,
          JSON.stringify(captions),
          JSON.stringify(doc),
          oneMask,
        ]
          .map(csvField)
          .join(','),
      );
      summary.expressions += decisions.filter((d) => d.kept && d.mask === mask.index).length;
      summary.refs++;
    }
  }
  writer.file('pseudo_supervision.csv', `${rows.join('\n')}\n`);
  await exportMasks(results, writer, 'pseudo_masks', summary, options);
}

function exportJsonl(
  results: readonly ImageResult[],
  filter: FilterSettings,
  writer: Writer,
  summary: ExportSummary,
  options: ExportOptions,
): void {
  const lines: string[] = [];
  for (const result of results) {
    const decisions = decideResult(result, filter, options.review);
    result.candidates.forEach((c, k) => {
      const { text, edited } = reviewedText(result.image.id, c, options.review);
      lines.push(
        JSON.stringify({
          image_id: result.image.id,
          img_name: result.image.name,
          mask: c.mask,
          candidate: c.index,
          crop: c.cropKey,
          setting: c.settingKey,
          method: c.method,
          seed: c.seed,
          stream: c.streamId ?? null,
          // an edited candidate carries the reviewer's text; tokens and scores are those of the generated text
          text,
          edited,
          ...(edited ? { generated_text: c.text } : {}),
          review: reviewMark(options.review, result.image.id, c.mask, c.index),
          tokens: c.tokens,
          uos: c.scores.uos,
          cos: c.scores.cos,
          dos: c.scores.dos,
          theta: c.scores.theta,
          confused_with: c.scores.confusedWith,
          head_noun: c.scores.headNoun,
          comparison: c.comparison,
          kept: decisions[k].kept,
          reason: decisions[k].reason,
        }),
      );
      if (decisions[k].kept) summary.expressions++;
    });
    summary.images++;
  }
  writer.file('candidates.jsonl', lines.length > 0 ? `${lines.join('\n')}\n` : '');
}

/** The reference's mask layout: `<dir>/<img_id>/<seg_id>.png`, 0/255, non-empty masks numbered from 0. */
async function exportMasks(
  results: readonly ImageResult[],
  writer: Writer,
  dir: string,
  summary: ExportSummary,
  options: ExportOptions,
): Promise<void> {
  let done = 0;
  for (const result of results) {
    for (const mask of result.masks) {
      writer.file(
        join(dir, String(result.image.id), `${mask.index}.png`),
        await encodeMaskPng(decodeRle(mask.rle)),
      );
    }
    if (summary.format === 'masks') summary.refs += result.masks.length;
    options.onProgress?.(++done, results.length);
  }
  summary.images = results.length;
}

function writeRecord(
  project: Project,
  options: ExportOptions,
  filter: FilterSettings,
  writer: Writer,
  summary: ExportSummary,
): void {
  const settings: Settings = { ...project.file.settings, filter };
  const record = {
    format: 'pseudo-ris-export',
    version: 1,
    export: {
      format: options.format,
      dataset: options.dataset ?? null,
      splitBy: options.splitBy ?? null,
      split: options.split ?? null,
      tau: filter.tau,
    },
    created: new Date().toISOString(),
    project: project.dir,
    images: project.file.images.map((i) => ({ id: i.id, name: i.name, sha256: i.sha256 })),
    settings,
    seed: settings.seed,
    // what a reference-preset run still does differently from the released code (shared/settings.ts)
    referenceDifferences: settings.preset === 'reference' ? REFERENCE_DIFFERENCES : null,
    pack: project.file.pack ?? null,
    versions: { ...project.file.versions, node: process.versions.node },
    counts: { images: summary.images, refs: summary.refs, expressions: summary.expressions },
    // the review applied (accepted kept whatever τ says, rejected and deleted masks dropped, edits' texts written)
    review: options.review
      ? {
          accepted: Object.values(options.review.decisions).filter((d) => d === 'accepted').length,
          rejected: Object.values(options.review.decisions).filter((d) => d === 'rejected').length,
          edited: Object.keys(options.review.edits).length,
          deletedMasks: options.review.deletedMasks.length,
        }
      : null,
  };
  writer.file('export-record.json', `${JSON.stringify(record, null, 2)}\n`);
}

/** COCO segmentation: polygons when they reproduce the mask exactly, else `[compressed RLE]` (refer.py's form). */
function segmentation(mask: MaskResult): unknown {
  const binary = decodeRle(mask.rle);
  const traced = maskToPolygons(binary);
  // polygons of < 3 points are read as boxes by pycocotools; fall back to RLE for such parts too
  if (traced.exact && traced.polygons.length > 0 && traced.polygons.every((p) => p.length >= 6))
    return traced.polygons;
  return [{ size: mask.rle.size, counts: mask.rle.counts }];
}

/** A mask as a single-channel 8-bit PNG with values 0/255, image-sized (formats.md §2.2: what cv2 reads as grey). */
export async function encodeMaskPng(mask: BinaryMask): Promise<Buffer> {
  const pixels = Buffer.alloc(mask.data.length);
  for (let i = 0; i < pixels.length; i++) pixels[i] = mask.data[i] !== 0 ? 255 : 0;
  return sharp(pixels, { raw: { width: mask.width, height: mask.height, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toBuffer();
}

function checkDataset(name: string): (typeof REFER_DATASETS)[number] {
  if (!(REFER_DATASETS as readonly string[]).includes(name)) {
    throw new Error(
      `dataset "${name}" is not one refer.py accepts (${REFER_DATASETS.join(', ')}); the RIS code exits on other names`,
    );
  }
  return name as (typeof REFER_DATASETS)[number];
}

function checkSplit(split: string): string {
  // refer.py's getRefIds accepts train, val, test and testA/B/C; other names make it exit (formats.md §1.2)
  if (!/^(train|val|test|testA|testB|testC)$/.test(split))
    throw new Error(`split "${split}" is not one refer.py accepts (train, val, test, testA, testB, testC)`);
  return split;
}

function finite(value: number | null): number {
  // the reference CSV is read with eval(): NaN/Infinity/null would not parse; a missing ratio counts as 0
  return value !== null && Number.isFinite(value) ? Number(value.toFixed(6)) : 0;
}

function csvField(value: string | number): string {
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function stem(name: string): string {
  return name.replace(/\.[^.]+$/, '');
}

/** Writes files under the export folder atomically and records their relative paths. */
class Writer {
  private readonly root: string;
  private readonly files: string[];
  private readonly images = new Set<string>();

  constructor(root: string, files: string[]) {
    this.root = root;
    this.files = files;
  }

  file(relative: string, data: string | Uint8Array): void {
    writeFileAtomic(join(this.root, relative), data);
    this.files.push(relative);
  }

  /**
   * Places an image once per destination: its original bytes (hard link when possible, else a copy), or — when its
   * EXIF orientation is not 1 — the upright pixels re-encoded in the same format, because the masks are upright and
   * RIS loaders that ignore EXIF (PIL) would otherwise see them rotated against the image.
   */
  async image(result: ImageResult, relative: string): Promise<void> {
    if (this.images.has(relative)) return;
    this.images.add(relative);
    const dest = join(this.root, relative);
    if (!existsSync(result.image.path))
      throw new Error(
        `image ${result.image.path} (id ${result.image.id}) is missing; it is needed for the export`,
      );
    const orientation = (await sharp(result.image.path).metadata()).orientation ?? 1;
    if (orientation !== 1) {
      writeFileAtomic(dest, await sharp(result.image.path).rotate().toBuffer());
      this.files.push(relative);
      return;
    }
    if (existsSync(dest) && sameBytes(dest, result.image.path)) {
      this.files.push(relative);
      return;
    }
    mkdirSync(join(dest, '..'), { recursive: true });
    const temp = `${dest}.${process.pid}.tmp`;
    try {
      linkSync(result.image.path, temp);
    } catch {
      copyFileSync(result.image.path, temp);
    }
    renameSync(temp, dest);
    this.files.push(relative);
  }
}

function sameBytes(a: string, b: string): boolean {
  try {
    return readFileSync(a).equals(readFileSync(b));
  } catch {
    return false;
  }
}
