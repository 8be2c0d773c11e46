/**
 * Image input: any file sharp can decode → an upright 8-bit sRGB RGB image, or a typed refusal.
 *
 * Order of work, so that bad files cost nothing: read the bytes; refuse 0 bytes; read only the header
 * (`sharp().metadata()`) and refuse images over the pixel limit *before* any pixel is decoded (a 600 KB PNG can
 * declare 14,000² pixels and take ~700 MB to decode); then decode once, applying the EXIF orientation, compositing
 * alpha over the background, converting CMYK / greyscale / palette / 16-bit to 8-bit sRGB RGB.
 */
import { readFile, stat } from 'node:fs/promises';
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import { DEFAULT_MAX_PIXELS as SETTINGS_MAX_PIXELS, MAX_IMAGE_BYTES } from '../../shared/settings.ts';
import { OutsideFolderError, readFileConfined, type Contains } from '../runtime/index.ts';
import type { RgbImage, Size } from './types.ts';

/**
 * Default pixel limit: the settings' `maxPixels` default, 50,000,000 pixels (see `DEFAULT_MAX_PIXELS` in
 * shared/settings.ts), so a file refused here is refused by a run with default settings too.
 */
export const DEFAULT_MAX_PIXELS = SETTINGS_MAX_PIXELS;

/** Largest image file read, in bytes (512 MiB), checked with `stat` first (see shared/settings.ts). */
export { MAX_IMAGE_BYTES };

/** Why an image was refused. */
export type ImageInputErrorCode =
  /** The file could not be read (missing, no permission, a folder). */
  | 'unreadable'
  /** 0 bytes. */
  | 'empty'
  /** A known image format that ends early (an interrupted copy or download). */
  | 'truncated'
  /** A known image format whose data is damaged. */
  | 'corrupt'
  /** Not an image format sharp knows (e.g. a text file named .jpg). */
  | 'not-an-image'
  /** More pixels than the limit (refused from the header, before decoding), or a file over {@link MAX_IMAGE_BYTES}. */
  | 'too-large';

/** A refused image: `code` for the batch's error record, a message that names the file and the reason. */
export class ImageInputError extends Error {
  override readonly name = 'ImageInputError';

  constructor(
    readonly code: ImageInputErrorCode,
    /** The file path, or `<buffer>`. */
    readonly source: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`image ${source}: ${detail}`, options);
  }
}

/** Options of {@link loadImage}. */
export interface LoadImageOptions {
  /** Refuse images with more pixels than this (width × height from the header). Default {@link DEFAULT_MAX_PIXELS}. */
  maxPixels?: number;
  /**
   * sRGB colour that transparent pixels are composited over; default white.
   *
   * White, because that is how viewers and browsers show a transparent PNG on a page, and what the user labels.
   * (The reference reads with `cv2.imread`, which drops alpha and exposes whatever RGB the transparent pixels hold.)
   */
  background?: readonly [number, number, number];
  /**
   * Which real paths may be read (served mode: the session's folders). The file is opened first and the opened
   * file's real path checked, so a path, or a link swapped in, that leads outside is refused and not read.
   */
  contains?: Contains;
}

/** What the header says about an image, without decoding it. */
export interface ImageProbe extends Size {
  /** sharp's format name (`jpeg`, `png`, `webp`, `gif`, `tiff`, `avif`, `heif`, `svg` …). */
  format: string;
  /** EXIF orientation 1–8 (1 when absent); `width`/`height` are already the upright dimensions. */
  orientation: number;
  /** Colour space as stored (`srgb`, `cmyk`, `b-w` …) and bits per sample (`uchar`, `ushort` …). */
  space: string;
  depth: string;
  channels: number;
  hasAlpha: boolean;
  isPalette: boolean;
  /** Number of frames (animated GIF/WebP); only the first is used. */
  pages: number;
}

/**
 * Reads an image header and checks it, without decoding pixels.
 *
 * Throws `ImageInputError` for unreadable, empty, non-image, corrupt-header and over-limit files.
 */
