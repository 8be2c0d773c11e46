/**
 * The four crops per mask that feed the captioner and the scorer (DESIGN.md §5 "Crops").
 *
 * Reproduces the reference (`distinctive_caption_generation.py`): the full image is normalized with the OpenAI
 * mean/std, `(x/255 − mean)/std`; per mask, (a) the masked crop `img·m + (1−m)·fill` cut to the mask's box and (b–d)
 * box crops with margin factors 1.0 / 1.1 / 1.2 (box width and height scaled about its centre, clamped to the image);
 * each is padded to a centred square with the fill value (`pad_left = (max − w) // 2`) and resized bilinearly
 * (torchvision `Resize` on a float tensor: align_corners=False, no antialias) to 224×224.
 *
 * The reference's fill is the mean vector written *in normalized space* (`+ (1 − m) · mean` after normalizing), i.e.
 * the pixel colour mean + mean·std ≈ (0.611, 0.578, 0.521). That is the default; a pixel colour can be given instead.
 *
 * Box arithmetic follows the reference to the pixel: the box is `masks_to_boxes` (inclusive XYXY), the crop size is
 * `x1 − x0` (so the last column and row of the box fall outside the crop, as in the reference), and float corners are
 * truncated with `int()`. `boxSize: 'inclusive'` uses `x1 − x0 + 1` instead.
 */
import type { CropType } from '../../shared/caption.ts';
import { maskBox } from './mask.ts';
import { resizeBilinearChw } from './resize.ts';
import { OPENAI_MEAN, OPENAI_STD, openAiNormalizedChw } from './tensor.ts';
import { boxWindow, type CropWindow } from '../../shared/crop-window.ts';
import type { BinaryMask, RgbImage } from './types.ts';

export { boxWindow, type CropWindow };

/** An RGB triple. */
export type Rgb = readonly [number, number, number];

export { OPENAI_MEAN, OPENAI_STD };
/** The reference's box-crop margin factors (the masked crop uses the plain box). */
export const REFERENCE_MARGINS: readonly number[] = [1.0, 1.1, 1.2];

/** Options of `buildCrops`. */
export interface CropOptions {
  /** Output side in pixels (224 for CoCa ViT-L/14 and CLIP RN50). */
  size?: number;
  /** Normalization mean on the 0–1 scale (default OpenAI). */
  mean?: Rgb;
  /** Normalization std on the 0–1 scale (default OpenAI). */
  std?: Rgb;
  /** Margin factors of the box crops, each ≥ 1 (default 1.0, 1.1, 1.2); the masked crop always comes first. */
  margins?: readonly number[];
  /** The crop types to build, in order (overrides `margins`), e.g. `DEFAULT_CROP_TYPES` of shared/caption.ts. */
  crops?: readonly CropType[];
  /**
   * Fill for pixels outside the mask and for the square padding: 'reference' (the mean vector in normalized space,
   * the reference's choice) or a pixel colour on the 0–1 scale (e.g. the mean colour itself for a neutral grey fill).
   */
  fill?: 'reference' | Rgb;
  /** 'reference': crop width = x1 − x0 as the reference does; 'inclusive': x1 − x0 + 1. */
  boxSize?: 'reference' | 'inclusive';
}

/** One crop kind for every mask of an image, stacked as a batch. */
export interface CropBatch {
  /** The crop type (shared/caption.ts). */
  crop: CropType;
  kind: 'masked' | 'box';
  /** Margin factor: 1 for the masked crop. */
  margin: number;
  /** [n, 3, size, size]. */
  dims: [number, 3, number, number];
  /** in order of the masks; float32[n, 3, size, size], normalized. */
  data: Float32Array;
  /** The window of each mask's crop. */
  windows: CropWindow[];
}

/**
 * Builds the masked crop and the box crops (one batch per kind) for the masks of one image.
 *
 * Returns `[masked, box@margins[0], box@margins[1], …]` (or the batches of `options.crops`, in order); each batch is float32[n, 3, size, size] in normalized space.
 * Masks must be at image resolution and non-empty (an empty mask has no box to crop).
 */
