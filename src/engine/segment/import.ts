/**
 * Imported masks (DESIGN.md §5): ground truth or another model's masks, instead of generated ones.
 *
 * Two sources:
 * - a folder with one sub-folder per image, named by the image's file stem, holding `<k>.png` masks (0/255, the
 *   reference's layout; any value ≥ 128 counts as inside), read in numeric order of k;
 * - a COCO instances JSON: `images[{id, file_name, width, height}]` and `annotations[{id, image_id, segmentation}]`
 *   with polygons (`[[x, y, …], …]`), compressed or uncompressed RLE (`{size, counts}`), or a list of RLEs; images
 *   are matched by `file_name` (or its base name).
 * Errors name the file and what is wrong: a mask or annotation whose size differs from the image's, entries for
 * images that are not in the project, malformed JSON.
 */
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { jsonSyntaxReason } from '../../shared/settings.ts';
import { basename, extname, join } from 'node:path';
import {
  readMaskPng,
  polygonsToMaskLikePycocotools,
  decodeRle,
  type AnyRle,
  type BinaryMask,
  type Size,
} from '../image/index.ts';

/** One imported mask. */
export interface ImportedMask {
  /** The mask's own name in the source: `<stem>/<k>.png` or `annotation <id>`. */
  sourceId: string;
  mask: BinaryMask;
}

/** An opened import source. */
export interface MaskImport {
  kind: 'png-folder' | 'coco';
  path: string;
  /** Image names the source has masks for (folder stems, or COCO file names). */
  imageNames(): string[];
  /** Names in the source that match none of `imageFiles` (the project's image file names or paths). */
  unknownImages(imageFiles: readonly string[]): string[];
  /**
   * The masks of one image (by its file name or path), checked against its size; [] when the source has none.
   * Uniform masks (all outside or all inside) are skipped as the reference skips them, and listed in `skipped`.
   */
  masksFor(imageFile: string, size: Size, options?: MasksForOptions): Promise<ImportedMask[]>;
  /** True when the source has an entry for this image (file name or path), even one with no masks. */
  has(imageFile: string): boolean;
  /** Masks skipped so far, with the reason. */
  readonly skipped: Array<{ sourceId: string; reason: string }>;
}

/** Thrown for every import problem; `code` tells them apart. */
/** Per-image checks of {@link MaskImport.masksFor}, as a batch applies them. */
export interface MasksForOptions {
  /** Refuse (this image only) more masks than this, instead of cutting them silently (settings.masks.hardCap). */
  limit?: number;
  /** Refuse (this image only) an image the source has no entry for, instead of giving it 0 masks. */
  required?: boolean;
}

/** Options of {@link openMaskImport}. */
export interface OpenMaskImportOptions {
  /**
   * The path policy (served mode): called with the real path of the source and of every file read from it; false
   * refuses it (`forbidden`), so a symlink planted after the settings were checked still cannot lead outside.
   */
  contains?: (realPath: string) => boolean;
}

export class MaskImportError extends Error {
  constructor(
    readonly code:
      | 'not-found'
      | 'bad-json'
      | 'bad-coco'
      | 'size-mismatch'
      | 'unknown-images'
      | 'bad-png'
      | 'forbidden'
      | 'not-in-import'
      | 'too-many-masks'
      | 'bad-boxes',
    message: string,
  ) {
    super(message);
    this.name = 'MaskImportError';
  }
}

/** Opens a PNG folder or a COCO JSON file. */
export async function openMaskImport(path: string, options: OpenMaskImportOptions = {}): Promise<MaskImport> {
  const info = await stat(path).catch(() => null);
  if (!info) throw new MaskImportError('not-found', `mask import: ${path} does not exist`);
  const confine = async (file: string): Promise<void> => {
    if (!options.contains) return;
    const real = await realpath(file).catch(() => null);
    if (real === null || !options.contains(real))
      throw new MaskImportError('forbidden', `mask import: ${file} is outside the allowed folders`);
  };
  await confine(path);
  const source = info.isDirectory() ? await openPngFolder(path, confine) : await openCoco(path);
  const masksFor = source.masksFor;
  source.masksFor = async (imageFile, size, checks = {}) => {
    if (checks.required && !source.has(imageFile))
      throw new MaskImportError(
        'not-in-import',
        `mask import ${path} has no entry for image ${basename(imageFile)}`,
      );
    const masks = await masksFor(imageFile, size);
    if (checks.limit !== undefined && masks.length > checks.limit)
      throw new MaskImportError(
        'too-many-masks',
        `mask import ${path} has ${masks.length} masks for image ${basename(imageFile)}; at most ${checks.limit} (settings.masks.hardCap) can be captioned together: split or thin them`,
      );
    return masks;
  };
  return source;
}

