/**
 * COCO run-length encoding, byte-exact with pycocotools (`maskApi.c`); the format and the decoder are described
 * and implemented once in `shared/rle.ts`.
 */
import { rleToRuns, type AnyRle, type Rle } from '../../shared/rle.ts';
import type { BinaryMask } from './types.ts';

// Decoding and the RLE type are shared with the page (shared/rle.ts); the engine adds encoding and measures.
export { decodeRle, runsToMask, stringToRuns, type AnyRle, type Rle } from '../../shared/rle.ts';

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

/** Encodes a mask as COCO compressed RLE. */
export function encodeRle(mask: BinaryMask): Rle {
  return { size: [mask.height, mask.width], counts: runsToString(maskToRuns(mask)) };
}

/** Number of set pixels (pycocotools `area`). */
export function rleArea(rle: Pick<AnyRle, 'counts'>): number {
  const runs = rleToRuns(rle);
  let area = 0;
  for (let i = 1; i < runs.length; i += 2) area += runs[i];
  return area;
}

/** Bounding box [x, y, w, h] (pycocotools `toBbox`, `rleToBbox`); [0, 0, 0, 0] for an empty mask. */
export function rleToBbox(rle: AnyRle): [number, number, number, number] {
  const height = rle.size[0];
  const runs = rleToRuns(rle);
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
