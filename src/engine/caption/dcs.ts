/**
 * One step of plain and distinctive caption sampling (DESIGN.md §5 "Distinctive caption sampling").
 *
 * For target crop i among the n crops of one image (one crop type):
 *   z_i  processed target logits (min-length, repetition penalty);     V = top-k / top-p kept set of z_i
 *   o    = mean_j s_ij · z_j  over the other crops j ≠ i (raw decoder logits on the target's own prefix)
 *        or Σ_j w_ij z_j with w_ij = s_ij / Σ_j s_ij  (weighted-sum option, the paper's ablation)
 *   c    = z_i − o, −∞ outside V
 *   p    = softmax(c / T);  p[eot] := softmax(z_i restricted to V / T)[eot];  drawn as unnormalized weights
 * Plain sampling (no others, or n = 1, or n > 30) draws from softmax(z_i restricted to V / T).
 * When Σ p ≤ 0 (or is not finite) the reference falls back to the uncalibrated distribution; so do we.
 */
import { drawFromWeights } from './rng.ts';

/** s_ij for one target: cosine of L2-normalized image latents. in: latents float32[n, D]. out: float64[n]. */
export function cosineRow(
  latents: ArrayLike<number>,
  count: number,
  dimension: number,
  target: number,
): Float64Array {
  if (latents.length !== count * dimension) {
    throw new RangeError(`image_latent has ${latents.length} values, expected ${count}×${dimension}`);
  }
  if (target < 0 || target >= count) throw new RangeError(`target crop ${target} is outside [0, ${count})`);
  const norms = new Float64Array(count);
  for (let j = 0; j < count; j++) {
    let sum = 0;
    for (let d = 0; d < dimension; d++) sum += latents[j * dimension + d]! ** 2;
    norms[j] = Math.sqrt(sum);
  }
  const out = new Float64Array(count);
  for (let j = 0; j < count; j++) {
    let dot = 0;
    for (let d = 0; d < dimension; d++) dot += latents[target * dimension + d]! * latents[j * dimension + d]!;
    const denominator = norms[target]! * norms[j]!;
    // A zero latent has no direction: it is treated as orthogonal to everything (s = 0) instead of NaN.
    out[j] = denominator > 0 ? dot / denominator : 0;
  }
  return out;
}

/** How the others combine (see the module comment). */
export type AggregationMode = 'mean' | 'weighted-sum';

/**
 * The per-other factors the aggregate multiplies z_j by: s_ij / m for `mean` over m others, s_ij / Σ s_ij for
 * `weighted-sum`. A weighted sum whose Σ s_ij is 0 is undefined and throws.
 */
export function aggregationFactors(similarities: ArrayLike<number>, mode: AggregationMode): Float64Array {
  const count = similarities.length;
  if (count === 0) throw new RangeError('aggregation needs at least one other crop');
  const out = new Float64Array(count);
  if (mode === 'mean') {
    for (let j = 0; j < count; j++) out[j] = similarities[j]! / count;
    return out;
  }
  let total = 0;
  for (let j = 0; j < count; j++) total += similarities[j]!;
  if (total === 0 || !Number.isFinite(total)) {
    throw new RangeError(
      `weighted-sum aggregation: the similarities sum to ${total}, so w_ij = s_ij / Σ s_ij is undefined`,
    );
  }
  for (let j = 0; j < count; j++) out[j] = similarities[j]! / total;
  return out;
}

/**
 * The aggregate o = Σ_j factor_j · z_j over the other crops' logits (`[V]` each). out: float64[V], or with `ids`
 * only those entries, float64[ids.length] aligned with `ids` (sampling needs o on the kept set only).
 */
export function aggregateLogits(
  otherLogits: readonly ArrayLike<number>[],
  factors: ArrayLike<number>,
  ids?: Int32Array,
): Float64Array {
  if (otherLogits.length !== factors.length) {
    throw new RangeError(`${otherLogits.length} other logit rows but ${factors.length} factors`);
  }
  const vocab = otherLogits[0]?.length ?? 0;
  const out = new Float64Array(ids ? ids.length : vocab);
  for (let j = 0; j < otherLogits.length; j++) {
    const row = otherLogits[j]!;
    if (row.length !== vocab)
      throw new RangeError(`other crop ${j} has ${row.length} logits, expected ${vocab}`);
    const factor = factors[j]!;
    if (ids) for (let k = 0; k < ids.length; k++) out[k] = out[k]! + factor * row[ids[k]!]!;
    else for (let t = 0; t < vocab; t++) out[t] = out[t]! + factor * row[t]!;
  }
  return out;
}

/** Input of {@link samplingStep}. */
export interface SamplingStepInput {
  /** z_i: the target's processed logits. float64[V]. */
  processed: Float64Array;
  /** V: kept token ids, ascending. */
  kept: Int32Array;
  temperature: number;
  eot: number;
  /** The aggregate o on the kept set (DCS), float64[|V|] aligned with `kept`, or null for plain sampling. */
  aggregate: Float64Array | null;
}