export function buildCrops(
  image: RgbImage,
  masks: readonly BinaryMask[],
  options: CropOptions = {},
): CropBatch[] {
  const size = options.size ?? 224;
  const mean = options.mean ?? OPENAI_MEAN;
  const std = options.std ?? OPENAI_STD;
  const margins = options.margins ?? REFERENCE_MARGINS;
  const inclusive = (options.boxSize ?? 'reference') === 'inclusive';
  if (!Number.isInteger(size) || size < 1)
    throw new RangeError(`crop size must be a positive integer, got ${size}`);
  for (const m of margins) {
    if (!(Number.isFinite(m) && m >= 1))
      throw new RangeError(`crop margins must be finite numbers ≥ 1, got ${m}`);
  }
  checkImage(image);
  const boxes = masks.map((mask, i) => {
    if (mask.width !== image.width || mask.height !== image.height) {
      throw new RangeError(
        `mask ${i} is ${mask.width}×${mask.height}, the image is ${image.width}×${image.height}`,
      );
    }
    const box = maskBox(mask);
    if (box === null) throw new RangeError(`mask ${i} is empty: it has no box to crop`);
    return box;
  });
  const fill = normalizedFill(options.fill ?? 'reference', mean, std);
  const normalized = normalizeImage(image, mean, std);

  const types: readonly CropType[] = options.crops ?? [
    { kind: 'masked' },
    ...margins.map((margin) => ({ kind: 'box' as const, margin })),
  ];
  const n = masks.length;
  const plane = 3 * size * size;
  const batches: CropBatch[] = [];
  for (const crop of types) {
    const margin = crop.kind === 'masked' ? 1 : crop.margin;
    if (!(Number.isFinite(margin) && margin >= 1))
      throw new RangeError(`crop margins must be finite numbers ≥ 1, got ${margin}`);
    const batch: CropBatch = {
      crop,
      kind: crop.kind,
      margin,
      dims: [n, 3, size, size],
      data: new Float32Array(n * plane),
      windows: [],
    };
    masks.forEach((mask, i) => {
      const window = boxWindow(boxes[i], margin, image, inclusive);
      batch.windows.push(window);
      batch.data.set(
        renderCrop(normalized, image, window, fill, size, crop.kind === 'masked' ? mask : null),
        i * plane,
      );
    });
    batches.push(batch);
  }
  return batches;
}

/**
 * The fill value in normalized space for a fill choice.
 *
 * 'reference' → the mean vector itself (the reference adds `(1 − m) · mean` after normalizing); a pixel colour c on
 * the 0–1 scale → `(c − mean) / std`.
 */
export function normalizedFill(fill: 'reference' | Rgb, mean: Rgb = OPENAI_MEAN, std: Rgb = OPENAI_STD): Rgb {
  if (fill === 'reference') return [mean[0], mean[1], mean[2]];
  if (!Array.isArray(fill) || fill.length !== 3 || fill.some((v) => !Number.isFinite(v))) {
    throw new RangeError(
      `fill must be 'reference' or an RGB triple on the 0–1 scale, got ${JSON.stringify(fill)}`,
    );
  }
  return [(fill[0] - mean[0]) / std[0], (fill[1] - mean[1]) / std[1], (fill[2] - mean[2]) / std[2]];
}

/**
 * The whole image in normalized space: `(x/255 − mean) / std` (image/tensor.ts `openAiNormalizedChw`).
 *
 * in:  image uint8[height, width, 3] (interleaved RGB)
 * out: float32[3, height, width]
 */
export function normalizeImage(
  image: RgbImage,
  mean: Rgb = OPENAI_MEAN,
  std: Rgb = OPENAI_STD,
): Float32Array {
  checkImage(image);
  return openAiNormalizedChw(image, mean, std).data;
}

/** Cuts a window (masked or not) into a fill-padded square and resizes it. out: float32[3, size, size]. */
function renderCrop(
  normalized: Float32Array,
  image: RgbImage,
  window: CropWindow,
  fill: Rgb,
  size: number,
  mask: BinaryMask | null,
): Float32Array {
  const side = window.side;
  const square = new Float32Array(3 * side * side);
  for (let c = 0; c < 3; c++) square.fill(fill[c], c * side * side, (c + 1) * side * side);
  const plane = image.width * image.height;
  for (let row = 0; row < window.height; row++) {
    const sy = window.y + row;
    const dy = window.padTop + row;
    for (let col = 0; col < window.width; col++) {
      const sx = window.x + col;
      const p = sy * image.width + sx;
      if (mask !== null && mask.data[p] === 0) continue;
      const q = dy * side + window.padLeft + col;
      square[q] = normalized[p];
      square[side * side + q] = normalized[plane + p];
      square[2 * side * side + q] = normalized[2 * plane + p];
    }
  }
  if (side === size) return square;
  return resizeBilinearChw(square, 3, { width: side, height: side }, { width: size, height: size });
}

function checkImage(image: RgbImage): void {
  if (
    !Number.isInteger(image.width) ||
    !Number.isInteger(image.height) ||
    image.width < 1 ||
    image.height < 1
  ) {
    throw new RangeError(
      `image must have positive integer width and height, got ${image.width}×${image.height}`,
    );
  }
  if (image.data.length !== image.width * image.height * 3) {
    throw new RangeError(
      `image data has ${image.data.length} bytes, expected width·height·3 = ${image.width * image.height * 3}`,
    );
  }
}
