/**
 * Client-side τ charts: the kept-share curve over the shared kept-count index (shared/decide.ts holds the keep rule
 * itself) and a DoS histogram, computed from stored scores so that moving τ never asks the engine for anything.
 */

import { keptCountAt, type KeptIndex } from '../../../shared/decide.ts';

/**
 * Share of exportable candidates kept at each τ of `taus`, in [0, 1], from the shared kept-count index (policies and
 * review included); an empty project gives zeros.
 */
export function keptShareCurve(index: KeptIndex, taus: ArrayLike<number>): Float64Array {
  const out = new Float64Array(taus.length);
  if (index.total === 0) return out;
  for (let i = 0; i < taus.length; i++) out[i] = keptCountAt(index, taus[i]) / index.total;
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
export function histogram(
  values: ArrayLike<number>,
  options: { min: number; max: number; bins: number },
): Histogram {
  const { min, max, bins } = options;
  if (!Number.isInteger(bins) || bins < 1)
    throw new Error(`histogram: bins must be a positive integer, got ${bins}`);
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