export async function probeImage(
  input: string | Uint8Array,
  options: LoadImageOptions = {},
): Promise<ImageProbe> {
  const { bytes, source } = await readInput(input, options.contains);
  return probeBytes(bytes, source, options.maxPixels ?? DEFAULT_MAX_PIXELS);
}

/**
 * Loads an image as upright 8-bit sRGB RGB.
 *
 * Applies the EXIF orientation; converts CMYK, greyscale, palette and 16-bit images to 8-bit sRGB; composites alpha
 * over `background`; takes the first frame of animations. Throws `ImageInputError` (see its codes).
 */
export async function loadImage(
  input: string | Uint8Array,
  options: LoadImageOptions = {},
): Promise<RgbImage> {
  const { bytes, source } = await readInput(input, options.contains);
  const probe = await probeBytes(bytes, source, options.maxPixels ?? DEFAULT_MAX_PIXELS);
  return decodeProbed(bytes, source, probe, options);
}

/** An image as the page shows it: encoded bytes, their MIME type, and the upright size. */
export interface DisplayImage extends Size {
  mime: 'image/png' | 'image/jpeg' | 'image/webp';
  bytes: Uint8Array;
}

/**
 * An image encoded for display (the app's `image:get`), at most `maxSide` pixels on its longer side.
 *
 * A file a browser shows as the engine reads it — PNG, JPEG or WebP, 8-bit sRGB RGB, upright, one frame, no alpha or
 * palette — that needs no resize is answered with its own bytes: no decode and re-encode (issue 22: that was 50–300
 * ms of sharp per image step during a run). Any other image is decoded as {@link loadImage} does (orientation,
 * colour, alpha over the background) and encoded as PNG.
 */
export async function loadDisplayImage(
  input: string | Uint8Array,
  options: LoadImageOptions & { maxSide?: number } = {},
): Promise<DisplayImage> {
  const { bytes, source } = await readInput(input, options.contains);
  const probe = await probeBytes(bytes, source, options.maxPixels ?? DEFAULT_MAX_PIXELS);
  const { maxSide } = options;
  const resize = maxSide !== undefined && Math.max(probe.width, probe.height) > maxSide;
  const mime = SHOWN_AS_READ[probe.format];
  if (mime && !resize && shownAsRead(probe))
    return {
      width: probe.width,
      height: probe.height,
      mime,
      bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length),
    };
  const image = await decodeProbed(bytes, source, probe, options);
  let pipeline = sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), {
    raw: { width: image.width, height: image.height, channels: 3 },
  });
  let { width, height } = image;
  if (resize) {
    const scale = maxSide / Math.max(width, height);
    width = Math.max(1, Math.round(width * scale));
    height = Math.max(1, Math.round(height * scale));
    pipeline = pipeline.resize(width, height);
  }
  const encoded = await pipeline.png().toBuffer();
  return {
    width,
    height,
    mime: 'image/png',
    bytes: new Uint8Array(encoded.buffer, encoded.byteOffset, encoded.byteLength),
  };
}

/** The formats a browser shows as they are, by sharp's format name. */
const SHOWN_AS_READ: Partial<Record<string, DisplayImage['mime']>> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
};

/** Whether the browser shows the file's pixels as loadImage reads them: nothing to rotate, convert or flatten. */
function shownAsRead(probe: ImageProbe): boolean {
  return (
    probe.orientation === 1 &&
    probe.space === 'srgb' &&
    probe.depth === 'uchar' &&
    probe.channels === 3 &&
    !probe.hasAlpha &&
    !probe.isPalette &&
    probe.pages === 1
  );
}

