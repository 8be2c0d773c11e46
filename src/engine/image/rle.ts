/**
 * COCO run-length encoding, byte-exact with pycocotools (`maskApi.c`).
 *
 * Runs are column-major (down each column, then the next column) and start with a run of zeros. The compressed
 * string codes each run in 5-bit groups (+48, bit 0x20 = "more groups follow", sign in bit 0x10 of the last group),
 * and from the fourth run on codes the difference to the run two places back (`if (i > 2) x -= cnts[i-2]`).
 */
import type { BinaryMask } from './types.ts';

/** A COCO compressed RLE as stored in instances.json: `size` is [height, width]. */
export interface CompressedRle {
  size: [number, number];
  counts: string;
}

/** Column-major run lengths of a mask, starting with a (possibly empty) run of zeros. */
export function maskToRuns(mask: BinaryMask): number[] {
  const { width, height, data } = mask;
  checkMask(mask);
  const runs: number[] = [];
  let current = 0; // value of the run being counted: 0 first
  let length = 0;
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) {
      const value = data[y * width + x] ? 1 : 0;
      if (value !== current) {
        runs.push(length);
        current = value;
        length = 0;
      }
      length++;
    }
  }
  runs.push(length);
  return runs;
}

/** Rebuilds the row-major mask from column-major runs; the runs must sum to width·height. */
export function runsToMask(runs: ArrayLike<number>, size: { width: number; height: number }): BinaryMask {
  const { width, height } = size;
  const total = width * height;
  const data = new Uint8Array(total);
  let index = 0; // column-major position
  let x = 0; // column and row of `index`, advanced without division
  let y = 0;
  for (let i = 0; i < runs.length; i++) {
    let run = runs[i];
    if (run < 0 || index + run > total) {
      throw new Error(`RLE runs overflow a ${width}×${height} mask at run ${i}`);
    }
    index += run;
    while (run > 0) {
      const span = Math.min(run, height - y);
      if (i % 2 === 1) for (let k = 0; k < span; k++) data[(y + k) * width + x] = 1;
      run -= span;
      y += span;
      if (y === height) {
        y = 0;
        x++;
      }
    }
  }
  if (index !== total) throw new Error(`RLE runs cover ${index} pixels, the mask has ${total}`);
  return { width, height, data };
}

/** Encodes column-major runs to the compressed COCO string (pycocotools `rleToString`). */
export function runsToString(runs: ArrayLike<number>): string {
  let out = '';
  for (let i = 0; i < runs.length; i++) {
    let x = runs[i];
    if (i > 2) x -= runs[i - 2];
    let more = true;
    while (more) {
      let c = x & 0x1f;
      x >>= 5;
      more = c & 0x10 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      out += String.fromCharCode(c + 48);
    }
  }
  return out;
}

/** Decodes a compressed COCO string to column-major runs (pycocotools `rleFrString`). */
export function stringToRuns(counts: string): number[] {
  const runs: number[] = [];
  let p = 0;
  while (p < counts.length) {
    let x = 0;
    let k = 0;
    let more = true;
    while (more) {
      if (p >= counts.length) throw new Error(`RLE string ends inside a run at character ${p}`);
      const c = counts.charCodeAt(p) - 48;
      if (c < 0 || c > 63)
        throw new Error(`RLE string has an invalid character ${JSON.stringify(counts[p])} at ${p}`);
      x |= (c & 0x1f) << (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && c & 0x10) x |= -1 << (5 * k);
    }
    if (runs.length > 2) x += runs[runs.length - 2];
    runs.push(x);
  }
  return runs;
}

/** Encodes a mask as COCO compressed RLE. */
export function encodeRle(mask: BinaryMask): CompressedRle {
  return { size: [mask.height, mask.width], counts: runsToString(maskToRuns(mask)) };
}

/** Decodes COCO compressed RLE (string counts) or uncompressed RLE (number[] counts) to a mask. */
export function decodeRle(rle: { size: [number, number]; counts: string | number[] }): BinaryMask {
  const [height, width] = rle.size;
  const runs = typeof rle.counts === 'string' ? stringToRuns(rle.counts) : rle.counts;
  return runsToMask(runs, { width, height });
}

/** Number of set pixels (pycocotools `area`). */
export function rleArea(rle: { counts: string | number[] }): number {
  const runs = typeof rle.counts === 'string' ? stringToRuns(rle.counts) : rle.counts;
  let area = 0;
  for (let i = 1; i < runs.length; i += 2) area += runs[i];
  return area;
}

/** Bounding box [x, y, w, h] (pycocotools `toBbox`, `rleToBbox`); [0, 0, 0, 0] for an empty mask. */
export function rleToBbox(rle: {
  size: [number, number];
  counts: string | number[];
}): [number, number, number, number] {
  const height = rle.size[0];
  const runs = typeof rle.counts === 'string' ? stringToRuns(rle.counts) : rle.counts;
  const m = Math.floor(runs.length / 2) * 2; // a trailing run of zeros adds nothing
  if (m === 0) return [0, 0, 0, 0];
  let xs = rle.size[1];
  let ys = height;
  let xe = 0;
  let ye = 0;
  let cc = 0;
  let xp = 0;
  for (let j = 0; j < m; j++) {
    cc += runs[j];
    const t = cc - (j % 2);
    const y = t % height;
    const x = (t - y) / height;
    if (j % 2 === 0) xp = x;
    else if (xp < x) {
      // a run of ones that wraps into the next column spans the full height
      ys = 0;
      ye = height - 1;
    }
    xs = Math.min(xs, x);
    xe = Math.max(xe, x);
    ys = Math.min(ys, y);
    ye = Math.max(ye, y);
  }
  return [xs, ys, xe - xs + 1, ye - ys + 1];
}

function checkMask(mask: BinaryMask): void {
  if (!Number.isInteger(mask.width) || !Number.isInteger(mask.height) || mask.width < 0 || mask.height < 0) {
    throw new Error(`mask size must be non-negative integers, got ${mask.width}×${mask.height}`);
  }
  if (mask.data.length !== mask.width * mask.height) {
    throw new Error(`mask data has ${mask.data.length} bytes, expected ${mask.width}×${mask.height}`);
  }
  if (mask.width * mask.height >= 2 ** 29) {
    // The 5-bit group decoder shifts in 32-bit integers; runs must stay below 2^29.
    throw new Error(`mask of ${mask.width}×${mask.height} is too large for COCO RLE in this implementation`);
  }
}