/**
 * Checks an import source before a batch starts: opens and parses it (throwing `MaskImportError` for a missing,
 * unreadable or malformed source, so nothing runs), and lists the names in the source that match none of
 * `imageFiles` (`unknown`, ignored by the run: the caller reports them) and the images with no entry (`missing`:
 * each fails alone in the run, named).
 */
export async function validateMaskImport(
  path: string,
  imageFiles: readonly string[],
  options: OpenMaskImportOptions = {},
): Promise<{ source: MaskImport; unknown: string[]; missing: string[] }> {
  const source = await openMaskImport(path, options);
  return {
    source,
    unknown: source.unknownImages(imageFiles),
    missing: imageFiles.filter((f) => !source.has(f)).map((f) => basename(f)),
  };
}

/** Throws when the source names images that are not among `imageFiles` (listing the first few). */
export function assertKnownImages(source: MaskImport, imageFiles: readonly string[]): void {
  const unknown = source.unknownImages(imageFiles);
  if (unknown.length > 0) {
    const shown = unknown.slice(0, 5).join(', ');
    throw new MaskImportError(
      'unknown-images',
      `mask import ${source.path}: ${unknown.length} image(s) not in the project: ${shown}${unknown.length > 5 ? ', …' : ''}`,
    );
  }
}

function stemOf(file: string): string {
  const base = basename(file);
  const ext = extname(base);
  return ext ? base.slice(0, -ext.length) : base;
}

async function openPngFolder(dir: string, confine: (file: string) => Promise<void>): Promise<MaskImport> {
  const entries = await readdir(dir, { withFileTypes: true });
  const stems = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const skipped: MaskImport['skipped'] = [];
  return {
    kind: 'png-folder',
    path: dir,
    skipped,
    imageNames: () => [...stems],
    has: (imageFile) => stems.includes(stemOf(imageFile)),
    unknownImages: (imageFiles) => {
      const known = new Set(imageFiles.map(stemOf));
      return stems.filter((s) => !known.has(s));
    },
    masksFor: async (imageFile, size) => {
      const stem = stemOf(imageFile);
      if (!stems.includes(stem)) return [];
      const folder = join(dir, stem);
      const files = (await readdir(folder)).filter((f) => /^\d+\.png$/i.test(f));
      files.sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10));
      const masks: ImportedMask[] = [];
      for (const file of files) {
        const sourceId = `${stem}/${file}`;
        let mask: BinaryMask;
        await confine(join(folder, file));
        try {
          mask = await readMaskPng(join(folder, file));
        } catch (error) {
          throw new MaskImportError(
            'bad-png',
            `mask import: ${join(folder, file)} is not a readable PNG (${(error as Error).message})`,
          );
        }
        if (mask.width !== size.width || mask.height !== size.height) {
          throw new MaskImportError(
            'size-mismatch',
            `mask import: ${join(folder, file)} is ${mask.width}×${mask.height} but image ${basename(imageFile)} is ${size.width}×${size.height}`,
          );
        }
        masks.push({ sourceId, mask });
      }
      return keepInformative(masks, skipped);
    },
  };
}

interface CocoImage {
  id: number | string;
  file_name: string;
  width?: number;
  height?: number;
}

interface CocoAnnotation {
  id?: number | string;
  image_id: number | string;
  segmentation: unknown;
}