/** Decodes a probed image as upright 8-bit sRGB RGB (see {@link loadImage}). */
async function decodeProbed(
  bytes: Buffer,
  source: string,
  probe: ImageProbe,
  options: LoadImageOptions,
): Promise<RgbImage> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const [r, g, b] = options.background ?? [255, 255, 255];
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    // failOn 'error': refuse truncated and broken data, but accept files with only libjpeg *warnings* (e.g.
    // "extraneous bytes before marker"), which cameras produce and every viewer shows.
    let pipeline = sharp(bytes, { failOn: 'error', limitInputPixels: maxPixels, pages: 1 }).rotate();
    if (probe.hasAlpha) pipeline = pipeline.flatten({ background: { r, g, b } });
    decoded = await pipeline
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw classifyDecodeError(error, bytes, source, probe.format);
  }
  const { width, height, channels } = decoded.info;
  if (channels !== 3 || decoded.data.length !== width * height * 3) {
    throw new ImageInputError(
      'corrupt',
      source,
      `decoded to ${channels} channels (${decoded.data.length} bytes) instead of RGB ${width}×${height}`,
    );
  }
  return {
    width,
    height,
    data: new Uint8Array(decoded.data.buffer, decoded.data.byteOffset, decoded.data.length),
  };
}

async function readInput(
  input: string | Uint8Array,
  contains?: Contains,
): Promise<{ bytes: Buffer; source: string }> {
  if (typeof input !== 'string') {
    const source = '<buffer>';
    if (input.length === 0) throw new ImageInputError('empty', source, 'the buffer is empty (0 bytes)');
    return { bytes: Buffer.from(input.buffer, input.byteOffset, input.length), source };
  }
  let bytes: Buffer;
  try {
    if (contains) {
      bytes = await readFileConfined(input, contains, { what: 'the image', maxBytes: MAX_IMAGE_BYTES });
    } else {
      const info = await stat(input);
      if (info.isDirectory()) throw Object.assign(new Error('is a folder'), { code: 'EISDIR' });
      if (info.size > MAX_IMAGE_BYTES)
        throw Object.assign(new Error('too large'), { code: 'ERR_FS_FILE_TOO_LARGE', size: info.size });
      bytes = await readFile(input);
    }
  } catch (error) {
    if (error instanceof OutsideFolderError)
      throw new ImageInputError('unreadable', input, 'is outside the allowed folders (not read)', {
        cause: error,
      });
    const size = (error as { size?: number }).size;
    if (size !== undefined)
      throw new ImageInputError(
        'too-large',
        input,
        `the file is ${formatBytes(size)}, over the limit of ${formatBytes(MAX_IMAGE_BYTES)} for one image`,
      );
    throw new ImageInputError('unreadable', input, fsReason(error), { cause: error });
  }
  if (bytes.length === 0) throw new ImageInputError('empty', input, 'the file is empty (0 bytes)');
  return { bytes, source: input };
}

/** A file-system failure as a reason that names the kind of problem (never the file's content). */
export function fsReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'file not found';
    case 'EACCES':
    case 'EPERM':
      return `cannot be read: permission denied (${code})`;
    case 'EISDIR':
      return 'is a folder, not an image file';
    case 'ELOOP':
      return 'cannot be read: too many symbolic links (ELOOP)';
    case 'ERR_FS_FILE_TOO_LARGE':
      return 'cannot be read: the file is too large';
    default:
      return `cannot be read (${code ?? (error as Error).name ?? 'error'})`;
  }
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
  return `${Math.round(bytes / 1024 ** 2)} MiB`;
}

