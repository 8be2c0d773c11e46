/**
 * COCO run-length masks in the renderer: decode the compressed `counts` string (pycocotools' LEB128-like format)
 * and paint a mask into RGBA pixels for the overlay canvas. The engine owns encoding; the UI only reads, with the one decoder of
 * `shared/rle.ts`.
 */
import { rleToRuns, type AnyRle } from '../../../shared/rle.ts';

export { decodeRle } from '../../../shared/rle.ts';

/**
 * Run lengths of a COCO RLE, alternating background/foreground and starting with background, in column-major
 * (Fortran) pixel order.
 */
export function rleRuns(rle: AnyRle): Uint32Array {
  return Uint32Array.from(rleToRuns(rle));
}

/**
 * Paints a decoded mask into RGBA pixels: a translucent fill plus an opaque outline (`outlineWidth` pixels, default 1)
 * where the mask meets background, so that a mask stays visible over an object of its own hue and adjacent masks
 * stay distinguishable.
 */
export function paintMask(
  mask: { width: number; height: number; data: Uint8Array },
  rgb: [number, number, number],
  options: { fillAlpha: number; outlineAlpha: number; outlineWidth?: number },
  // out: RGBA pixels uint8[height*width*4]; allocated when not given
  target?: Uint8ClampedArray,
): Uint8ClampedArray {
  const { width, height, data } = mask;
  const out = target ?? new Uint8ClampedArray(width * height * 4);
  if (out.length !== width * height * 4)
    throw new Error(`paintMask: target holds ${out.length} bytes, need ${width * height * 4}`);
  const fill = Math.round(options.fillAlpha * 255);
  const outline = Math.round(options.outlineAlpha * 255);
  const reach = Math.max(1, Math.round(options.outlineWidth ?? 1));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (!data[i]) continue;
      const o = i * 4;
      out[o] = rgb[0];
      out[o + 1] = rgb[1];
      out[o + 2] = rgb[2];
      out[o + 3] = onEdge(data, width, height, x, y, reach) ? outline : fill;
    }
  }
  return out;
}

// True when a background pixel (or the image border) lies within `reach` pixels along a row or column.
function onEdge(
  data: Uint8Array,
  width: number,
  height: number,
  x: number,
  y: number,
  reach: number,
): boolean {
  for (let d = 1; d <= reach; d++) {
    if (x - d < 0 || y - d < 0 || x + d >= width || y + d >= height) return true;
    const i = y * width + x;
    if (!data[i - d] || !data[i + d] || !data[i - d * width] || !data[i + d * width]) return true;
  }
  return false;
}

/**
 * Paints a dark halo one pixel wide just outside a mask (background pixels 4-adjacent to it) where nothing is painted
 * yet, so that an outline stays visible over an object of the mask's own colour ("outline first").
 */
export function paintHalo(
  mask: { width: number; height: number; data: Uint8Array },
  alpha: number,
  // in/out: RGBA pixels uint8[height*width*4]
  target: Uint8ClampedArray,
): Uint8ClampedArray {
  const { width, height, data } = mask;
  if (target.length !== width * height * 4)
    throw new Error(`paintHalo: target holds ${target.length} bytes, need ${width * height * 4}`);
  const a = Math.round(alpha * 255);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (data[i]) continue;
      const touches =
        (x > 0 && data[i - 1]) ||
        (x < width - 1 && data[i + 1]) ||
        (y > 0 && data[i - width]) ||
        (y < height - 1 && data[i + width]);
      if (!touches || target[i * 4 + 3] > 0) continue;
      target[i * 4] = 0;
      target[i * 4 + 1] = 0;
      target[i * 4 + 2] = 0;
      target[i * 4 + 3] = a;
    }
  }
  return target;
}

/**
 * Where to write a mask's number: the mask pixel nearest to its centroid (the centroid itself for convex shapes; a
 * pixel of the mask for rings and crescents, whose centroid lies outside). Null for an empty mask.
 */
export function labelPoint(mask: {
  width: number;
  height: number;
  data: Uint8Array;
}): { x: number; y: number } | null {
  const { width, height, data } = mask;
  let n = 0;
  let sx = 0;
  let sy = 0;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      if (data[y * width + x]) {
        n++;
        sx += x;
        sy += y;
      }
  if (n === 0) return null;
  const cx = sx / n;
  const cy = sy / n;
  let best = { x: Math.round(cx), y: Math.round(cy) };
  if (data[best.y * width + best.x]) return best;
  let bestD = Infinity;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      if (data[y * width + x]) {
        const d = (x - cx) ** 2 + (y - cy) ** 2;
        if (d < bestD) {
          bestD = d;
          best = { x, y };
        }
      }
  return best;
}
