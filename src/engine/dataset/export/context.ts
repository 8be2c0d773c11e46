/**
 * What every exporter receives (one {@link ExportContext}) and the pieces they share: the kept expressions per mask,
 * RefCOCO tokens, and the atomic writer that places files and images under the export folder.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, renameSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import sharp from 'sharp';
import type { DatasetFormat as ExportFormat, SingleMaskOption } from '../../../shared/formats.ts';
import type { CandidateResult, ImageRecord, ImageResult, MaskResult } from '../../../shared/results.ts';
import { jsonSyntaxReason, type FilterSettings } from '../../../shared/settings.ts';
import { decideResult, reviewedText, type KeepPolicy, type ReviewInput } from '../../filter/index.ts';
import { writeAll, type Project } from '../../pipeline/index.ts';
import { ConfinedDir, openConfined, type ConfinedFile, type Contains } from '../../runtime/index.ts';

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
  /** The caption text written: overrides the project's `filter.captionText` (shared/settings.ts). */
  captionText?: FilterSettings['captionText'];
  /** Review to apply: default the project's `review.json` (when it has one); null exports without review. */
  review?: ReviewInput | null;
  /**
   * The path policy (served mode): a real folder every written file must land in; the export works inside opened,
   * checked folder handles below it (runtime/safe-fs.ts).
   */
  within?: string;
  /**
   * Which real paths images may be read from (served mode: the open session's folders). The paths come from the
   * project's own files, which are untrusted: each image is opened, then the opened file's real path is checked.
   */
  readable?: Contains;
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
  /**
   * The project's done images, by id: streamed from the store (each pass reads it again; never held whole), with
   * their count.
   */
  results: Iterable<ImageResult>;
  resultCount: number;
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
  /** Ids of images whose candidates have no `releasedText` (generated before it): exported trimmed, with a warning. */
  withoutReleasedText: Set<number>;
}

/** An exporter: one per format. */
export type Exporter = (context: ExportContext) => Promise<void>;

/** One mask with its kept expressions at τ, as the RefCOCO/CRIS exports see it. */
export interface ExportRef {
  /** The image's record (the result itself is not kept: an export of a paper-size project streams them). */
  image: ImageRecord;
  mask: MaskResult;
  sentences: string[];
  tokens: string[][];
}

/**
 * The text an export writes for a candidate: the reviewer's edit when there is one, else the stored text that
 * `captionText` (filter.captionText) asks for — the trimmed text, or the released code's (`releasedText`). A candidate
 * stored without a released text gives its trimmed one, and its image id goes into `withoutReleased`.
 */
export function exportedText(
  imageId: number,
  candidate: CandidateResult,
  review: ReviewInput | null | undefined,
  captionText: FilterSettings['captionText'] = 'trimmed',
  withoutReleased?: Set<number>,
): { text: string; edited: boolean } {
  const reviewed = reviewedText(imageId, candidate, review);
  if (reviewed.edited || captionText !== 'released') return reviewed;
  if (candidate.releasedText === undefined) {
    withoutReleased?.add(imageId);
    return reviewed;
  }
  return { text: candidate.releasedText, edited: false };
}

/** {@link exportedText} with an export's own choice and record of images without released texts. */
export function contextText(
  context: Pick<ExportContext, 'review' | 'filter' | 'withoutReleasedText'>,
  imageId: number,
  candidate: CandidateResult,
): { text: string; edited: boolean } {
  return exportedText(
    imageId,
    candidate,
    context.review,
    context.filter.captionText,
    context.withoutReleasedText,
  );
}

/**
 * The kept, exportable candidates of each mask of an image at τ, with the review applied (edited texts in `text`;
 * `text` is the export's text, {@link contextText}, when an export context is given).
 */
export function keptByMask(
  result: ImageResult,
  policy: KeepPolicy,
  review?: ReviewInput | null,
  context?: Pick<ExportContext, 'review' | 'filter' | 'withoutReleasedText'>,
): Map<number, CandidateResult[]> {
  const decisions = decideResult(result, policy, review);
  const kept = new Map<number, CandidateResult[]>();
  result.candidates.forEach((c, k) => {
    if (!decisions[k].kept || c.comparison) return;
    const list = kept.get(c.mask) ?? [];
    const text = context
      ? contextText(context, result.image.id, c).text
      : reviewedText(result.image.id, c, review).text;
    list.push({ ...c, text });
    kept.set(c.mask, list);
  });
  return kept;
}

