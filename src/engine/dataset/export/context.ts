/**
 * What every exporter receives (one {@link ExportContext}) and the pieces they share: the kept expressions per mask,
 * RefCOCO tokens, and the atomic writer that places files and images under the export folder.
 */
import { copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { DatasetFormat as ExportFormat, SingleMaskOption } from '../../../shared/formats.ts';
import type { CandidateResult, ImageResult, MaskResult } from '../../../shared/results.ts';
import type { FilterSettings } from '../../../shared/settings.ts';
import { decideResult, reviewedText, type KeepPolicy, type ReviewInput } from '../../filter/index.ts';
import { assertWithin, writeFileAtomic, type Project } from '../../pipeline/index.ts';

/** Export formats: the dataset formats of shared/formats.ts. */
export {
  DATASET_FORMATS as EXPORT_FORMATS,
  type DatasetFormat as ExportFormat,
} from '../../../shared/formats.ts';

/** Single-mask policies an export can apply: shared/formats.ts. */
export { SINGLE_MASK_POLICIES, type SingleMaskOption } from '../../../shared/formats.ts';

/** Options of `exportProject`. */
export interface ExportOptions {
  format: ExportFormat;
  out: string;
  /** τ for this export (default: the project's). */
  tau?: number;
  /** refcoco/cris: dataset name refer.py accepts (default refcocog) and its splitBy (default: the dataset's first). */
  dataset?: string;
  splitBy?: string;
  /**
   * refcoco/cris: the split of every ref (`train`, the default) or a split by image, `train=0.8,val=0.1,test=0.1`
   * (names refer.py accepts: train, val, test, testA, testB, testC).
   */
  split?: string;
  /** Seed of the split by image (default: the project's seed). */
  splitSeed?: number;
  /** refcoco/cris: name images `COCO_train2014_%012d.jpg` after their (export) image id. */
  cocoNames?: boolean;
  /** Single-mask images: `cos-top-half` keeps the top half of a mask's captions by CoS (the reference's loader). */
  singleMask?: SingleMaskOption;
  /** refcoco/cris: add this project to the export in that folder (fresh ids, no file-name clash). */
  appendTo?: string;
  /**
   * A new export's `out` must be a new or empty folder; `overwrite` replaces a non-empty one whole (staged beside it
   * and renamed into place).
   */
  overwrite?: boolean;
  /** With `appendTo`: add images an earlier part already holds (same content hash); refused otherwise. */
  allowRepeat?: boolean;
  /**
   * refcoco/cris: export every kept caption of a mask, repeats included (the released loader samples from all of a
   * mask's captions, so a caption found by several crops or decodings weighs more); default each distinct one once.
   */
  keepDuplicates?: boolean;
  /** Called after each image. */
  onProgress?: (done: number, total: number) => void;
  /** Review to apply: default the project's `review.json` (when it has one); null exports without review. */
  review?: ReviewInput | null;
  /** The path policy (served mode): a real folder every written file must land in, re-checked before each rename. */
  within?: string;
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
  /** What the export wrote but a consumer may not read as meant (printed by the CLI, kept in the record). */
  warnings?: string[];
  /** refcoco/cris: images, refs and expressions per split, over the whole export (appended parts included). */
  splits?: Array<{ name: string; images: number; refs: number; expressions: number }>;
}

/** Everything an exporter needs, built once by `exportProject`. */
export interface ExportContext {
  project: Project;
  /** The project's done images, by id. */
  results: ImageResult[];
  /** The project's filter with this export's τ and single-mask policy (as export-record.json records it). */
  filter: FilterSettings;
  /** `filter` with the run's seed: what every exporter decides by (shared/decide.ts `keepPolicy`). */
  policy: KeepPolicy;
  review: ReviewInput | null;
  options: ExportOptions;
  writer: Writer;
  summary: ExportSummary;
  /** Resolved values for export-record.json's `export` section; exporters add theirs. */
  resolved: Record<string, unknown>;
}

/** An exporter: one per format. */
export type Exporter = (context: ExportContext) => Promise<void>;

/** One mask with its kept expressions at τ, as the RefCOCO/CRIS exports see it. */
export interface ExportRef {
  result: ImageResult;
  mask: MaskResult;
  sentences: string[];
  tokens: string[][];
}

/** The kept, exportable candidates of each mask of an image at τ, with the review applied (edited texts in `text`). */
export function keptByMask(
  result: ImageResult,
  policy: KeepPolicy,
  review?: ReviewInput | null,
): Map<number, CandidateResult[]> {
  const decisions = decideResult(result, policy, review);
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

/** The masks with at least one kept expression, with their distinct sentences in candidate order. */
export function collectRefs(context: ExportContext): ExportRef[] {
  const refs: ExportRef[] = [];
  for (const result of context.results) {
    const kept = keptByMask(result, context.policy, context.review);
    for (const mask of result.masks) {
      // in candidate order; identical captions from several crops count once unless keepDuplicates
      const texts = (kept.get(mask.index) ?? []).map((c) => c.text.trim()).filter((t) => t !== '');
      const sentences = context.options.keepDuplicates ? texts : [...new Set(texts)];
      if (sentences.length === 0) continue;
      refs.push({ result, mask, sentences, tokens: sentences.map(tokenize) });
    }
  }
  return refs;
}

/** A score as the reference CSV's eval() reads it: NaN/Infinity/null would not parse; a missing ratio counts as 0. */
export function finite(value: number | null): number {
  return value !== null && Number.isFinite(value) ? Number(value.toFixed(6)) : 0;
}

/** A CSV field, quoted when needed. */
export function csvField(value: string | number): string {
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A file name without its extension. */
export function stem(name: string): string {
  return name.replace(/\.[^.]+$/, '');
}

/** Writes files under the export folder atomically and records their relative paths. */
export class Writer {
  readonly root: string;
  private readonly files: string[];
  private readonly images = new Set<string>();

  constructor(
    root: string,
    files: string[],
    private readonly within?: string,
  ) {
    this.root = root;
    this.files = files;
  }

  /** Writes one file (temp + rename). */
  file(relative: string, data: string | Uint8Array): void {
    writeFileAtomic(join(this.root, relative), data, { within: this.within });
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
      writeFileAtomic(dest, await sharp(result.image.path).rotate().toBuffer(), { within: this.within });
      this.files.push(relative);
      return;
    }
    if (existsSync(dest) && sameBytes(dest, result.image.path)) {
      this.files.push(relative);
      return;
    }
    if (this.within) assertWithin(join(dest, '..'), this.within);
    mkdirSync(join(dest, '..'), { recursive: true });
    if (this.within) assertWithin(join(dest, '..'), this.within);
    const temp = `${dest}.${process.pid}.tmp`;
    try {
      linkSync(result.image.path, temp);
    } catch {
      copyFileSync(result.image.path, temp);
    }
    if (this.within) assertWithin(dest, this.within);
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
