/**
 * Logits processors and kept sets of the reference's generation loop (DESIGN.md §5, contracts.md §2.2).
 *
 * Order per step, as open_clip 2.x / Pseudo-RIS do it: min-length, repetition penalty (transformers 4.31 semantics),
 * then the top-k or top-p kept set computed on those processed logits, then ÷ temperature and softmax. Temperature is
 * applied after the kept set, so top-p's cumulative softmax is taken at T = 1 (the reference divides afterwards).
 * All functions work on one row of logits (`[V]`) in float64.
 */

/**
 * Sets the eot logit to −∞ while the sequence is shorter than `minLength` (transformers `MinLengthLogitsProcessor`).
 *
 * `length` counts every token of the prefix, sot included: with minLength 5 the first 4 generated tokens cannot be eot.
 */
export function applyMinLength(logits: Float64Array, length: number, minLength: number, eot: number): void {
  checkToken(eot, logits.length, 'eot');
  if (length < minLength) logits[eot] = -Infinity;
}

/**
 * Repetition penalty as transformers' `RepetitionPenaltyLogitsProcessor`: every token already in the prefix (sot
 * included) gets `logit / penalty` when positive and `logit · penalty` when negative. 1.0 is a no-op.
 */
export function applyRepetitionPenalty(logits: Float64Array, prefix: ArrayLike<number>, penalty: number): void {
  if (!(penalty > 0)) throw new RangeError(`repetition penalty must be > 0, got ${penalty}`);
  if (penalty === 1) return;
  const seen = new Set<number>();
  for (let i = 0; i < prefix.length; i++) seen.add(prefix[i]!);
  for (const id of seen) {
    if (id < 0 || id >= logits.length) continue;
    const value = logits[id]!;
    logits[id] = value < 0 ? value * penalty : value / penalty;
  }
}

/** Options of {@link processLogits}. */
export interface ProcessOptions {
  minLength: number;
  repetitionPenalty: number;
  eot: number;
}

/**
 * Raw decoder logits → processed logits z (min-length, then repetition penalty), as a new float64 row.
 *
 * in: raw float32[V] (or float64), prefix ids (sot first). out: float64[V].
 */
export function processLogits(raw: ArrayLike<number>, prefix: ArrayLike<number>, options: ProcessOptions): Float64Array {
  const logits = Float64Array.from(raw as ArrayLike<number>);
  applyMinLength(logits, prefix.length, options.minLength, options.eot);
  applyRepetitionPenalty(logits, prefix, options.repetitionPenalty);
  return logits;
}

/**
 * Top-k kept set: every token whose logit is ≥ the k-th largest (ties at the boundary are all kept, as
 * `scores < topk(scores, k)[-1]` removes only strictly smaller ones). Returns ascending token ids.
 *
 * k larger than the vocabulary keeps everything; −∞ tokens are kept only when the k-th largest is itself −∞.
 */
export function topKKept(logits: Float64Array, k: number): Int32Array {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`top-k k must be an integer ≥ 1, got ${k}`);
  const size = Math.min(k, logits.length);
  const threshold = kthLargest(logits, size);
  const kept: number[] = [];
  for (let id = 0; id < logits.length; id++) if (logits[id]! >= threshold) kept.push(id);
  return Int32Array.from(kept);
}

/**
 * Top-p (nucleus) kept set as transformers' `TopPLogitsWarper`: sort ascending, softmax, cumulative sum; drop tokens
 * whose cumulative probability is ≤ 1 − p; always keep the largest one. Returns ascending token ids.
 *
 * Ties in the sort are ordered by ascending id (torch's sort order for ties is unspecified).
 */
export function topPKept(logits: Float64Array, p: number): Int32Array {
  if (!(p > 0 && p <= 1)) throw new RangeError(`top-p p must be in (0, 1], got ${p}`);
  // Ascending values (a typed sort: no comparator, fast for a 49 408-token vocabulary). Tied tokens share one value,
  // so the cumulative sums below are the same whichever tied id stands where.
  const sorted = Float64Array.from(logits).sort();
  const max = sorted[sorted.length - 1]!;
  if (max === -Infinity) throw new Error('every logit is −∞: top-p is undefined');
  let sum = 0;
  for (let id = 0; id < logits.length; id++) sum += Math.exp(logits[id]! - max);
  const limit = 1 - p;
  let cumulative = 0;
  let first = sorted.length - 1;
  for (let rank = 0; rank < sorted.length; rank++) {
    // The probability of the token at this rank, computed exactly as softmaxOf computes it.
    cumulative += sorted[rank]! === -Infinity ? 0 : Math.exp(sorted[rank]! - max) / sum;
    if (cumulative > limit) {
      first = rank;
      break;
    }
  }
  const threshold = sorted[first]!;
  // Tokens tied with the threshold value: only those at ranks ≥ first are kept, i.e. the highest ids among the ties.
  let tiedKept = 0;
  for (let rank = first; rank < sorted.length && sorted[rank] === threshold; rank++) tiedKept++;
  const tied: number[] = [];
  const kept: number[] = [];
  for (let id = 0; id < logits.length; id++) {
    const value = logits[id]!;
    if (value > threshold) kept.push(id);
    else if (value === threshold) tied.push(id);
  }
  kept.push(...tied.slice(tied.length - tiedKept));
  return Int32Array.from(kept.sort((a, b) => a - b));
}

/**
 * Softmax of `logits / temperature` over the kept ids only (others 0). The max is subtracted for stability; an
 * all −∞ kept set throws, since no token could be drawn.
 *
 * out: float64[V].
 */
export function restrictedSoftmax(logits: Float64Array, kept: Int32Array, temperature = 1): Float64Array {
  if (!(temperature > 0)) throw new RangeError(`temperature must be > 0, got ${temperature}`);
  const out = new Float64Array(logits.length);
  let max = -Infinity;
  for (const id of kept) max = Math.max(max, logits[id]!);
  if (max === -Infinity) throw new Error('every kept token has logit −∞: nothing can be sampled');
  let sum = 0;
  for (const id of kept) {
    const value = Math.exp((logits[id]! - max) / temperature);
    out[id] = value;
    sum += value;
  }
  for (const id of kept) out[id] = out[id]! / sum;
  return out;
}

/** Full-vocabulary softmax at T = 1 (−∞ → 0). out: float64[V]. */
export function softmaxOf(logits: Float64Array): Float64Array {
  let max = -Infinity;
  for (const value of logits) if (value > max) max = value;
  const out = new Float64Array(logits.length);
  if (max === -Infinity) throw new Error('every logit is −∞: softmax is undefined');
  let sum = 0;
  for (let id = 0; id < logits.length; id++) {
    const value = Math.exp(logits[id]! - max);
    out[id] = value;
    sum += value;
  }
  for (let id = 0; id < logits.length; id++) out[id] = out[id]! / sum;
  return out;
}

function kthLargest(values: Float64Array, k: number): number {
  const sorted = Float64Array.from(values).sort();
  return sorted[sorted.length - k]!;
}

function checkToken(id: number, vocabSize: number, name: string): void {
  if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
    throw new RangeError(`${name} id ${id} is outside the vocabulary [0, ${vocabSize})`);
  }
}
