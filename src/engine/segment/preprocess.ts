/**
 * SAM's image-encoder input and coordinate frame (research/contracts.md §1.2).
 *
 * `ResizeLongestSide(1024)`: scale = 1024 / max(H, W), new size `int(x·scale + 0.5)`; points map with
 * `x' = x · newW / W`, `y' = y · newH / H`. The encoder input (image/tensor.ts) is the image resized with PIL
 * bilinear on uint8 (torchvision `resize(to_pil_image(img))`), normalized with SAM's mean/std on the 0–255 scale and
 * zero-padded bottom/right to 1024×1024.
 */
import {
  SAM_MEAN,
  SAM_STD,
  samEncoderInput as encoderInput,
  samResizedSize,
  type RgbImage,
  type Size,
} from '../image/index.ts';

export { SAM_MEAN, SAM_STD };

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

/** `ResizeLongestSide.get_preprocess_shape`: the resized size, `int(x · scale + 0.5)` per side (image/tensor.ts). */
export function resizedSize(size: Size, longestSide = 1024): Size {
  return samResizedSize(size, longestSide);
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
 * The encoder input: resize (Pillow-exact bilinear on uint8), normalize `(x − mean) / std`, zero-pad bottom/right.
 * Delegates to image/tensor.ts, which owns the preprocessing of both model families.
 *
 * in:  image uint8[H, W, 3]
 * out: float32[1, 3, longestSide, longestSide]
 */
export function samEncoderInput(image: RgbImage, preprocess: SamPreprocess = SAM_PREPROCESS): Float32Array {
  return encoderInput(image, {
    longestSide: preprocess.longestSide,
    mean: preprocess.mean,
    std: preprocess.std,
  }).data;
}
