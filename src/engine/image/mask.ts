/**
 * Binary-mask utilities: area, box, IoU, connected components, small-region cleanup, PNG read/write.
 *
 * Masks are `BinaryMask` (row-major, one byte per pixel, 0 or 1) at image resolution. COCO RLE lives in `rle.ts`,
 * polygons in `polygon.ts`, resizing in `resize.ts`.
 */
import sharp from 'sharp';
import type { BinaryMask, Box, Size } from './types.ts';

/** Number of set pixels. */
export function maskArea(mask: BinaryMask): number {
  const d = mask.data;
  let area = 0;
  for (let i = 0; i < d.length; i++) if (d[i] !== 0) area++;
  return area;
}

/**
 * The tight box of the set pixels, XYXY with x1/y1 the index of the last set column/row (SAM's
 * `batched_mask_to_box`, torchvision's `masks_to_boxes`); null for an empty mask (SAM writes [0,0,0,0] there).
 */
export function maskBox(mask: BinaryMask): Box | null {
  const { width, height, data } = mask;
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    let first = -1;
    let last = -1;
    for (let x = 0; x < width; x++) {
      if (data[row + x] !== 0) {
        if (first < 0) first = x;
        last = x;
      }
    }
    if (first >= 0) {
      if (y < y0) y0 = y;
      y1 = y;
      if (first < x0) x0 = first;
      if (last > x1) x1 = last;
    }
  }
  return x1 < 0 ? null : { x0, y0, x1, y1 };
}

/** A box as COCO's `[x, y, width, height]` (width = x1 − x0 + 1, pycocotools' `toBbox` of the mask). */
export function boxToXywh(box: Box | null): [number, number, number, number] {
  if (box === null) return [0, 0, 0, 0];
  return [box.x0, box.y0, box.x1 - box.x0 + 1, box.y1 - box.y0 + 1];
}

/** Intersection over union of two masks of the same size; 0 when both are empty. */
export function maskIou(a: BinaryMask, b: BinaryMask): number {
  sameSize(a, b, 'maskIou');
  let intersection = 0;
  let union = 0;
  const da = a.data;
  const db = b.data;
  for (let i = 0; i < da.length; i++) {
    const x = da[i] !== 0;
    const y = db[i] !== 0;
    if (x && y) intersection++;
    if (x || y) union++;
  }
  return union === 0 ? 0 : intersection / union;
}

/** |a ∩ b| and the areas of a and b, in one pass (for containment rules). */
export function maskOverlap(
  a: BinaryMask,
  b: BinaryMask,
): { intersection: number; areaA: number; areaB: number } {
  sameSize(a, b, 'maskOverlap');
  let intersection = 0;
  let areaA = 0;
  let areaB = 0;
  for (let i = 0; i < a.data.length; i++) {
    const x = a.data[i] !== 0;
    const y = b.data[i] !== 0;
    if (x) areaA++;
    if (y) areaB++;
    if (x && y) intersection++;
  }
  return { intersection, areaA, areaB };
}

/** Which image borders (top, right, bottom, left) the mask touches. */
export function bordersTouched(mask: BinaryMask): {
  top: boolean;
  right: boolean;
  bottom: boolean;
  left: boolean;
  count: number;
} {
  const box = maskBox(mask);
  if (box === null) return { top: false, right: false, bottom: false, left: false, count: 0 };
  const top = box.y0 === 0;
  const left = box.x0 === 0;
  const right = box.x1 === mask.width - 1;
  const bottom = box.y1 === mask.height - 1;
  return { top, right, bottom, left, count: Number(top) + Number(right) + Number(bottom) + Number(left) };
}

/** A binary mask from logits: inside where `logit > threshold` (SAM's mask_threshold 0). */
export function binarize(logits: Float32Array, size: Size, threshold = 0): BinaryMask {
  if (logits.length !== size.width * size.height) {
    throw new RangeError(`logits has ${logits.length} values, expected ${size.width}·${size.height}`);
  }
  const data = new Uint8Array(logits.length);
  for (let i = 0; i < logits.length; i++) data[i] = logits[i] > threshold ? 1 : 0;
  return { width: size.width, height: size.height, data };
}

/** Connected components of the pixels equal to `value`. */
export interface Components {
  /** Per pixel: 0 for pixels not equal to `value`, else the component's label 1..count. */
  labels: Int32Array;
  count: number;
  /** areas[label] (areas[0] unused). */
  areas: number[];
}

