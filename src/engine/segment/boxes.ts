/**
 * Imported detections for `masks.selection: boxes` (CutLER-style boxes, DESIGN.md §5 "Masks"): the file CutLER's
 * demo or evaluation writes, read once per run.
 *
 * Two layouts:
 * - a COCO JSON: `images[{id, file_name, width?, height?}]` and `annotations[{image_id, bbox, score?, segmentation?,
 *   id?, category_id?}]`; images are matched by `file_name` (or its base name), as the mask import matches them. An
 *   image of the run that `images` does not list fails by name (`not-in-import`); a listed image with no annotation
 *   has no detection (no masks, as the released code skips it);
 * - a bare detections list as detectron2's `coco_instances_results.json`: `[{image_id | file_name, bbox, score?,
 *   segmentation?}]`. `file_name` or a string `image_id` is matched by file name, base name or stem; a numeric
 *   `image_id` matches the image whose stem is that number (zero-padding allowed, e.g. 139 ↔ `000000000139.jpg`).
 *   detectron2 writes nothing for an image without detections, so an image absent from the list has none.
 * Detections keep the file's order here; the selection takes them by score, best first (the released order).
 * `bbox` must be 4 finite numbers with width and height > 0; a box is clipped to its image (one that covers no pixel
 * centre takes SAM mask 0, as the released overlap of 0 does), and one wholly outside the image fails that image (`bad-boxes`: the file does not describe it). Errors name the file and entry,
 * never quoting its content.
 */
