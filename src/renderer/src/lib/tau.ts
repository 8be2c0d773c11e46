/**
 * Client-side τ filtering: the kept decision of DESIGN.md §5 (keep a candidate when DoS > τ), computed from stored
 * scores so that moving the τ slider never asks the engine for anything.
 */

/**
 * Distinctiveness scores prepared for repeated τ queries.
 *
 * `sorted` holds the finite DoS values in ascending order, so the number kept at any τ is one binary search.
 * Candidates without a DoS (single-mask images, where no ratio exists) are counted in `singleMask`.
 */
export interface DosIndex {
  // in: DoS per scored candidate, ascending, float64[n]
  sorted: Float64Array;
  singleMask: number;
}

/**
 * Builds the ascending index over candidates' DoS.
 *
 * `null`, `undefined` and NaN mean "no ratio" (single-mask image) and are counted apart; ±Infinity is kept as is
 * (a DoS of +∞ happens when every other mask's product is 0).
 */
export function buildDosIndex(scores: ArrayLike<number | null | undefined>): DosIndex {
  const values = new Float64Array(scores.length);
  let n = 0;
  let singleMask = 0;
  for (let i = 0; i < scores.length; i++) {
    const value = scores[i];
    if (value === null || value === undefined || Number.isNaN(value)) singleMask++;
    else values[n++] = value;
  }
  const sorted = values.slice(0, n).sort();
  return { sorted, singleMask };
}

/**
 * Number of scored candidates with DoS strictly greater than τ (the reference's `doc > τ`).
 *
 * O(log n) on the index; 10,000 candidates take microseconds.
 */
export function keptCount(index: DosIndex, tau: number): number {
  if (Number.isNaN(tau)) throw new Error(`keptCount: tau must be a number, got NaN`);
  return index.sorted.length - upperBound(index.sorted, tau);
}

/** The kept decision for one candidate; `null` DoS (single-mask) is decided by the single-mask policy instead. */
export function isKept(dos: number | null | undefined, tau: number): boolean | null {
  if (dos === null || dos === undefined || Number.isNaN(dos)) return null;
  return dos > tau;
}

/**
 * Share of scored candidates kept at each τ of `taus`, in [0, 1]; an empty index gives zeros.
 */
export function keptShareCurve(index: DosIndex, taus: ArrayLike<number>): Float64Array {
  const out = new Float64Array(taus.length);
  const n = index.sorted.length;
  if (n === 0) return out;
  for (let i = 0; i < taus.length; i++) out[i] = keptCount(index, taus[i]) / n;
  return out;
}

/** One histogram: `counts[b]` holds values in [edges[b], edges[b+1]); the last bin also holds values ≥ its edge. */
export interface Histogram {
  edges: Float64Array;
  counts: Uint32Array;
}

/**
 * Fixed-width histogram over [min, max) with `bins` bins; values below `min` go to the first bin and values at or
 * above `max` (including +∞) to the last, so that no candidate silently disappears from the plot.
 */
export function histogram(values: ArrayLike<number>, options: { min: number; max: number; bins: number }): Histogram {
  const { min, max, bins } = options;
  if (!Number.isInteger(bins) || bins < 1) throw new Error(`histogram: bins must be a positive integer, got ${bins}`);
  if (!(max > min)) throw new Error(`histogram: max (${max}) must be greater than min (${min})`);
  const width = (max - min) / bins;
  const edges = new Float64Array(bins + 1);
  for (let b = 0; b <= bins; b++) edges[b] = min + b * width;
  const counts = new Uint32Array(bins);
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (Number.isNaN(value)) continue;
    const b = Math.floor((value - min) / width);
    counts[b < 0 ? 0 : b >= bins ? bins - 1 : b]++;
  }
  return { edges, counts };
}

// First index whose value is > x in an ascending array (so everything before it is ≤ x).
function upperBound(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
