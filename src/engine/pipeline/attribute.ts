/**
 * Occlusion attribution of one decoding step of a stored candidate (issue 22): which parts of its crop raised the
 * probability of a token. The candidate's prefix up to step t is fed as is (teacher forcing); the target crop is
 * encoded once intact and once per grey patch, in one visual batch with the image's other crops of that type, and
 * every variant's next-token logits come from one cached-decoder request.
 *
 * The log-probabilities are over the whole vocabulary (before the top-k / top-p cut, after min-length, repetition
 * penalty and temperature), so a patch that pushes the token out of the kept set still gives a finite number:
 *   naive  log softmax(z_i / T)[token]
 *   DCS    log (w[token] / Σ w), w = softmax((z_i − o) / T) with w[eot] := naive[eot] (dcs.ts `samplingStep` over V =
 *          every token); o is recomputed per patch from the patched crop's latent (its s_ij to the intact others).
 * Everything is a fixed function of the inputs (no random draw), so the numbers are reproducible.
 */
import type { OcclusionAttribution, PatchBox } from '../../shared/attribution.ts';
import { decodingOptions } from '../../shared/settings.ts';
import {
  aggregateLogits,
  aggregationFactors,
  cosineRow,
  occludedCrops,
  occlusionGrid,
  processLogits,
  samplingStep,
} from '../caption/index.ts';
import type { PackStages } from './engine.ts';
import { storedCandidate, storedCropsInput, type CandidateWhere, type DecodeBeamInput } from './trace.ts';

/** What {@link attributeOcclusion} replays: one step of one candidate's tokens on one mask's crop. */
export interface AttributeInput extends Pick<
  DecodeBeamInput,
  'image' | 'result' | 'settings' | 'stages' | 'mask' | 'crop'
> {
  /** The candidate's token ids, sot first. */
  tokens: readonly number[];
  /** Step t in 0..tokens.length − 2: the prefix is tokens[0..t]. */
  step: number;
  /** The token whose probability is explained (default: the candidate's, tokens[t + 1]). */
  token?: number;
  /** Patches per side (default 8). */
  grid?: number;
  /** Explicit patches instead of the grid (e.g. one over the whole crop). */
  boxes?: readonly PatchBox[];
}

/** The default grid: 8×8 = 64 patches of 28 pixels on a 224 crop. */
export const DEFAULT_ATTRIBUTION_GRID = 8;

/** Replays step t with each patch occluded and returns the drops of the token's log-probability, naive and DCS. */
export async function attributeOcclusion(input: AttributeInput): Promise<OcclusionAttribution> {
  const { tokens, step, mask, result, settings } = input;
  if (!Number.isInteger(step) || step < 0 || step > tokens.length - 2)
    throw new RangeError(
      `step must be an integer in 0..${tokens.length - 2} (the candidate has ${tokens.length} tokens, sot first), got ${step}`,
    );
  if (mask < 0 || mask >= result.masks.length)
    throw new RangeError(`mask must be in 0..${result.masks.length - 1}, got ${mask}`);
  const stored = storedCropsInput(input);
  const { captioner, count, special } = stored;
  const size = stored.size ?? 224;
  const plane = 3 * size * size;
  const grid = input.grid ?? DEFAULT_ATTRIBUTION_GRID;
  const boxes = input.boxes ? [...input.boxes] : occlusionGrid(size, grid);
  const target = stored.crops.subarray(mask * plane, (mask + 1) * plane);
  // in: crops float32[n + P, 3, S, S]: the n intact crops of this type, then the P patched copies of the target.
  const crops = new Float32Array((count + boxes.length) * plane);
  crops.set(stored.crops);
  crops.set(occludedCrops(target, size, boxes), count * plane);
  const encoded = await captioner.encode(crops, count + boxes.length, size);

  const prefix = tokens.slice(0, step + 1);
  const token = input.token ?? tokens[step + 1]!;
  const variants = [mask, ...boxes.map((_, p) => count + p)];
  const others = Array.from({ length: count }, (_, j) => j).filter((j) => j !== mask);
  // out: float32[V] per pair: the target variants first, then the intact others (DCS's z_j).
  const logits = await captioner.nextLogits(
    [...variants, ...others].map((image) => ({ prefix, image })),
    encoded,
  );
  const vocab = logits[0]!.length;
  if (!Number.isInteger(token) || token < 0 || token >= vocab)
    throw new RangeError(`token must be an id in 0..${vocab - 1}, got ${token}`);
  const options = decodingOptions(settings);
  const calibrated = count >= 2 && count <= options.maxCalibrationCrops;
  const everyToken = Int32Array.from({ length: vocab }, (_, k) => k);
  const otherLogits = logits.slice(variants.length);
  const scored = variants.map((image, v) => {
    const processed = processLogits(logits[v]!, prefix, {
      minLength: options.minLength,
      repetitionPenalty: options.repetitionPenalty,
      eot: special.eot,
    });
    let aggregate: Float64Array | null = null;
    if (calibrated) {
      const row = cosineRow(encoded.latents, encoded.count, encoded.latentSize, image);
      aggregate = aggregateLogits(
        otherLogits,
        aggregationFactors(
          others.map((j) => row[j]!),
          options.aggregation,
        ),
      );
    }
    const out = samplingStep({
      processed,
      kept: everyToken,
      temperature: options.temperature,
      eot: special.eot,
      aggregate,
    });
    const naive = logOf(out.naive[token]!);
    return { naive, dcs: aggregate ? logOf(out.weights[token]! / out.weightSum) : naive };
  });
  const side = (pick: (s: (typeof scored)[number]) => number | null) => {
    const base = pick(scored[0]!);
    const occluded = scored.slice(1).map(pick);
    return {
      base,
      occluded,
      drop: occluded.map((value) => (base === null || value === null ? null : base - value)),
    };
  };
  return {
    step,
    token,
    tokenText: stored.tokenizer.tokenText(token),
    prefixText: stored.tokenizer.decode(prefix),
    grid: input.boxes ? 0 : grid,
    size,
    boxes,
    cropCount: count,
    calibrated,
    naive: side((s) => s.naive),
    dcs: side((s) => s.dcs),
  };
}

/** The attribution of a project's stored candidate (`pseudo-ris attribute`): its image, crop and tokens. */
export async function attributeCandidate(
  projectDir: string,
  where: CandidateWhere,
  stages: PackStages,
  options: Pick<AttributeInput, 'step' | 'token' | 'grid'>,
): Promise<OcclusionAttribution> {
  const { project, result, candidate } = storedCandidate(projectDir, where);
  const settings = project.file.settings;
  const image = await stages.load(result.image.path, settings.maxPixels);
  return attributeOcclusion({
    ...options,
    image,
    result,
    settings,
    stages,
    mask: where.mask,
    crop: candidate.crop,
    tokens: candidate.tokens,
  });
}

/** Natural log, null for probability 0 (JSON has no −∞). */
function logOf(probability: number): number | null {
  const value = Math.log(probability);
  return Number.isFinite(value) ? value : null;
}