/** Lower-case word tokens as RefCOCO stores them (`tokens`). */
export function tokenize(sentence: string): string[] {
  return sentence.toLowerCase().match(/[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu) ?? [];
}

/** The masks of one image with at least one kept expression, with their distinct sentences in candidate order. */
export function imageRefs(result: ImageResult, context: ExportContext): ExportRef[] {
  const refs: ExportRef[] = [];
  const kept = keptByMask(result, context.policy, context.review, context);
  // the released text is written as the released code has it: its trailing space and "!" run stay
  const released = context.filter.captionText === 'released';
  for (const mask of result.masks) {
    // in candidate order; identical captions from several crops count once unless keepDuplicates
    const texts = (kept.get(mask.index) ?? [])
      .map((c) => (released ? c.text : c.text.trim()))
      .filter((t) => t.trim() !== '');
    const sentences = context.options.keepDuplicates ? texts : [...new Set(texts)];
    if (sentences.length === 0) continue;
    refs.push({ image: result.image, mask, sentences, tokens: sentences.map(tokenize) });
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

/** A file being written by {@link Writer.stream}. */
export interface StreamedFile {
  /** A path of the temp file the data goes to until `commit()` (for writers that take a path). */
  readonly temp: string;
  write(data: string | Uint8Array): void;
  /** Writes what is buffered to the temp file (to read it back through `temp`). */
  flush(): void;
  commit(): void;
  abort(): void;
}

/**
 * Writes files under the export folder atomically and records their relative paths. The folder is opened once and
 * checked (inside `within`); every file and sub-folder is then created inside opened handles (runtime/safe-fs.ts),
 * so a folder swapped for a link out during the export gets nothing written, created or deleted outside.
 */
export class Writer {
  readonly root: string;
  /** The relative paths written, in order. */
  readonly files: string[];
  private readonly images = new Set<string>();
  /** Folders that received placed images and are not fsynced yet (synced before any index file is committed). */
  readonly #unsynced = new Set<string>();
  readonly #dir: ConfinedDir;

  constructor(
    root: string,
    files: string[],
    within?: string,
    /** Which real paths the export may read images from (served mode: the session's folders); default any. */
    private readonly readable?: Contains,
  ) {
    this.#dir = ConfinedDir.open(root, within, { create: true });
    this.root = root;
    this.files = files;
  }

  /** Removes temp files left by killed writers, inside the opened folder only. */
  removeStaleTemps(): string[] {
    return this.#dir.removeStaleTemps();
  }

  /** Reads a file of the export folder (never through a link); null when it is missing. */
  read(relative: string): Buffer | null {
    const dir = this.#folder(dirname(relative), false);
    if (!dir) return null;
    try {
      return dir.readFile(basename(relative));
    } finally {
      dir.close();
    }
  }

  /**
   * Reads and parses a JSON file of the export folder (never through a link); null when it is missing. A file that
   * does not parse is named with the kind of problem, never with its content.
   */
  readJson<T>(relative: string): T | null {
    const bytes = this.read(relative);
    if (bytes === null) return null;
    try {
      return JSON.parse(bytes.toString('utf8')) as T;
    } catch (error) {
      // no cause: V8's JSON message quotes the text, and the file may be one the client may not read
      // eslint-disable-next-line preserve-caught-error
      throw new Error(`${join(this.root, relative)} is ${jsonSyntaxReason(error)}`);
    }
  }

  /** The entry names of a sub-folder of the export folder (links not followed); empty when it is missing. */
  list(relative: string): string[] {
    const dir = this.#folder(relative, false);
    if (!dir) return [];
    try {
      return dir.list().map((entry) => entry.name);
    } finally {
      dir.close();
    }
  }

  /** Closes the folder's handle. */
  close(): void {
    this.#dir.close();
  }

  /**
   * A file written piece by piece (a paper-size JSONL, CSV or Parquet file never exists as one string): into a temp
   * file created inside the opened folder, placed by `commit()` as {@link file} places a whole one; `abort()`
   * removes the temp.
   */
  stream(relative: string): StreamedFile {
    const dir = this.#folder(dirname(relative), true)!;
    const name = basename(relative);
    const temp = `${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    let fd: number;
    try {
      fd = dir.createExclusive(temp);
    } catch (error) {
      dir.close();
      throw error;
    }
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = () => {
      if (pendingBytes > 0) writeAll(fd, Buffer.concat(pending, pendingBytes));
      pending = [];
      pendingBytes = 0;
    };
    let open = true;
    const finish = () => {
      if (open) closeSync(fd);
      open = false;
    };
    return {
      temp: dir.at(temp),
      write: (data) => {
        const chunk = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes >= 1 << 20) flush();
      },
      flush,
      commit: () => {
        try {
          this.syncPlaced();
          flush();
          fsyncSync(fd); // also makes durable what another writer wrote to the temp by its path
          finish();
          renameSync(dir.at(temp), dir.at(name));
          dir.sync();
        } catch (error) {
          finish();
          dir.unlinkQuietly(temp);
          dir.close();
          throw error;
        }
        dir.close();
        this.files.push(relative);
      },
      abort: () => {
        finish();
        dir.unlinkQuietly(temp);
        dir.close();
      },
    };
  }

  /** Writes one file (temp + rename). */
  file(relative: string, data: string | Uint8Array): void {
    this.syncPlaced();
    const dir = this.#folder(dirname(relative), true)!;
    try {
      dir.writeFile(basename(relative), data);
    } finally {
      dir.close();
    }
    this.files.push(relative);
  }

  /**
   * Places an image once per destination: its original bytes (hard link when possible, else a copy), or — when its
   * EXIF orientation is not 1 — the upright pixels re-encoded in the same format, because the masks are upright and
   * RIS loaders that ignore EXIF (PIL) would otherwise see them rotated against the image. The source path comes
   * from the project's files, so it is opened first and the opened file's real path checked (`readable`); every
   * byte then comes from that handle.
   */
  async image(record: ImageRecord, destinations: string | readonly string[]): Promise<void> {
    // the image is opened, read and its orientation looked up once for all its destinations
    const relatives = (typeof destinations === 'string' ? [destinations] : destinations).filter(
      (relative) => !this.images.has(relative),
    );
    if (relatives.length === 0) return;
    for (const relative of relatives) this.images.add(relative);
    let source: ConfinedFile;
    try {
      source = await openConfined(record.path, this.readable ?? (() => true), `image ${record.id}`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT')
        throw new Error(`image ${record.path} (id ${record.id}) is missing; it is needed for the export`, {
          cause: error,
        });
      throw error;
    }
    try {
      if (!source.stats.isFile()) throw new Error(`image ${record.path} (id ${record.id}) is not a file`);
      const bytes = await source.handle.readFile();
      const orientation = (await sharp(bytes).metadata()).orientation ?? 1;
      const upright = orientation !== 1 ? await sharp(bytes).rotate().toBuffer() : null;
      for (const relative of relatives) {
        const dir = this.#folder(dirname(relative), true)!;
        try {
          const name = basename(relative);
          if (upright) dir.writeFile(name, upright);
          else if (!dir.readFile(name)?.equals(bytes)) {
            dir.placeFile(name, source, bytes, false);
            this.#unsynced.add(dirname(relative));
          }
          this.files.push(relative);
        } finally {
          dir.close();
        }
      }
    } finally {
      await source.handle.close();
    }
  }

  /**
   * Makes the placed images' folder entries durable: one fsync per folder instead of one per image. Runs before any
   * file is committed, so an index never lands on disk ahead of the images it names.
   */
  syncPlaced(): void {
    for (const relative of this.#unsynced) {
      const dir = this.#folder(relative, false);
      dir?.sync();
      dir?.close();
    }
    this.#unsynced.clear();
  }

  /** The opened sub-folder `relative` (created with `create`); null when it is missing and not created. */
  #folder(relative: string, create: boolean): ConfinedDir | null {
    try {
      return this.#dir.subPath(relative, { create });
    } catch (error) {
      if (!create && (error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }
}
