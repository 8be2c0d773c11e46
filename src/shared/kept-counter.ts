/**
 * Kept counts at any τ over a whole project's candidate columns, equal to summing the shared rule (`decide`,
 * decide.ts) image by image, without running it per image per τ. Pure, typed arrays only (no Node): the engine
 * answers `filter:counts` and the gallery's pages with it, so a τ move on a 100k-image project re-counts in
 * milliseconds instead of decoding every result.
 *
 * Why the sums are exact — per mask, with no review mark:
 * - a single-mask image (n = 1) is decided by its single-mask policy, which never reads τ: `decide` once per image;
 * - a mask of a multi-mask image keeps its candidates with DoS > τ; with `emptyMask` keep-best or random, a mask that
 *   keeps none but has a candidate with a ratio keeps exactly one (which one does not change the count), i.e. when
 *   its largest DoS is ≤ τ. So project-wide: kept(τ) = #{DoS > τ} + #{masks whose largest DoS ≤ τ}, two binary
 *   searches over sorted arrays built once per policy.
 * Images with review marks (accepted, rejected, deleted masks) are few; they go through `decide` at each τ, and their
 * share of the sorted arrays is subtracted, so a review change rebuilds only that short list, not the arrays.
 */
import { decide, reviewMark, type DecisionInput, type KeepPolicy, type ReviewInput } from './decide.ts';
import { tryParseId } from './ids.ts';

/** The candidate columns the counter reads: one position per image with a finished result. */
export interface CounterColumns {
  /** Per position, the image id (review marks and the random empty-mask draw name it). */
  imageIds: ArrayLike<number>;
  /** Per position, the image's mask count n (1 = the single-mask policy decides). */
  maskCount: ArrayLike<number>;
  /** Per position, its exportable candidates are `[start, end)` of the candidate columns. */
  start: ArrayLike<number>;
  end: ArrayLike<number>;
  // per candidate: mask index, candidate index
  mask: ArrayLike<number>;
  index: ArrayLike<number>;
  /**
   * Per candidate, the one score the rule reads (NaN = none): DoS in a multi-mask image, CoS in a single-mask image
   * (its only ratio-free ranking). One column instead of two halves what a 100k-image project holds.
   */
  score: ArrayLike<number>;
}

/** The τ-independent part of a counter: built once per columns and policy, whatever the review. */
export interface KeptBase {
  readonly columns: CounterColumns;
  readonly policy: Omit<KeepPolicy, 'tau'>;
  /** Exportable candidates of all positions. */
  readonly total: number;
  /** Per position, its kept count when τ-independent (single-mask image, no mark), else -1. */
  readonly fixed: Int32Array;
  readonly fixedSum: number;
  /** Finite-or-infinite (not NaN) DoS of every candidate of multi-mask images, ascending. */
  readonly dos: Float64Array;
  /** With an empty-mask fill: per mask of multi-mask images that has a ratio, its largest DoS, ascending. */
  readonly maskMax: Float64Array;
  /** Image id → position. */
  readonly position: Map<number, number>;
}

/** A counter: the base plus the images the review marks. */
export interface KeptCounter {
  readonly base: KeptBase;
  /** Positions of images with a review mark, and their decision inputs (marks applied). */
  readonly marked: Map<number, DecisionInput[]>;
}

const fills = (policy: Omit<KeepPolicy, 'tau'>) => policy.emptyMask !== 'drop';

/** Count of values ≤ τ in an ascending array. */
function atOrBelow(sorted: Float64Array, tau: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= tau) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function inputs(columns: CounterColumns, p: number, review: ReviewInput | null): DecisionInput[] {
  const out: DecisionInput[] = [];
  const imageId = columns.imageIds[p];
  const single = columns.maskCount[p] === 1;
  for (let k = columns.start[p]; k < columns.end[p]; k++) {
    const score = Number.isNaN(columns.score[k]) ? null : columns.score[k];
    out.push({
      mask: columns.mask[k],
      index: columns.index[k],
      comparison: false,
      cos: single ? score : null,
      dos: single ? null : score,
      review: reviewMark(review, imageId, columns.mask[k], columns.index[k]),
    });
  }
  return out;
}

const keptOf = (list: DecisionInput[], maskCount: number, policy: KeepPolicy, imageId: number) => {
  let kept = 0;
  for (const d of decide(list, maskCount, policy, imageId)) if (d.kept) kept++;
  return kept;
};

