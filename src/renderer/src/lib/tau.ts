/**
 * A client-side DoS histogram over stored scores. (The kept-share curve is the engine's: the report reads it from
 * the columnar kept counter, shared/kept-counter.ts.)
 */

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
