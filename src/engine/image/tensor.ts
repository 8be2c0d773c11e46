/**
 * The two preprocessing paths of DESIGN.md §4, from an upright RGB image to model input tensors.
 *
 * - SAM encoder: resize the longest side to 1024 (`int(x·scale + 0.5)`), bilinear as PIL does it (SAM resizes with
 *   `torchvision…resize(to_pil_image(img))`), normalize with SAM's mean/std on the 0–255 scale, zero-pad bottom/right
 *   → float32[1,3,1024,1024].
 * - OpenAI-normalized CHW: `(x/255 − mean)/std` per channel → float32[3,H,W]; crops for CoCa and CLIP start here.
 *
 * All functions are pure and synchronous over typed arrays; tensors are plain `{ data, dims }` (the caller wraps them
 * in `ort.Tensor`).
 */
import type { RgbImage, Size } from './types.ts';

/** SAM's pixel mean and std on the 0–255 scale (ImageNet's × 255), as in segment_anything/modeling/sam.py. */
export const SAM_MEAN: readonly [number, number, number] = [123.675, 116.28, 103.53];
export const SAM_STD: readonly [number, number, number] = [58.395, 57.12, 57.375];

/** OpenAI CLIP mean and std on the 0–1 scale (open_clip OPENAI_DATASET_MEAN/STD), used by CoCa and CLIP. */
export const OPENAI_MEAN: readonly [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
export const OPENAI_STD: readonly [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

/** A float tensor as plain data: row-major values and their dims. */
export interface FloatTensor {
  data: Float32Array;
  dims: number[];
}

/** SAM encoder input plus the sizes needed to map prompts and masks between frames. */
export interface SamEncoderInput extends FloatTensor {
  /** The image's size before resizing (what the decoder's `orig_im_size` wants, as (H, W)). */
  original: Size;
  /** The resized image inside the padded square (the pre-padding size masks are cropped to). */
  resized: Size;
}

/** Options of {@link samEncoderInput}; defaults are SAM's. */
export interface SamPreprocess {
  longestSide?: number;
  mean?: readonly [number, number, number];
  std?: readonly [number, number, number];
}

/**
 * The size SAM resizes an image to: longest side `longestSide`, the other `int(x·scale + 0.5)`.
 *
 * `ResizeLongestSide.get_preprocess_shape` in segment_anything/utils/transforms.py.
 */
export function samResizedSize(size: Size, longestSide = 1024): Size {
  checkSize(size, 'size');
  if (!(Number.isInteger(longestSide) && longestSide > 0))
    throw new RangeError(`longestSide must be a positive integer, got ${longestSide}`);
  const scale = longestSide / Math.max(size.width, size.height);
  // At least 1 pixel: SAM would produce an empty side for a 3000×1 strip and fail; we keep one row.
  return {
    width: Math.max(1, Math.trunc(size.width * scale + 0.5)),
    height: Math.max(1, Math.trunc(size.height * scale + 0.5)),
  };
}

/**
 * Builds the SAM encoder input of an image.
 *
 * in: image RGB uint8 [H,W,3] · out: float32[1,3,L,L] (L = longestSide, 1024 for SAM), normalized, zero-padded
 * bottom/right (zero *after* normalization, as `Sam.preprocess` pads).
 */
export function samEncoderInput(image: RgbImage, options: SamPreprocess = {}): SamEncoderInput {
  checkImage(image);
  const side = options.longestSide ?? 1024;
  const mean = options.mean ?? SAM_MEAN;
  const std = options.std ?? SAM_STD;
  const resized = samResizedSize(image, side);
  const small = resizeBilinear(image, resized);
  const plane = side * side;
  const data = new Float32Array(3 * plane); // zeros = the padding
  for (let c = 0; c < 3; c += 1) {
    const table = lookupTable((v) => (v - mean[c]) / std[c]);
    const offset = c * plane;
    for (let y = 0; y < resized.height; y += 1) {
      let source = y * resized.width * 3 + c;
      const row = offset + y * side;
      for (let x = 0; x < resized.width; x += 1, source += 3) data[row + x] = table[small.data[source]];
    }
  }
  return { data, dims: [1, 3, side, side], original: { width: image.width, height: image.height }, resized };
}

/**
 * OpenAI-normalized planar float image.
 *
 * in: image RGB uint8 [H,W,3] · out: float32[3,H,W] with `(x/255 − mean[c]) / std[c]`.
 */
export function openAiNormalizedChw(
  image: RgbImage,
  mean: readonly [number, number, number] = OPENAI_MEAN,
  std: readonly [number, number, number] = OPENAI_STD,
): FloatTensor {
  checkImage(image);
  const plane = image.width * image.height;
  const data = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c += 1) {
    const table = lookupTable((v) => (v / 255 - mean[c]) / std[c]);
    const offset = c * plane;
    for (let i = 0, source = c; i < plane; i += 1, source += 3) data[offset + i] = table[image.data[source]];
  }
  return { data, dims: [3, image.height, image.width] };
}

/** The 256 float32 results of `f` over 8-bit values: same numbers as computing per pixel, without the division. */
function lookupTable(f: (value: number) => number): Float32Array {
  const table = new Float32Array(256);
  for (let v = 0; v < 256; v += 1) table[v] = f(v);
  return table;
}

/** Fixed-point bits of Pillow's 8-bit resampler (`PRECISION_BITS = 32 − 8 − 2`). */
const PRECISION_BITS = 22;

/**
 * Bilinear resize of an 8-bit RGB image, bit-exact with Pillow's `Image.resize(size, BILINEAR)`.
 *
 * Pillow's resampler (libImaging/Resample.c): a triangle filter whose support widens with the reduction factor (so
 * downscaling averages, i.e. antialiases), pixel centres at +0.5, integer coefficients with 22 fractional bits,
 * a horizontal pass rounded to 8 bits, then a vertical pass. SAM's reference preprocessing resizes through PIL, so
 * this reproduces its encoder input exactly.
 */
export function resizeBilinear(image: RgbImage, size: Size): RgbImage {
  checkImage(image);
  checkSize(size, 'target size');
  if (size.width === image.width && size.height === image.height)
    return { ...size, data: image.data.slice() };
  let current: RgbImage = image;
  if (size.width !== image.width) current = resamplePass(current, size.width, 'horizontal');
  if (size.height !== image.height) current = resamplePass(current, size.height, 'vertical');
  return current;
}

/** Coefficients of one output pixel: first input index, then integer weights. */
interface Coefficients {
  start: Int32Array;
  count: Int32Array;
  weights: Int32Array;
  kernelSize: number;
}

/** Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` for the bilinear (triangle, support 1) filter. */
function coefficients(inSize: number, outSize: number): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale; // bilinear support 1.0 × filterScale
  const kernelSize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * kernelSize);
  const k = new Float64Array(kernelSize);
  for (let out = 0; out < outSize; out += 1) {
    const center = (out + 0.5) * scale;
    // C casts truncate toward zero; then clamp to the image.
    const min = Math.max(Math.trunc(center - support + 0.5), 0);
    const max = Math.min(Math.trunc(center + support + 0.5), inSize) - min;
    let total = 0;
    for (let x = 0; x < max; x += 1) {
      const t = Math.abs((x + min - center + 0.5) / filterScale);
      k[x] = t < 1 ? 1 - t : 0;
      total += k[x];
    }
    for (let x = 0; x < max; x += 1) {
      const w = total !== 0 ? k[x] / total : k[x];
      weights[out * kernelSize + x] = Math.trunc(
        w < 0 ? -0.5 + w * (1 << PRECISION_BITS) : 0.5 + w * (1 << PRECISION_BITS),
      );
    }
    start[out] = min;
    count[out] = max;
  }
  return { start, count, weights, kernelSize };
}

