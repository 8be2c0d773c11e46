/**
 * The pure maths of SAM's automatic mask generator (`segment_anything/utils/amg.py`, `automatic_mask_generator.py`;
 * research/contracts.md §1.7): point grids, stability score, torchvision box NMS, crop boxes, crop-edge test.
 *
 * Boxes here are SAM's XYXY with x1/y1 the index of the last set pixel (`batched_mask_to_box`); NMS measures them as
 * torchvision does, `(x1 − x0) · (y1 − y0)`, so the numbers match the reference.
 */
import type { Box } from '../image/index.ts';

/** The generator's knobs (SAM v1 names, camelCase). */
export interface AmgOptions {
  /** Grid points per image side (n² single-point prompts per crop). */
  pointsPerSide: number;
  /** Keep masks whose predicted IoU is strictly above this. */
  predIouThresh: number;
  /** Keep masks whose stability score is at least this. */
  stabilityScoreThresh: number;
  /** Logit offset of the stability score. */
  stabilityScoreOffset: number;
  /** Box NMS IoU threshold within a crop. */
  boxNmsThresh: number;
  /** Extra crop layers (0: the whole image only). */
  cropNLayers: number;
  /** Box NMS IoU threshold across crops. */
  cropNmsThresh: number;
  /** Overlap of neighbouring crops, as a share of the short image side. */
  cropOverlapRatio: number;
  /** Layer i uses pointsPerSide / factor^i points per side. */
  cropNPointsDownscaleFactor: number;
  /** If > 0, remove islands and fill holes smaller than this many pixels (8-connectivity). */
  minMaskRegionArea: number;
  /** Logit threshold of "inside" (`sam.mask_threshold`). */
  maskThreshold: number;
}

/** SAM v1's `SamAutomaticMaskGenerator` defaults. */
export const SAM_AMG_DEFAULTS: Readonly<AmgOptions> = Object.freeze({
  pointsPerSide: 32,
  predIouThresh: 0.88,
  stabilityScoreThresh: 0.95,
  stabilityScoreOffset: 1.0,
  boxNmsThresh: 0.7,
  cropNLayers: 0,
  cropNmsThresh: 0.7,
  cropOverlapRatio: 512 / 1500,
  cropNPointsDownscaleFactor: 1,
  minMaskRegionArea: 0,
  maskThreshold: 0,
});

/** Presets: `sam` = SAM's defaults; `reference` = Pseudo-RIS (`cutler_sam_masks.py` overrides pred_iou_thresh = 0.5). */
export const AMG_PRESETS: Readonly<Record<'sam' | 'reference', Readonly<AmgOptions>>> = Object.freeze({
  sam: SAM_AMG_DEFAULTS,
  reference: Object.freeze({ ...SAM_AMG_DEFAULTS, predIouThresh: 0.5 }),
});

/** Checks generator options and names the first bad one. */
export function checkAmgOptions(options: AmgOptions): void {
  const positiveInt = (name: keyof AmgOptions) => {
    const v = options[name];
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  };
  const inRange = (name: keyof AmgOptions, lo: number, hi: number) => {
    const v = options[name];
    if (!(typeof v === 'number' && v >= lo && v <= hi))
      throw new RangeError(`${name} must be in [${lo}, ${hi}], got ${v}`);
  };
  positiveInt('pointsPerSide');
  positiveInt('cropNPointsDownscaleFactor');
  inRange('predIouThresh', -Infinity, Infinity);
  inRange('stabilityScoreThresh', 0, 1);
  inRange('stabilityScoreOffset', 0, Infinity);
  inRange('boxNmsThresh', 0, 1);
  inRange('cropNmsThresh', 0, 1);
  inRange('cropOverlapRatio', 0, 1);
  inRange('minMaskRegionArea', 0, Infinity);
  inRange('maskThreshold', -Infinity, Infinity);
  if (!Number.isInteger(options.cropNLayers) || options.cropNLayers < 0) {
    throw new RangeError(`cropNLayers must be a non-negative integer, got ${options.cropNLayers}`);
  }
}

/**
 * SAM's `build_point_grid(n)`: n² points in [0, 1]², offset 1/(2n) from the edges; row-major over y, x fastest.
 *
 * out: float64[n·n, 2] as a flat array (x, y, x, y, …)
 */
export function buildPointGrid(n: number): Float64Array {
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(`points per side must be a positive integer, got ${n}`);
  const offset = 1 / (2 * n);
  const step = n === 1 ? 0 : (1 - 2 * offset) / (n - 1); // np.linspace(offset, 1 − offset, n)
  const grid = new Float64Array(n * n * 2);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      grid[2 * (y * n + x)] = offset + x * step;
      grid[2 * (y * n + x) + 1] = offset + y * step;
    }
  }
  return grid;
}

