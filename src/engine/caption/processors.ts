/**
 * Logits processors and kept sets of the reference's generation loop (DESIGN.md §5, contracts.md §2.2).
 *
 * Order per step, as open_clip 2.x / Pseudo-RIS do it: min-length, repetition penalty (transformers semantics, as in the ≤ 4.30 releases the released code runs with),
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
export function applyRepetitionPenalty(
  logits: Float64Array,
  prefix: ArrayLike<number>,
  penalty: number,
): void {
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
export function processLogits(
  raw: ArrayLike<number>,
  prefix: ArrayLike<number>,
  options: ProcessOptions,
): Float64Array {
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
  const size = logits.length;
  let max = -Infinity;
  for (let id = 0; id < size; id++) if (logits[id]! > max) max = logits[id]!;
  if (max === -Infinity) throw new Error('every logit is −∞: top-p is undefined');
  const probabilities = new Float64Array(size);
  let sum = 0;
  for (let id = 0; id < size; id++) sum += probabilities[id] = Math.exp(logits[id]! - max);
  for (let id = 0; id < size; id++) probabilities[id] = probabilities[id]! / sum;
  const limit = 1 - p;
  // Sorting a 49 408-token vocabulary every step is slow, and only the top of the ascending order matters: take the
  // tokens whose value is ≥ the M-th largest (C, ties included) and check that the rest (R, all strictly smaller)
  // holds at most 1 − p of the mass. Then every token of R has an ascending cumulative sum ≤ mass(R) ≤ 1 − p and is
  // dropped, and only C needs sorting. M grows until that holds (M = V sorts everything).
  for (let candidates = Math.min(64, size); ; candidates = Math.min(size, candidates * 4)) {
    const threshold = candidates === size ? -Infinity : kthLargest(logits, candidates);
    let rest = 0;
    let count = 0;
    for (let id = 0; id < size; id++) {
      if (logits[id]! >= threshold) count++;
      else rest += probabilities[id]!;
    }
    if (rest > limit && candidates < size) continue;
    // Ascending values of C (typed sort, no comparator). Tied tokens share one value, so the cumulative sums are the
    // same whichever tied id stands where; ties are ordered by ascending id (torch's order for ties is unspecified).
    const values = new Float64Array(count);
    for (let id = 0, k = 0; id < size; id++) if (logits[id]! >= threshold) values[k++] = logits[id]!;
    values.sort();
    let cumulative = rest;
    let first = count - 1;
    for (let rank = 0; rank < count; rank++) {
      const value = values[rank]!;
      cumulative += value === -Infinity ? 0 : Math.exp(value - max) / sum;
      if (cumulative > limit) {
        first = rank;
        break;
      }
    }
    const boundary = values[first]!;
    let tiedKept = 0;
    for (let rank = first; rank < count && values[rank] === boundary; rank++) tiedKept++;
    const tied: number[] = [];
    const kept: number[] = [];
    for (let id = 0; id < size; id++) {
      const value = logits[id]!;
      if (value > boundary) kept.push(id);
      else if (value === boundary) tied.push(id);
    }
    kept.push(...tied.slice(tied.length - tiedKept));
    return Int32Array.from(kept.sort((a, b) => a - b));
  }
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

/** The k-th largest value (1-based): one pass with a small sorted buffer for small k, quickselect otherwise. */
function kthLargest(values: Float64Array, k: number): number {
  if (k <= 64) {
    // best[0] ≥ best[1] ≥ … ≥ best[k−1]; most values fail the first comparison, so this is one cheap pass.
    const best = new Float64Array(k).fill(-Infinity);
    let filled = 0;
    for (let i = 0; i < values.length; i++) {
      const value = values[i]!;
      if (filled === k && !(value > best[k - 1]!)) continue;
      let position = filled < k ? filled++ : k - 1;
      while (position > 0 && best[position - 1]! < value) {
        best[position] = best[position - 1]!;
        position--;
      }
      best[position] = value;
    }
    return best[k - 1]!;
  }
  const work = Float64Array.from(values);
  const target = work.length - k;
  let low = 0;
  let high = work.length - 1;
  while (low < high) {
    const pivot = median3(work[low]!, work[(low + high) >> 1]!, work[high]!);
    let i = low;
    let j = high;
    while (i <= j) {
      while (work[i]! < pivot) i++;
      while (work[j]! > pivot) j--;
      if (i <= j) {
        const swap = work[i]!;
        work[i] = work[j]!;
        work[j] = swap;
        i++;
        j--;
      }
    }
    if (target <= j) high = j;
    else if (target >= i) low = i;
    else break;
  }
  return work[target]!;
}

function median3(a: number, b: number, c: number): number {
  return a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
}

function checkToken(id: number, vocabSize: number, name: string): void {
  if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
    throw new RangeError(`${name} id ${id} is outside the vocabulary [0, ${vocabSize})`);
  }
}