/**
 * What one step computed, for the draw and the trace. Every array is float64[|V|] aligned with `kept` (outside V:
 * probabilities and weights are 0, calibrated logits −∞), so a 49 408-token vocabulary is never copied per row.
 */
export interface SamplingStepResult {
  kept: Int32Array;
  /** softmax(z_i restricted to V / T): plain sampling's distribution. */
  naive: Float64Array;
  /** c = z_i − o on V (DCS only). */
  calibrated: Float64Array | null;
  /** The weights the draw uses (unnormalized for DCS). */
  weights: Float64Array;
  /** Σ weights over V. */
  weightSum: number;
  /** DCS: eot probability before and after restoration, when eot ∈ V. */
  eotRestored: { calibrated: number; restored: number } | null;
  /** DCS: the calibrated weights summed to ≤ 0 (or NaN/∞) and the naive distribution was used. */
  fellBack: boolean;
}

/** Computes one step's sampling weights (plain when `aggregate` is null, DCS otherwise). */
export function samplingStep(input: SamplingStepInput): SamplingStepResult {
  const { processed, kept, temperature, eot, aggregate } = input;
  if (kept.length === 0) throw new RangeError('the kept set V is empty');
  const target = new Float64Array(kept.length);
  for (let k = 0; k < kept.length; k++) target[k] = processed[kept[k]!]!;
  const naive = softmaxCompact(target, temperature);
  const plain = (
    calibrated: Float64Array | null,
    eotRestored: SamplingStepResult['eotRestored'],
    fellBack: boolean,
  ): SamplingStepResult => ({
    kept,
    naive,
    calibrated,
    weights: naive,
    weightSum: sum(naive),
    eotRestored,
    fellBack,
  });
  if (aggregate === null) return plain(null, null, false);
  if (aggregate.length !== kept.length) {
    throw new RangeError(`aggregate has ${aggregate.length} values, the kept set ${kept.length}`);
  }
  const calibrated = new Float64Array(kept.length);
  for (let k = 0; k < kept.length; k++) calibrated[k] = target[k]! - aggregate[k]!;
  let weights: Float64Array;
  try {
    weights = softmaxCompact(calibrated, temperature);
  } catch {
    // Every calibrated logit −∞ (possible only when z_i is −∞ on V): nothing to calibrate, use naive.
    return plain(calibrated, null, true);
  }
  let eotRestored: SamplingStepResult['eotRestored'] = null;
  const eotIndex = indexOf(kept, eot);
  if (eotIndex >= 0) {
    eotRestored = { calibrated: weights[eotIndex]!, restored: naive[eotIndex]! };
    weights[eotIndex] = naive[eotIndex]!;
  }
  const weightSum = sum(weights);
  if (!(weightSum > 0) || !Number.isFinite(weightSum)) return plain(calibrated, eotRestored, true);
  return { kept, naive, calibrated, weights, weightSum, eotRestored, fellBack: false };
}

/** Draws the step's token from its weights with one uniform (see {@link drawFromWeights}); returns a token id. */
export function drawToken(result: SamplingStepResult, uniform: number): number {
  return result.kept[drawFromWeights(result.weights, identity(result.kept.length), uniform)]!;
}

/** The value of token `id` in a result array aligned with `kept` (`outside` when id ∉ V). */
export function valueAt(values: Float64Array, kept: Int32Array, id: number, outside: number): number {
  const k = indexOf(kept, id);
  return k >= 0 ? values[k]! : outside;
}

/**
 * softmax(values / T) over a compact array: the arithmetic of `restrictedSoftmax` over the kept ids, in the same
 * order (max subtracted, sum in ascending-id order). Throws when every value is −∞.
 */
function softmaxCompact(values: Float64Array, temperature: number): Float64Array {
  if (!(temperature > 0)) throw new RangeError(`temperature must be > 0, got ${temperature}`);
  let max = -Infinity;
  for (const value of values) max = Math.max(max, value);
  if (max === -Infinity) throw new Error('every kept token has logit −∞: nothing can be sampled');
  const out = new Float64Array(values.length);
  let total = 0;
  for (let k = 0; k < values.length; k++) {
    const value = Math.exp((values[k]! - max) / temperature);
    out[k] = value;
    total += value;
  }
  for (let k = 0; k < values.length; k++) out[k] = out[k]! / total;
  return out;
}

/** Binary search in an ascending id list; −1 when absent. */
function indexOf(ids: Int32Array, id: number): number {
  let low = 0;
  let high = ids.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const value = ids[middle]!;
    if (value === id) return middle;
    if (value < id) low = middle + 1;
    else high = middle - 1;
  }
  return -1;
}

const identities = new Map<number, Int32Array>();

function identity(length: number): Int32Array {
  let ids = identities.get(length);
  if (!ids) {
    ids = Int32Array.from({ length }, (_, k) => k);
    if (identities.size < 4096) identities.set(length, ids);
  }
  return ids;
}

function sum(values: Float64Array): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}
