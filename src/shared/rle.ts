/**
 * COCO run-length masks, decoding side, stated once for the engine and the page (pycocotools `maskApi.c`).
 *
 * Runs are column-major (down each column, then the next column) and start with a run of zeros. The compressed
 * string codes each run in 5-bit groups (+48, bit 0x20 = "more groups follow", sign in bit 0x10 of the last group),
 * and from the fourth run on codes the difference to the run two places back (`if (i > 2) x -= cnts[i-2]`).
 * Encoding lives in the engine (`engine/image/rle.ts`); pure, no Node.
 */

/** A COCO compressed RLE as stored in results, reviews and instances.json: `size` is [height, width]. */
export interface Rle {
  size: [number, number];
  counts: string;
}

/** A COCO RLE as files bring it: compressed (string counts) or uncompressed (number[] run lengths). */
export interface AnyRle {
  size: [number, number];
  counts: string | number[];
}

/** A decoded row-major 0/1 mask: data.length = width · height. */
export interface DecodedMask {
  width: number;
  height: number;
  data: Uint8Array;
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
      if (p >= counts.length)
        throw new Error(`rleRuns: counts string ends inside a number at character ${p}`);
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

/** The column-major runs of a compressed or uncompressed RLE. */
export function rleToRuns(rle: Pick<AnyRle, 'counts'>): number[] {
  if (typeof rle.counts === 'string') return stringToRuns(rle.counts);
  if (Array.isArray(rle.counts)) return rle.counts;
  throw new Error('rleRuns: counts must be a string or an array of numbers');
}

/** Rebuilds the row-major mask from column-major runs; the runs must sum to width·height. */
export function runsToMask(runs: ArrayLike<number>, size: { width: number; height: number }): DecodedMask {
  const { width, height } = size;
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 0 || width < 0)
    throw new Error(
      `decodeRle: size must be [height, width] non-negative integers, got [${height}, ${width}]`,
    );
  const total = width * height;
  const data = new Uint8Array(total);
  let index = 0; // column-major position
  let x = 0; // column and row of `index`, advanced without division
  let y = 0;
  for (let i = 0; i < runs.length; i++) {
    let run = runs[i];
    if (run < 0) throw new Error(`decodeRle: run ${i} is negative (${run})`);
    if (index + run > total)
      throw new Error(`decodeRle: runs cover ${index + run} pixels but the mask has ${total} (run ${i})`);
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

/** Decodes COCO compressed RLE (string counts) or uncompressed RLE (number[] counts) to a row-major mask. */
export function decodeRle(rle: AnyRle): DecodedMask {
  const [height, width] = rle.size;
  return runsToMask(rleToRuns(rle), { width, height });
}
