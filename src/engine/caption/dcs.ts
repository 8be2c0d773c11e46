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
import { restrictedSoftmax } from './processors.ts';

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
 * The aggregate o = Σ_j factor_j · z_j over the other crops' logits (`[V]` each). out: float64[V].
 */
export function aggregateLogits(
  otherLogits: readonly ArrayLike<number>[],
  factors: ArrayLike<number>,
): Float64Array {
  if (otherLogits.length !== factors.length) {
    throw new RangeError(`${otherLogits.length} other logit rows but ${factors.length} factors`);
  }
  const vocab = otherLogits[0]?.length ?? 0;
  const out = new Float64Array(vocab);
  for (let j = 0; j < otherLogits.length; j++) {
    const row = otherLogits[j]!;
    if (row.length !== vocab)
      throw new RangeError(`other crop ${j} has ${row.length} logits, expected ${vocab}`);
    const factor = factors[j]!;
    for (let t = 0; t < vocab; t++) out[t] = out[t]! + factor * row[t]!;
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
  /** The aggregate o (DCS), or null for plain sampling. float64[V]. */
  aggregate: Float64Array | null;
}

/** What one step computed: every stage, for the draw and the trace. */
export interface SamplingStepResult {
  /** softmax(z_i restricted to V / T): plain sampling's distribution. float64[V]. */
  naive: Float64Array;
  /** c = z_i − o on V, −∞ elsewhere (DCS only). */
  calibrated: Float64Array | null;
  /** The weights the draw uses (unnormalized for DCS), 0 outside V. float64[V]. */
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
  const naive = restrictedSoftmax(processed, kept, temperature);
  if (aggregate === null) {
    return {
      naive,
      calibrated: null,
      weights: naive,
      weightSum: sumOver(naive, kept),
      eotRestored: null,
      fellBack: false,
    };
  }
  if (aggregate.length !== processed.length) {
    throw new RangeError(`aggregate has ${aggregate.length} values, target logits ${processed.length}`);
  }
  const calibrated = new Float64Array(processed.length).fill(-Infinity);
  for (const id of kept) calibrated[id] = processed[id]! - aggregate[id]!;
  let weights: Float64Array;
  let eotRestored: SamplingStepResult['eotRestored'] = null;
  try {
    weights = restrictedSoftmax(calibrated, kept, temperature);
  } catch {
    // Every calibrated logit −∞ (possible only when z_i is −∞ on V): nothing to calibrate, use naive.
    return {
      naive,
      calibrated,
      weights: naive,
      weightSum: sumOver(naive, kept),
      eotRestored: null,
      fellBack: true,
    };
  }
  if (kept.includes(eot)) {
    eotRestored = { calibrated: weights[eot]!, restored: naive[eot]! };
    weights[eot] = naive[eot]!;
  }
  const weightSum = sumOver(weights, kept);
  if (!(weightSum > 0) || !Number.isFinite(weightSum)) {
    return {
      naive,
      calibrated,
      weights: naive,
      weightSum: sumOver(naive, kept),
      eotRestored,
      fellBack: true,
    };
  }
  return { naive, calibrated, weights, weightSum, eotRestored, fellBack: false };
}

/** Draws the step's token from its weights with one uniform (see {@link drawFromWeights}). */
export function drawToken(result: SamplingStepResult, kept: Int32Array, uniform: number): number {
  return drawFromWeights(result.weights, kept, uniform);
}

function sumOver(values: Float64Array, ids: Int32Array): number {
  let sum = 0;
  for (const id of ids) sum += values[id]!;
  return sum;
}