async function probeBytes(bytes: Buffer, source: string, maxPixels: number): Promise<ImageProbe> {
  if (!(maxPixels > 0))
    throw new RangeError(`maxPixels must be a positive number of pixels, got ${maxPixels}`);
  const signature = sniffFormat(bytes);
  let metadata: Metadata;
  try {
    // No limitInputPixels here: metadata() decodes no pixels, and the limit is checked below with a clear message.
    metadata = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (error) {
    if (signature === 'bmp') {
      throw new ImageInputError(
        'not-an-image',
        source,
        'BMP is not a format sharp reads; convert it to PNG',
        { cause: error },
      );
    }
    if (!signature) {
      throw new ImageInputError(
        'not-an-image',
        source,
        // the file's own bytes are never quoted: the file may be one the user may not read (a link out)
        `not an image sharp can read (${firstLine(error)})`,
        {
          cause: error,
        },
      );
    }
    throw classifyDecodeError(error, bytes, source, signature);
  }
  const stored = { width: metadata.width ?? 0, height: metadata.height ?? 0 };
  if (stored.width <= 0 || stored.height <= 0) {
    throw new ImageInputError('corrupt', source, `the ${metadata.format} header declares no size`);
  }
  const pixels = stored.width * stored.height;
  if (pixels > maxPixels) {
    throw new ImageInputError(
      'too-large',
      source,
      `${stored.width}×${stored.height} = ${pixels.toLocaleString('en-US')} pixels is over the limit of ${maxPixels.toLocaleString('en-US')}; ` +
        'refused before decoding (raise the pixel limit in the settings to accept it)',
    );
  }
  const orientation = metadata.orientation ?? 1;
  // Orientations 5–8 turn the image by 90°: the upright image has width and height swapped.
  const upright = orientation >= 5 ? { width: stored.height, height: stored.width } : stored;
  return {
    ...upright,
    format: metadata.format ?? signature ?? 'unknown',
    orientation,
    space: metadata.space ?? 'unknown',
    depth: metadata.depth ?? 'unknown',
    channels: metadata.channels ?? 0,
    hasAlpha: metadata.hasAlpha ?? false,
    isPalette: metadata.isPalette ?? false,
    pages: metadata.pages ?? 1,
  };
}

/** Truncated when the format's end marker is missing; otherwise corrupt. */
function classifyDecodeError(error: unknown, bytes: Buffer, source: string, format: string): ImageInputError {
  if (error instanceof ImageInputError) return error;
  const message = firstLine(error);
  if (/pixel limit|exceeds pixel/i.test(message)) {
    return new ImageInputError('too-large', source, `over the pixel limit while decoding (${message})`, {
      cause: error,
    });
  }
  const ended = endsWithMarker(bytes, format);
  if (ended === false || /premature end|unexpected end|truncated/i.test(message)) {
    return new ImageInputError(
      'truncated',
      source,
      `the ${format} data ends early (${message}): the file was cut short`,
      { cause: error },
    );
  }
  return new ImageInputError('corrupt', source, `the ${format} data is damaged (${message})`, {
    cause: error,
  });
}

/** Whether the file ends with its format's end marker; undefined for formats without one we check. */
function endsWithMarker(bytes: Buffer, format: string): boolean | undefined {
  if (format === 'jpeg') {
    // EOI (FF D9), allowing trailing padding some writers add.
    const tail = bytes.subarray(Math.max(0, bytes.length - 64));
    return tail.includes(Buffer.from([0xff, 0xd9]));
  }
  if (format === 'png')
    return bytes.subarray(Math.max(0, bytes.length - 16)).includes(Buffer.from('IEND', 'latin1'));
  if (format === 'gif') return bytes[bytes.length - 1] === 0x3b;
  return undefined;
}

/** The format a file's magic bytes claim, for telling "damaged image" from "not an image". */
export function sniffFormat(bytes: Uint8Array): string | undefined {
  const at = (offset: number, text: string) =>
    bytes.length >= offset + text.length &&
    Buffer.from(bytes.subarray(offset, offset + text.length)).toString('latin1') === text;
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (at(0, '\x89PNG\r\n\x1a\n')) return 'png';
  if (at(0, 'GIF87a') || at(0, 'GIF89a')) return 'gif';
  if (at(0, 'RIFF') && at(8, 'WEBP')) return 'webp';
  if (at(0, 'II*\x00') || at(0, 'MM\x00*')) return 'tiff';
  // ISO-BMFF: only the HEIF/AVIF brands are images (an MP4 video has the same box layout).
  if (
    at(4, 'ftyp') &&
    ['heic', 'heix', 'hevc', 'heim', 'heis', 'mif1', 'msf1', 'avif', 'avis'].some((brand) => at(8, brand))
  )
    return 'heif';
  if (at(0, 'BM')) return 'bmp';
  return undefined;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0].trim();
}
