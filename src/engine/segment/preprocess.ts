/**
 * SAM's image-encoder input and coordinate frame (research/contracts.md §1.2).
 *
 * `ResizeLongestSide(1024)`: scale = 1024 / max(H, W), new size `int(x·scale + 0.5)`; points map with
 * `x' = x · newW / W`, `y' = y · newH / H`. The encoder input is the image resized with PIL bilinear on uint8
 * (torchvision `resize(to_pil_image(img))`), normalized with SAM's mean/std on the 0–255 scale and zero-padded
 * bottom/right to 1024×1024.
 */
import type { RgbImage, Size } from '../image/types.ts';

/** SAM's pixel mean/std on the 0–255 scale (ImageNet × 255). */
export const SAM_MEAN: readonly [number, number, number] = [123.675, 116.28, 103.53];
export const SAM_STD: readonly [number, number, number] = [58.395, 57.12, 57.375];

/** Preprocessing constants of a segmenter (the manifest's `segmenter.preprocess`). */
export interface SamPreprocess {
  longestSide: number;
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

/** The reference constants: longest side 1024, SAM mean/std. */
export const SAM_PREPROCESS: Readonly<SamPreprocess> = Object.freeze({
  longestSide: 1024,
  mean: SAM_MEAN,
  std: SAM_STD,
});

/** `ResizeLongestSide.get_preprocess_shape`: the resized size, `int(x · scale + 0.5)` per side. */
export function resizedSize(size: Size, longestSide = 1024): Size {
  if (!(size.width >= 1 && size.height >= 1))
    throw new RangeError(`image size must be positive, got ${size.width}×${size.height}`);
  const scale = longestSide / Math.max(size.width, size.height);
  return { width: Math.trunc(size.width * scale + 0.5), height: Math.trunc(size.height * scale + 0.5) };
}

/**
 * `ResizeLongestSide.apply_coords`: pixel (x, y) of the original image → the model's 1024 frame.
 *
 * in: points float[n·2] (x, y, …) in original pixels; out: float32[n·2] in the resized frame
 */
export function toModelFrame(points: ArrayLike<number>, size: Size, longestSide = 1024): Float32Array {
  const target = resizedSize(size, longestSide);
  const out = new Float32Array(points.length);
  for (let i = 0; i + 1 < points.length; i += 2) {
    out[i] = points[i] * (target.width / size.width);
    out[i + 1] = points[i + 1] * (target.height / size.height);
  }
  return out;
}

/**
 * The encoder input: resize (PIL bilinear on uint8), normalize `(x − mean) / std`, zero-pad bottom/right.
 *
 * in:  image uint8[H, W, 3]
 * out: float32[1, 3, longestSide, longestSide]
 */
export function samEncoderInput(image: RgbImage, preprocess: SamPreprocess = SAM_PREPROCESS): Float32Array {
  const side = preprocess.longestSide;
  const target = resizedSize(image, side);
  const resized = resizePilBilinear(image, target);
  const plane = side * side;
  const out = new Float32Array(3 * plane); // zeros = the padding, after normalization as SAM does
  for (let c = 0; c < 3; c++) {
    const mean = preprocess.mean[c];
    const std = preprocess.std[c];
    const table = new Float32Array(256);
    for (let v = 0; v < 256; v++) table[v] = (v - mean) / std;
    for (let y = 0; y < target.height; y++) {
      const src = y * target.width * 3 + c;
      const dst = c * plane + y * side;
      for (let x = 0; x < target.width; x++) out[dst + x] = table[resized.data[src + 3 * x]];
    }
  }
  return out;
}

const PRECISION_BITS = 32 - 8 - 2;

/**
 * Pillow's `Image.resize(size, BILINEAR)` on an 8-bit RGB image: a triangle filter whose support widens with the
 * downscale factor (antialiased), fixed-point coefficients, horizontal pass then vertical, each rounded to uint8.
 */
export function resizePilBilinear(image: RgbImage, to: Size): RgbImage {
  let current = image;
  if (to.width !== image.width) current = resamplePass(current, to.width, true);
  if (to.height !== image.height) current = resamplePass(current, to.height, false);
  return current;
}

function resamplePass(image: RgbImage, outSize: number, horizontal: boolean): RgbImage {
  const inSize = horizontal ? image.width : image.height;
  const { bounds, coefficients, taps } = pillowCoefficients(inSize, outSize);
  const width = horizontal ? outSize : image.width;
  const height = horizontal ? image.height : outSize;
  const out = new Uint8Array(width * height * 3);
  const src = image.data;
  const half = 1 << (PRECISION_BITS - 1);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = horizontal ? x : y;
      const start = bounds[2 * o];
      const count = bounds[2 * o + 1];
      for (let c = 0; c < 3; c++) {
        let sum = half;
        for (let k = 0; k < count; k++) {
          const index = horizontal
            ? (y * image.width + start + k) * 3 + c
            : ((start + k) * image.width + x) * 3 + c;
          sum += src[index] * coefficients[o * taps + k];
        }
        const v = sum >> PRECISION_BITS;
        out[(y * width + x) * 3 + c] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
  }
  return { width, height, data: out };
}

/** Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` for the bilinear (triangle) filter. */
function pillowCoefficients(
  inSize: number,
  outSize: number,
): { bounds: Int32Array; coefficients: Int32Array; taps: number } {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 1 * filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const coefficients = new Int32Array(outSize * taps);
  const weights = new Float64Array(taps);
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let total = 0;
    for (let k = 0; k < xmax; k++) {
      const t = Math.abs((k + xmin - center + 0.5) / filterScale);
      const w = t < 1 ? 1 - t : 0;
      weights[k] = w;
      total += w;
    }
    for (let k = 0; k < xmax; k++) {
      const w = total !== 0 ? weights[k] / total : 0;
      coefficients[o * taps + k] = Math.trunc(
        w < 0 ? -0.5 + w * (1 << PRECISION_BITS) : 0.5 + w * (1 << PRECISION_BITS),
      );
    }
    bounds[2 * o] = xmin;
    bounds[2 * o + 1] = xmax;
  }
  return { bounds, coefficients, taps };
}