async function openCoco(file: string): Promise<MaskImport> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new MaskImportError('not-found', `mask import: ${file} cannot be read (${code})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    // the reason never quotes the file: a path pointed at another file must not leak its first bytes
    throw new MaskImportError('bad-json', `mask import: ${file} is ${jsonSyntaxReason(error)}`);
  }
  const doc = json as { images?: unknown; annotations?: unknown };
  if (!doc || typeof doc !== 'object' || !Array.isArray(doc.images) || !Array.isArray(doc.annotations)) {
    throw new MaskImportError(
      'bad-coco',
      `mask import: ${file} is not a COCO instances file (needs "images" and "annotations" arrays)`,
    );
  }
  const images = doc.images as CocoImage[];
  images.forEach((image, i) => {
    if (
      !image ||
      typeof image.file_name !== 'string' ||
      (typeof image.id !== 'number' && typeof image.id !== 'string')
    ) {
      throw new MaskImportError('bad-coco', `mask import: ${file}: images[${i}] needs "id" and "file_name"`);
    }
  });
  const annotations = doc.annotations as CocoAnnotation[];
  const byImage = new Map<string, CocoAnnotation[]>();
  annotations.forEach((a, i) => {
    if (
      !a ||
      (typeof a.image_id !== 'number' && typeof a.image_id !== 'string') ||
      a.segmentation === undefined
    ) {
      throw new MaskImportError(
        'bad-coco',
        `mask import: ${file}: annotations[${i}] needs "image_id" and "segmentation"`,
      );
    }
    const key = String(a.image_id);
    const list = byImage.get(key);
    if (list) list.push(a);
    else byImage.set(key, [a]);
  });
  const names = images.map((i) => i.file_name);
  const find = (imageFile: string) => {
    const base = basename(imageFile);
    return (
      images.find((i) => i.file_name === imageFile) ?? images.find((i) => basename(i.file_name) === base)
    );
  };
  const skipped: MaskImport['skipped'] = [];
  return {
    kind: 'coco',
    path: file,
    skipped,
    imageNames: () => [...names],
    has: (imageFile) => find(imageFile) !== undefined,
    unknownImages: (imageFiles) => {
      const known = new Set(imageFiles.map((f) => basename(f)));
      return names.filter((n) => !known.has(basename(n)));
    },
    masksFor: async (imageFile, size) => {
      const image = find(imageFile);
      if (!image) return [];
      if (
        (image.width !== undefined && image.width !== size.width) ||
        (image.height !== undefined && image.height !== size.height)
      ) {
        throw new MaskImportError(
          'size-mismatch',
          `mask import: ${file} says ${image.file_name} is ${image.width}×${image.height} but the image is ${size.width}×${size.height}`,
        );
      }
      return (byImage.get(String(image.id)) ?? []).map((a, i) => {
        const sourceId = `annotation ${a.id ?? i}`;
        return {
          sourceId,
          mask: segmentationToMask(a.segmentation, size, `${file}: ${image.file_name} ${sourceId}`),
        };
      });
    },
  };
}

/** A COCO `segmentation` (polygons, RLE or a list of RLEs) as a mask of the image's size. */
export function segmentationToMask(segmentation: unknown, size: Size, where = 'segmentation'): BinaryMask {
  const rles: AnyRle[] = [];
  if (Array.isArray(segmentation) && segmentation.length > 0 && segmentation.every((p) => Array.isArray(p))) {
    (segmentation as unknown[][]).forEach((polygon, index) => {
      if (polygon.length < 6 || polygon.length % 2 !== 0 || polygon.some((v) => !Number.isFinite(v)))
        throw new MaskImportError(
          'bad-coco',
          `mask import: ${where}: polygon ${index} must list at least 3 points as [x1, y1, x2, y2, …] of finite ` +
            `numbers, got ${polygon.length} values`,
        );
    });
    // the mask pycocotools' COCO.annToMask gives for this annotation (rleFrPoly, unioned), not centre sampling
    return polygonsToMaskLikePycocotools(segmentation as number[][], size);
  }
  if (isRle(segmentation)) rles.push(segmentation);
  else if (Array.isArray(segmentation) && segmentation.length > 0 && segmentation.every(isRle))
    rles.push(...(segmentation as typeof rles));
  else
    throw new MaskImportError('bad-coco', `mask import: ${where}: segmentation is neither polygons nor RLE`);
  const data = new Uint8Array(size.width * size.height);
  for (const rle of rles) {
    const [h, w] = rle.size;
    if (h !== size.height || w !== size.width) {
      throw new MaskImportError(
        'size-mismatch',
        `mask import: ${where}: RLE size is ${w}×${h} (size [${h}, ${w}]) but the image is ${size.width}×${size.height}`,
      );
    }
    let mask: BinaryMask;
    try {
      mask = decodeRle(rle);
    } catch (error) {
      throw new MaskImportError('bad-coco', `mask import: ${where}: bad RLE (${(error as Error).message})`);
    }
    for (let i = 0; i < data.length; i++) if (mask.data[i]) data[i] = 1;
  }
  return { width: size.width, height: size.height, data };
}

/** Drops masks with one value everywhere (the reference skips `len(np.unique(mask)) == 1`): no box, no contrast. */
function keepInformative(masks: ImportedMask[], skipped: MaskImport['skipped']): ImportedMask[] {
  return masks.filter(({ sourceId, mask }) => {
    let set = 0;
    for (let i = 0; i < mask.data.length; i++) if (mask.data[i]) set++;
    if (set === 0) skipped.push({ sourceId, reason: 'empty mask' });
    else if (set === mask.data.length) skipped.push({ sourceId, reason: 'mask covers the whole image' });
    else return true;
    return false;
  });
}

function isRle(value: unknown): value is AnyRle {
  if (!value || typeof value !== 'object') return false;
  const v = value as { size?: unknown; counts?: unknown };
  return (
    Array.isArray(v.size) && v.size.length === 2 && (typeof v.counts === 'string' || Array.isArray(v.counts))
  );
}