/**
 * SAM's stability score: `#(logit > t + offset) / #(logit > t − offset)` over one mask's logits (an IoU, since the
 * first set is inside the second). 0 when no logit exceeds t − offset (SAM would divide by zero and drop the mask).
 *
 * in: logits float32[…], the mask is `logits[start … start + length)`
 */
export function stabilityScore(
  logits: Float32Array,
  threshold: number,
  offset: number,
  start = 0,
  length = logits.length - start,
): number {
  const high = threshold + offset;
  const low = threshold - offset;
  let intersections = 0;
  let unions = 0;
  const end = start + length;
  for (let i = start; i < end; i++) {
    const v = logits[i];
    if (v > low) {
      unions++;
      if (v > high) intersections++;
    }
  }
  return unions === 0 ? 0 : intersections / unions;
}

/** torchvision's `box_iou` for XYXY boxes: areas are (x1 − x0)·(y1 − y0), no +1. */
export function boxIou(a: Box, b: Box): number {
  const areaA = (a.x1 - a.x0) * (a.y1 - a.y0);
  const areaB = (b.x1 - b.x0) * (b.y1 - b.y0);
  const w = Math.max(0, Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0));
  const h = Math.max(0, Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0));
  const inter = w * h;
  const union = areaA + areaB - inter;
  // torchvision divides anyway (0/0 = NaN, never > threshold); degenerate boxes never suppress.
  return union > 0 ? inter / union : 0;
}

/**
 * torchvision `nms` (one category, as SAM's `batched_nms` with all-zero categories): visit boxes by descending
 * score, drop every later box whose IoU with a kept box is strictly above `iouThreshold`. Returns kept indices in
 * descending score order; ties keep the input order.
 */
export function boxNms(boxes: readonly Box[], scores: ArrayLike<number>, iouThreshold: number): number[] {
  if (boxes.length !== scores.length)
    throw new RangeError(`boxNms: ${boxes.length} boxes but ${scores.length} scores`);
  const order = [...boxes.keys()].sort((i, j) => scores[j] - scores[i] || i - j);
  const removed = new Uint8Array(boxes.length);
  const keep: number[] = [];
  for (let a = 0; a < order.length; a++) {
    const i = order[a];
    if (removed[i]) continue;
    keep.push(i);
    for (let b = a + 1; b < order.length; b++) {
      const j = order[b];
      if (!removed[j] && boxIou(boxes[i], boxes[j]) > iouThreshold) removed[j] = 1;
    }
  }
  return keep;
}

/** A crop box XYWH-free: [x0, y0, x1, y1) in pixels (SAM's crop boxes are XYXY with exclusive right/bottom). */
export interface CropBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  /** Crop layer (0 = the whole image). */
  layer: number;
}

/**
 * SAM's `generate_crop_boxes`: layer 0 is the whole image; layer i ≥ 1 splits it into (2^i)² overlapping crops with
 * `overlap = int(overlapRatio · short side · 2 / 2^i)` and `crop_len = ceil((overlap·(n − 1) + side) / n)`.
 */
export function generateCropBoxes(
  size: { width: number; height: number },
  nLayers: number,
  overlapRatio: number,
): CropBox[] {
  const { width, height } = size;
  const boxes: CropBox[] = [{ x0: 0, y0: 0, x1: width, y1: height, layer: 0 }];
  const shortSide = Math.min(width, height);
  for (let layer = 1; layer <= nLayers; layer++) {
    const perSide = 2 ** layer;
    const overlap = Math.trunc(overlapRatio * shortSide * (2 / perSide));
    const cropW = Math.ceil((overlap * (perSide - 1) + width) / perSide);
    const cropH = Math.ceil((overlap * (perSide - 1) + height) / perSide);
    const starts = (len: number) =>
      Array.from({ length: perSide }, (_, i) => Math.trunc((len - overlap) * i));
    // SAM iterates product(crop_box_x0, crop_box_y0): x outer, y inner.
    for (const x0 of starts(cropW)) {
      for (const y0 of starts(cropH)) {
        boxes.push({ x0, y0, x1: Math.min(x0 + cropW, width), y1: Math.min(y0 + cropH, height), layer });
      }
    }
  }
  return boxes;
}

/**
 * SAM's `is_box_near_crop_edge`: true when the (uncropped) box lies within `atol` pixels of an edge of its crop that
 * is not also an edge of the image. Always false for the whole-image crop.
 */
export function isBoxNearCropEdge(
  box: Box,
  crop: CropBox,
  image: { width: number; height: number },
  atol = 20,
): boolean {
  const near = (a: number, b: number) => Math.abs(a - b) <= atol;
  const edges: Array<[number, number, number]> = [
    [box.x0, crop.x0, 0],
    [box.y0, crop.y0, 0],
    [box.x1, crop.x1, image.width],
    [box.y1, crop.y1, image.height],
  ];
  return edges.some(([value, cropEdge, imageEdge]) => near(value, cropEdge) && !near(value, imageEdge));
}