function resamplePass(image: RgbImage, outSize: number, direction: 'horizontal' | 'vertical'): RgbImage {
  const horizontal = direction === 'horizontal';
  const width = horizontal ? outSize : image.width;
  const height = horizontal ? image.height : outSize;
  const { start, count, weights, kernelSize } = coefficients(
    horizontal ? image.width : image.height,
    outSize,
  );
  const out = new Uint8Array(width * height * 3);
  const input = image.data;
  const half = 1 << (PRECISION_BITS - 1);
  // Input pixels of one output pixel are `step` bytes apart: neighbours in a row, or rows apart.
  const step = horizontal ? 3 : image.width * 3;
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const o = horizontal ? x : y;
      const n = count[o];
      const base = o * kernelSize;
      let source = horizontal ? (y * image.width + start[o]) * 3 : (start[o] * image.width + x) * 3;
      let r = half;
      let g = half;
      let b = half;
      for (let i = 0; i < n; i += 1, source += step) {
        const w = weights[base + i];
        r += input[source] * w;
        g += input[source + 1] * w;
        b += input[source + 2] * w;
      }
      const target = (y * width + x) * 3;
      out[target] = clip8(r);
      out[target + 1] = clip8(g);
      out[target + 2] = clip8(b);
    }
  }
  return { width, height, data: out };
}

function clip8(value: number): number {
  // Sums stay below 2^31 (255 · 2^22 · Σw, Σw ≈ 1), so the arithmetic shift is exact.
  const shifted = value >> PRECISION_BITS;
  return shifted < 0 ? 0 : shifted > 255 ? 255 : shifted;
}

function checkSize(size: Size, what: string): void {
  if (!(Number.isInteger(size.width) && Number.isInteger(size.height) && size.width > 0 && size.height > 0)) {
    throw new RangeError(
      `${what} must have positive integer width and height, got ${size.width}×${size.height}`,
    );
  }
}

function checkImage(image: RgbImage): void {
  checkSize(image, 'image');
  if (image.data.length !== image.width * image.height * 3) {
    throw new RangeError(
      `image data has ${image.data.length} bytes; ${image.width}×${image.height} RGB needs ${image.width * image.height * 3}`,
    );
  }
}