/** Builds the τ-independent part for `policy` (its τ is not read). O(candidates log candidates). */
export function buildKeptBase(columns: CounterColumns, policy: Omit<KeepPolicy, 'tau'>): KeptBase {
  const n = columns.imageIds.length;
  const fixed = new Int32Array(n).fill(-1);
  const position = new Map<number, number>();
  let fixedSum = 0;
  let total = 0;
  let ratios = 0;
  let masks = 0;
  for (let p = 0; p < n; p++) {
    position.set(columns.imageIds[p], p);
    total += columns.end[p] - columns.start[p];
    if (columns.maskCount[p] === 1) {
      fixed[p] = keptOf(inputs(columns, p, null), 1, { ...policy, tau: 0 }, columns.imageIds[p]);
      fixedSum += fixed[p];
    } else {
      masks += columns.maskCount[p];
      for (let k = columns.start[p]; k < columns.end[p]; k++) if (!Number.isNaN(columns.score[k])) ratios++;
    }
  }
  const dos = new Float64Array(ratios);
  const fill = fills(policy);
  // one maximum per mask: sized by the masks (not the candidates: 8 bytes per candidate of a 100k project held twice)
  let maskMax: Float64Array = new Float64Array(fill ? masks : 0);
  let d = 0;
  let m = 0;
  const scratch = new MaskScratch();
  for (let p = 0; p < n; p++) {
    if (columns.maskCount[p] === 1) continue;
    for (let k = columns.start[p]; k < columns.end[p]; k++)
      if (!Number.isNaN(columns.score[k])) dos[d++] = columns.score[k];
    if (!fill) continue;
    const maxima = scratch.maxima(columns, p);
    if (m + maxima.length > maskMax.length) maskMax = grown(maskMax, m + maxima.length); // mask ids past maskCount
    maskMax.set(maxima, m);
    m += maxima.length;
  }
  dos.sort();
  return { columns, policy, total, fixed, fixedSum, dos, maskMax: maskMax.subarray(0, m).sort(), position };
}

function grown(values: Float64Array, size: number): Float64Array {
  const out = new Float64Array(Math.max(size, Math.ceil(values.length * 1.5)));
  out.set(values);
  return out;
}

/** Per-mask maxima of one image's candidates (masks need not be contiguous). */
class MaskScratch {
  #max = new Float64Array(64);
  #seen = new Uint8Array(64);
  #touched: number[] = [];
  #out = new Float64Array(64);

