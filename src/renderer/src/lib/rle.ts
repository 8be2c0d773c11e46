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