import { createHash } from 'node:crypto';
import { readFile, realpath, stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { jsonSyntaxReason } from '../../shared/settings.ts';
import type { BinaryMask, Size } from '../image/index.ts';
import { MaskImportError, segmentationToMask, type OpenMaskImportOptions } from './import.ts';
import { selectByDetections, type BoxDecision, type BoxMatch, type Detection } from './select-boxes.ts';

/** An opened detections file. */
export interface BoxImport {
  kind: 'coco' | 'results';
  path: string;
  /** SHA-256 of the file's bytes (recorded in `masks.boxesSha256`). */
  sha256: string;
  /** Detections in the file, all images. */
  count: number;
  /** True when the file speaks of this image (COCO: listed in `images`; a list: has a detection for it). */
  has(imageFile: string): boolean;
  /** Image names or ids in the file that match none of `imageFiles`. */
  unknownImages(imageFiles: readonly string[]): string[];
  /** The detections of one image (file name or path) of `size`, in the file's order; see the module comment. */
  detectionsFor(imageFile: string, size: Size): Detection[];
}

interface RawDetection {
  /** Where it is in the file, for messages: `annotations[3]` or `[3]`. */
  at: string;
  sourceId: string;
  bbox: [number, number, number, number];
  score?: number;
  segmentation?: unknown;
}

/** Opens and checks a detections file; throws `MaskImportError` naming the file and the entry for any problem. */
export async function openBoxImport(path: string, options: OpenMaskImportOptions = {}): Promise<BoxImport> {
  const info = await stat(path).catch(() => null);
  if (!info) throw new MaskImportError('not-found', `boxes: ${path} does not exist`);
  if (options.contains) {
    const real = await realpath(path).catch(() => null);
    if (real === null || !options.contains(real))
      throw new MaskImportError('forbidden', `boxes: ${path} is outside the allowed folders`);
  }
  if (!info.isFile()) throw new MaskImportError('bad-boxes', `boxes: ${path} is not a file`);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new MaskImportError('not-found', `boxes: ${path} cannot be read (${code})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    // the reason never quotes the file: a path pointed at another file must not leak its first bytes
    throw new MaskImportError('bad-json', `boxes: ${path} is ${jsonSyntaxReason(error)}`);
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const bad = (message: string) => new MaskImportError('bad-boxes', `boxes: ${path}: ${message}`);
  if (Array.isArray(json)) return openResults(path, sha256, json, bad);
  const doc = json as { images?: unknown; annotations?: unknown } | null;
  if (!doc || typeof doc !== 'object' || !Array.isArray(doc.images) || !Array.isArray(doc.annotations))
    throw new MaskImportError(
      'bad-boxes',
      `boxes: ${path} is neither a COCO JSON ("images" and "annotations" arrays) nor a list of detections`,
    );
  return openCoco(path, sha256, doc.images, doc.annotations, bad);
}

interface CocoImage {
  id: number | string;
  file_name: string;
  width?: number;
  height?: number;
}

function openCoco(
  path: string,
  sha256: string,
  images: unknown[],
  annotations: unknown[],
  bad: (message: string) => MaskImportError,
): BoxImport {
  images.forEach((image, i) => {
    const m = image as Partial<CocoImage> | null;
    if (!m || typeof m.file_name !== 'string' || (typeof m.id !== 'number' && typeof m.id !== 'string'))
      throw bad(`images[${i}] needs "id" and "file_name"`);
  });
  const list = images as CocoImage[];
  const byImage = new Map<string, RawDetection[]>();
  annotations.forEach((a, i) => {
    const at = `annotations[${i}]`;
    const entry = a as { image_id?: unknown; id?: unknown } | null;
    if (!entry || (typeof entry.image_id !== 'number' && typeof entry.image_id !== 'string'))
      throw bad(`${at} needs "image_id"`);
    const id = typeof entry.id === 'number' || typeof entry.id === 'string' ? entry.id : i;
    const detection = readDetection(entry, at, `annotation ${id}`, bad);
    const key = String(entry.image_id);
    const found = byImage.get(key);
    if (found) found.push(detection);
    else byImage.set(key, [detection]);
  });
  const find = (imageFile: string) => {
    const base = basename(imageFile);
    return list.find((i) => i.file_name === imageFile) ?? list.find((i) => basename(i.file_name) === base);
  };
  return {
    kind: 'coco',
    path,
    sha256,
    count: annotations.length,
    has: (imageFile) => find(imageFile) !== undefined,
    unknownImages: (imageFiles) => {
      const known = new Set(imageFiles.map((f) => basename(f)));
      return list.map((i) => i.file_name).filter((n) => !known.has(basename(n)));
    },
    detectionsFor: (imageFile, size) => {
      const image = find(imageFile);
      if (!image)
        throw new MaskImportError(
          'not-in-import',
          `boxes ${path} has no entry for image ${basename(imageFile)} (COCO "images" does not list it)`,
        );
      if (
        (image.width !== undefined && image.width !== size.width) ||
        (image.height !== undefined && image.height !== size.height)
      )
        throw new MaskImportError(
          'size-mismatch',
          `boxes: ${path} says ${image.file_name} is ${image.width}×${image.height} but the image is ${size.width}×${size.height}`,
        );
      return toDetections(path, byImage.get(String(image.id)) ?? [], imageFile, size);
    },
  };
}

function openResults(
  path: string,
  sha256: string,
  entries: unknown[],
  bad: (message: string) => MaskImportError,
): BoxImport {
  const keyed = entries.map((e, i) => {
    const at = `[${i}]`;
    const entry = e as { image_id?: unknown; file_name?: unknown } | null;
    if (!entry || typeof entry !== 'object') throw bad(`${at} is not a detection object`);
    const key =
      typeof entry.file_name === 'string'
        ? entry.file_name
        : typeof entry.image_id === 'string' || typeof entry.image_id === 'number'
          ? entry.image_id
          : null;
    if (key === null || (typeof key === 'number' && !(Number.isInteger(key) && key >= 0)))
      throw bad(`${at} needs "file_name" or "image_id" (a name, or a whole number matching a file stem)`);
    return { key, detection: readDetection(entry, at, `detection ${i}`, bad) };
  });
  const matches = (key: string | number, imageFile: string): boolean => {
    const base = basename(imageFile);
    const stem = extname(base) ? base.slice(0, -extname(base).length) : base;
    if (typeof key === 'number') return /^\d+$/.test(stem) && Number(stem) === key;
    return key === imageFile || basename(key) === base || key === stem;
  };
  return {
    kind: 'results',
    path,
    sha256,
    count: entries.length,
    has: (imageFile) => keyed.some((k) => matches(k.key, imageFile)),
    unknownImages: (imageFiles) => {
      const unknown = new Set<string>();
      for (const k of keyed) if (!imageFiles.some((f) => matches(k.key, f))) unknown.add(String(k.key));
      return [...unknown];
    },
    detectionsFor: (imageFile, size) =>
      toDetections(
        path,
        keyed.filter((k) => matches(k.key, imageFile)).map((k) => k.detection),
        imageFile,
        size,
      ),
  };
}

/** Reads `bbox`, `score` and `segmentation` of one entry, refusing what is malformed. */
function readDetection(
  entry: object,
  at: string,
  sourceId: string,
  bad: (message: string) => MaskImportError,
): RawDetection {
  const { bbox, score, segmentation } = entry as { bbox?: unknown; score?: unknown; segmentation?: unknown };
  if (
    !Array.isArray(bbox) ||
    bbox.length !== 4 ||
    !bbox.every((v) => typeof v === 'number' && Number.isFinite(v))
  )
    throw bad(`${at}.bbox must be 4 finite numbers [x, y, width, height]`);
  const [, , w, h] = bbox as number[];
  if (!(w > 0 && h > 0)) throw bad(`${at}.bbox must have a width and height above 0`);
  if (score !== undefined && !(typeof score === 'number' && Number.isFinite(score)))
    throw bad(`${at}.score must be a finite number when given`);
  return {
    at,
    sourceId,
    bbox: bbox as [number, number, number, number],
    ...(score !== undefined ? { score: score as number } : {}),
    ...(segmentation !== undefined && segmentation !== null ? { segmentation } : {}),
  };
}

/** One image's detections: boxes checked against its size, segmentations decoded to masks. */
function toDetections(path: string, raw: RawDetection[], imageFile: string, size: Size): Detection[] {
  return raw.map((r) => {
    // a box inside the image that covers no pixel centre is kept: it overlaps no SAM mask and takes mask 0, as the
    // released argmax does; one wholly outside the image does not describe it
    const [x, y, w, h] = r.bbox;
    if (x >= size.width || y >= size.height || x + w <= 0 || y + h <= 0)
      throw new MaskImportError(
        'bad-boxes',
        `boxes: ${path}: ${r.at}.bbox [${r.bbox.join(', ')}] lies outside image ${basename(imageFile)} (${size.width}×${size.height})`,
      );
    return {
      sourceId: r.sourceId,
      bbox: r.bbox,
      ...(r.score !== undefined ? { score: r.score } : {}),
      ...(r.segmentation !== undefined
        ? { mask: segmentationToMask(r.segmentation, size, `${path}: ${r.at}`) }
        : {}),
    };
  });
}

/** A boxes file whose content differs from the SHA-256 the project recorded (code `bad-boxes`). */
export class BoxesChangedError extends MaskImportError {
  constructor(path: string, recorded: string, now: string) {
    super(
      'bad-boxes',
      `boxes: ${path} changed since the project recorded it (sha256 ${recorded.slice(0, 12)}… → ${now.slice(0, 12)}…)`,
    );
  }
}

/**
 * The project's record of its boxes file (box selection depends on the file's content): opens the file (a missing
 * or malformed one throws `MaskImportError`), and answers the SHA-256 to record — the file's, when none is recorded
 * or `renew` says the path was just set anew. Refuses a file that differs from the recorded hash
 * ({@link BoxesChangedError}). Used before a run by the CLI and when the app sets the path; every image's selection
 * checks the hash again ({@link selectMasksByBoxes}).
 */
export async function boxesRecord(
  masks: { boxesPath?: string; boxesSha256?: string },
  renew = false,
): Promise<{ boxes: BoxImport; sha256: string }> {
  if (!masks.boxesPath) throw new MaskImportError('bad-boxes', 'boxes: masks.boxesPath is not set');
  const boxes = await openBoxImport(masks.boxesPath);
  if (!renew && masks.boxesSha256 !== undefined && masks.boxesSha256 !== boxes.sha256)
    throw new BoxesChangedError(boxes.path, masks.boxesSha256, boxes.sha256);
  return { boxes, sha256: boxes.sha256 };
}

/** The mask settings {@link selectMasksByBoxes} reads (a `Settings['masks']` fits). */
export interface BoxSelectionSettings {
  boxesMinScore: number;
  boxesSha256?: string;
  hardCap: number;
}

/**
 * One image's masks selected by imported detections: checks the file is the one the settings recorded, reads the
 * image's detections (failing it by name as {@link BoxImport.detectionsFor} says), generates SAM masks with
 * `generate` only when a detection scores above the threshold (the released code skips an image with none before
 * running SAM), and matches them ({@link selectByDetections}), leaving out a selected mask with one value everywhere
 * as the released caption script does. More selected masks than `hardCap` fail the image
 * (`too-many-masks`): the released code has no cap, and cutting would silently change its selection.
 */
export async function selectMasksByBoxes<T extends { mask: BinaryMask }>(
  source: BoxImport,
  imageFile: string,
  size: Size,
  generate: () => Promise<T[]>,
  settings: BoxSelectionSettings,
): Promise<{ proposals: T[]; selected: T[]; matches: BoxMatch[]; decisions: BoxDecision[] }> {
  if (settings.boxesSha256 !== undefined && settings.boxesSha256 !== source.sha256)
    throw new BoxesChangedError(source.path, settings.boxesSha256, source.sha256);
  const detections = source.detectionsFor(imageFile, size);
  const minScore = settings.boxesMinScore;
  const proposals = detections.some((d) => d.score === undefined || d.score > minScore)
    ? await generate()
    : [];
  const result = selectByDetections(proposals, detections, { minScore });
  // the released caption script skips a mask file with one value (distinctive_caption_generation.py l. 151): a SAM
  // mask covering the whole image (or none of it) is selected but never captioned
  const keep = result.selected.map((p) => !isUniform(p.mask));
  result.matches.forEach((m, i) => {
    if (keep[i]) return;
    Object.assign(result.decisions[m.detection], {
      used: false,
      reason: `${result.decisions[m.detection].reason}; skipped: the mask has one value everywhere, as the released caption script skips it`,
    });
  });
  result.selected = result.selected.filter((_, i) => keep[i]);
  result.matches = result.matches.filter((_, i) => keep[i]);
  if (result.selected.length > settings.hardCap)
    throw new MaskImportError(
      'too-many-masks',
      `boxes ${source.path}: ${result.selected.length} detections of image ${basename(imageFile)} score above ${minScore} and select ${result.selected.length} masks; at most ${settings.hardCap} (settings.masks.hardCap) can be captioned together — the released code has no cap: raise masks.hardCap (≤ 100) or masks.boxesMinScore`,
    );
  return { proposals, ...result };
}

function isUniform(mask: BinaryMask): boolean {
  const first = mask.data[0] ? 1 : 0;
  for (let i = 1; i < mask.data.length; i++) if ((mask.data[i] ? 1 : 0) !== first) return false;
  return true;
}