/**
 * Labels the connected components of the pixels equal to `value` (1 = foreground, 0 = holes/background), with
 * 8-connectivity (as OpenCV's `connectedComponentsWithStats(..., 8)` in SAM's `remove_small_regions`).
 */
export function connectedComponents(mask: BinaryMask, value: 0 | 1 = 1, connectivity: 4 | 8 = 8): Components {
  const { width, height, data } = mask;
  const labels = new Int32Array(width * height);
  const areas = [0];
  const stack: number[] = [];
  let count = 0;
  for (let start = 0; start < data.length; start++) {
    if (labels[start] !== 0 || (data[start] !== 0 ? 1 : 0) !== value) continue;
    count++;
    let area = 0;
    labels[start] = count;
    stack.push(start);
    while (stack.length > 0) {
      const p = stack.pop() as number;
      area++;
      const x = p % width;
      const y = (p - x) / width;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          if (dx === 0 && dy === 0) continue;
          if (connectivity === 4 && dx !== 0 && dy !== 0) continue;
          const nx = x + dx;
          if (nx < 0 || nx >= width) continue;
          const q = ny * width + nx;
          if (labels[q] === 0 && (data[q] !== 0 ? 1 : 0) === value) {
            labels[q] = count;
            stack.push(q);
          }
        }
      }
    }
    areas.push(area);
  }
  return { labels, count, areas };
}

/**
 * SAM's `remove_small_regions`: mode 'holes' fills background components (8-connected) smaller than
 * `areaThreshold`; mode 'islands' removes foreground components smaller than it, keeping the largest island when
 * every island is small. Returns the new mask and whether anything changed (SAM scores unchanged masks 1 for the
 * NMS that follows).
 */
export function removeSmallRegions(
  mask: BinaryMask,
  areaThreshold: number,
  mode: 'holes' | 'islands',
): { mask: BinaryMask; changed: boolean } {
  const holes = mode === 'holes';
  const { labels, count, areas } = connectedComponents(mask, holes ? 0 : 1, 8);
  const small = new Uint8Array(count + 1);
  let smallCount = 0;
  for (let label = 1; label <= count; label++) {
    if (areas[label] < areaThreshold) {
      small[label] = 1;
      smallCount++;
    }
  }
  if (smallCount === 0) return { mask, changed: false };
  const out = new Uint8Array(mask.data.length);
  if (holes) {
    for (let i = 0; i < out.length; i++) out[i] = mask.data[i] !== 0 || small[labels[i]] === 1 ? 1 : 0;
  } else {
    const keep = new Uint8Array(count + 1);
    for (let label = 1; label <= count; label++) keep[label] = small[label] === 1 ? 0 : 1;
    if (smallCount === count) {
      let largest = 1;
      for (let label = 2; label <= count; label++) if (areas[label] > areas[largest]) largest = label;
      keep[largest] = 1;
    }
    for (let i = 0; i < out.length; i++) out[i] = labels[i] !== 0 && keep[labels[i]] === 1 ? 1 : 0;
  }
  return { mask: { width: mask.width, height: mask.height, data: out }, changed: true };
}

/** Reads a mask PNG (or any image sharp reads): a pixel is inside when its first channel is ≥ 128. */
export async function readMaskPng(input: string | Buffer): Promise<BinaryMask> {
  const { data, info } = await sharp(input).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  const out = new Uint8Array(info.width * info.height);
  for (let i = 0; i < out.length; i++) out[i] = data[i] >= 128 ? 1 : 0;
  return { width: info.width, height: info.height, data: out };
}

/** Encodes a mask as an 8-bit greyscale PNG, 0 outside and 255 inside (the reference's mask files). */
export async function encodeMaskPng(mask: BinaryMask): Promise<Buffer> {
  const pixels = Buffer.alloc(mask.data.length);
  for (let i = 0; i < pixels.length; i++) pixels[i] = mask.data[i] !== 0 ? 255 : 0;
  // without b-w sharp writes one-channel raw input as RGB (PNG colour type 2); b-w gives colour type 0
  return sharp(pixels, { raw: { width: mask.width, height: mask.height, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toBuffer();
}

function sameSize(a: BinaryMask, b: BinaryMask, what: string): void {
  if (a.width !== b.width || a.height !== b.height) {
    throw new RangeError(`${what}: masks differ in size (${a.width}×${a.height} vs ${b.width}×${b.height})`);
  }
}