  /** The largest DoS of each mask of position `p` that has a ratio (a view valid until the next call). */
  maxima(columns: CounterColumns, p: number): Float64Array {
    this.#collect(columns, p);
    if (this.#touched.length > this.#out.length) this.#out = new Float64Array(this.#touched.length);
    let at = 0;
    for (const mask of this.#touched) {
      this.#out[at++] = this.#max[mask];
      this.#seen[mask] = 0;
    }
    this.#touched.length = 0;
    return this.#out.subarray(0, at);
  }

  /** Kept count of a multi-mask position with no mark at τ: DoS > τ, plus one per ratio mask ≤ τ when filling. */
  count(columns: CounterColumns, p: number, tau: number, fill: boolean): number {
    let kept = 0;
    for (let k = columns.start[p]; k < columns.end[p]; k++) if (columns.score[k] > tau) kept++;
    if (!fill) return kept;
    this.#collect(columns, p);
    for (const mask of this.#touched) {
      if (this.#max[mask] <= tau) kept++;
      this.#seen[mask] = 0;
    }
    this.#touched.length = 0;
    return kept;
  }

  /** Gathers the largest DoS of each mask of position `p` that has a ratio: in `#max`, the masks in `#touched`. */
  #collect(columns: CounterColumns, p: number): void {
    for (let k = columns.start[p]; k < columns.end[p]; k++) {
      const dos = columns.score[k];
      if (Number.isNaN(dos)) continue;
      const mask = columns.mask[k];
      if (mask >= this.#max.length) this.#grow(mask + 1);
      if (!this.#seen[mask]) {
        this.#seen[mask] = 1;
        this.#max[mask] = dos;
        this.#touched.push(mask);
      } else if (dos > this.#max[mask]) this.#max[mask] = dos;
    }
  }

  #grow(size: number): void {
    const max = new Float64Array(Math.max(size, this.#max.length * 2));
    const seen = new Uint8Array(max.length);
    max.set(this.#max);
    seen.set(this.#seen);
    this.#max = max;
    this.#seen = seen;
  }
}

const scratch = new MaskScratch();

/** Image ids the review marks (a decision on one of its candidates, or a deleted mask). */
export function markedImages(review: ReviewInput | null | undefined): Set<number> {
  const out = new Set<number>();
  if (!review) return out;
  for (const id of Object.keys(review.decisions)) {
    const parts = tryParseId(id, 'candidate');
    if (parts) out.add(parts.image);
  }
  for (const id of review.deletedMasks) {
    const parts = tryParseId(id, 'mask');
    if (parts) out.add(parts.image);
  }
  return out;
}

/** A counter over `base` with `review` applied. O(candidates of marked images). */
export function keptCounter(base: KeptBase, review: ReviewInput | null | undefined): KeptCounter {
  const marked = new Map<number, DecisionInput[]>();
  for (const image of markedImages(review)) {
    const p = base.position.get(image);
    if (p !== undefined) marked.set(p, inputs(base.columns, p, review ?? null));
  }
  return { base, marked };
}

/** Kept candidates of position `p` at τ, as `decide` counts them with the review applied. */
export function imageKeptAt(counter: KeptCounter, p: number, tau: number): number {
  const { base } = counter;
  const list = counter.marked.get(p);
  if (list) return keptOf(list, base.columns.maskCount[p], { ...base.policy, tau }, base.columns.imageIds[p]);
  if (base.fixed[p] >= 0) return base.fixed[p];
  return scratch.count(base.columns, p, tau, fills(base.policy));
}

/** Kept candidates of the whole project at τ: two binary searches plus `decide` over the marked images. */
export function projectKeptAt(counter: KeptCounter, tau: number): number {
  if (!Number.isFinite(tau)) throw new Error(`tau must be a finite number, got ${tau}`);
  const { base } = counter;
  let kept = base.fixedSum + base.dos.length - atOrBelow(base.dos, tau);
  if (fills(base.policy)) kept += atOrBelow(base.maskMax, tau);
  const fill = fills(base.policy);
  for (const p of counter.marked.keys()) {
    // the marked image's unmarked share is in the sums above: take it out, put its decided count in
    const unmarked = base.fixed[p] >= 0 ? base.fixed[p] : scratch.count(base.columns, p, tau, fill);
    kept += imageKeptAt(counter, p, tau) - unmarked;
  }
  return kept;
}

/** Every position's kept count at τ (the gallery's order by kept count). O(candidates). */
export function allKeptAt(counter: KeptCounter, tau: number): Int32Array {
  const n = counter.base.columns.imageIds.length;
  const out = new Int32Array(n);
  for (let p = 0; p < n; p++) out[p] = imageKeptAt(counter, p, tau);
  return out;
}

/**
 * Kept counts of the whole project at each τ of `taus`, equal to {@link projectKeptAt} of a counter at each, in one
 * pass and without the counter's sorted arrays (8 bytes per candidate): what a one-off report's kept-share curve
 * needs. Each ratio falls in the bin of the taus below it; per τ, the kept ratios are the bins above.
 */
export function keptAtEach(
  columns: CounterColumns,
  policy: Omit<KeepPolicy, 'tau'>,
  review: ReviewInput | null | undefined,
  taus: readonly number[],
): number[] {
  for (const tau of taus)
    if (!Number.isFinite(tau)) throw new Error(`tau must be a finite number, got ${tau}`);
  const sorted = [...taus].sort((a, b) => a - b);
  const bins = sorted.length + 1;
  // bin of v: how many of the sorted taus lie below v, so v > τ_t ⟺ bin ≥ t + 1
  const binOf = (v: number) => {
    let b = 0;
    while (b < sorted.length && sorted[b] < v) b++;
    return b;
  };
  const above = new Float64Array(bins); // ratios by bin
  const maxima = new Float64Array(bins); // with an empty-mask fill: masks by the bin of their largest ratio
  const fill = fills(policy);
  const marks = markedImages(review);
  const scratch = new MaskScratch();
  const marked: number[] = [];
  let fixed = 0;
  for (let p = 0; p < columns.imageIds.length; p++) {
    if (marks.has(columns.imageIds[p])) marked.push(p);
    else if (columns.maskCount[p] === 1)
      fixed += keptOf(inputs(columns, p, null), 1, { ...policy, tau: 0 }, columns.imageIds[p]);
    else {
      for (let k = columns.start[p]; k < columns.end[p]; k++)
        if (!Number.isNaN(columns.score[k])) above[binOf(columns.score[k])]++;
      if (fill) for (const max of scratch.maxima(columns, p)) maxima[binOf(max)]++;
    }
  }
  const byTau = new Map<number, number>();
  sorted.forEach((tau, t) => {
    let kept = fixed;
    for (let b = t + 1; b < bins; b++) kept += above[b];
    if (fill) for (let b = 0; b <= t; b++) kept += maxima[b];
    for (const p of marked)
      kept += keptOf(
        inputs(columns, p, review ?? null),
        columns.maskCount[p],
        { ...policy, tau },
        columns.imageIds[p],
      );
    byTau.set(tau, kept);
  });
  return taus.map((tau) => byTau.get(tau)!);
}
