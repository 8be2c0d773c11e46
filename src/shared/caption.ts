/**
 * Captioning as plain data: crop types, decoding settings, candidates and the step-by-step decoding trace.
 *
 * Everything here crosses the UI boundary (IPC, WebSocket, JSON files), so it is plain objects only. The engine
 * (`src/engine/caption/`) produces these shapes; the decoding inspector renders them. Semantics: DESIGN.md §5.
 */
import { decodingOptions, parseSettings } from './settings.ts';

// ---------------------------------------------------------------------------------------------------------------
// Crops

/**
 * One of the crops captioned per mask (DESIGN.md §5 Crops).
 *
 * `masked`: pixels outside the mask replaced by the fill value, cropped to the mask's box (margin 1.0).
 * `box`: the mask's box scaled by `margin` about its centre, clamped to the image. The reference uses 1.0, 1.1, 1.2.
 */
export type CropType = { kind: 'masked' } | { kind: 'box'; margin: number };

/** The reference's four crops per mask, in its order: masked, box ×1.0, ×1.1, ×1.2. */
export const DEFAULT_CROP_TYPES: readonly CropType[] = [
  { kind: 'masked' },
  { kind: 'box', margin: 1.0 },
  { kind: 'box', margin: 1.1 },
  { kind: 'box', margin: 1.2 },
];

/**
 * A stable string key for a crop type: `masked`, `box-1.0`, `box-1.1`, `box-1.2`.
 *
 * Used to group candidates and to derive random streams, so it must not depend on float formatting quirks: the
 * margin is written with at least one decimal (`1` → `1.0`, `1.15` → `1.15`).
 */
export function cropKey(crop: CropType): string {
  if (crop.kind === 'masked') return 'masked';
  const text = String(crop.margin);
  return `box-${text.includes('.') || text.includes('e') ? text : `${text}.0`}`;
}

/** Parses a key written by {@link cropKey}; throws on anything else. */
export function parseCropKey(key: string): CropType {
  if (key === 'masked') return { kind: 'masked' };
  const match = /^box-(\d+(?:\.\d+)?)$/.exec(key);
  if (!match) throw new Error(`crop key "${key}" is not "masked" or "box-<margin>" (e.g. "box-1.1")`);
  const margin = Number(match[1]);
  if (!(margin >= 1)) throw new Error(`crop key "${key}": the margin must be ≥ 1, got ${margin}`);
  return { kind: 'box', margin };
}

// ---------------------------------------------------------------------------------------------------------------
// Decoding settings

/** How beam scores accumulate: the reference sums raw logits; `log-prob` is standard beam search (an option). */
export type BeamScoring = 'raw-logits' | 'log-prob';

/** How the other crops' logits are combined in DCS: the reference's mean of s_ij·z_j, or Σ w_ij z_j (ablation). */
export type Aggregation = 'mean' | 'weighted-sum';

/** Beam search: the reference uses 6 beams in 3 independent groups of 2, raw-logit scores, length penalty 1. */
export interface BeamSetting {
  kind: 'beam';
  beams: number;
  groups: number;
  scoring: BeamScoring;
}

/** Top-k sampling; `distinctive` = DCS (calibrated against the other crops), otherwise plain sampling. */
export interface TopKSetting {
  kind: 'top-k';
  k: number;
  distinctive: boolean;
}

/** Top-p (nucleus) sampling; `distinctive` = DCS, otherwise plain sampling. */
export interface TopPSetting {
  kind: 'top-p';
  p: number;
  distinctive: boolean;
}

/** One way of decoding one caption. */
export type DecodingSetting = BeamSetting | TopKSetting | TopPSetting;

/** A sampling setting (top-k or top-p, plain or distinctive). */
export type SamplingSetting = TopKSetting | TopPSetting;

/**
 * A stable key for a setting: `beam`, `beam-logprob`, `top-k-5`, `dcs-top-k-5`, `top-p-0.4`, `dcs-top-p-0.4`.
 *
 * Beam settings other than 6 beams / 3 groups add `-6x3`-style suffixes so that keys stay unique.
 */
export function settingKey(setting: DecodingSetting): string {
  if (setting.kind === 'beam') {
    const base = setting.scoring === 'raw-logits' ? 'beam' : 'beam-logprob';
    return setting.beams === 6 && setting.groups === 3 ? base : `${base}-${setting.beams}x${setting.groups}`;
  }
  const prefix = setting.distinctive ? 'dcs-' : '';
  return setting.kind === 'top-k' ? `${prefix}top-k-${setting.k}` : `${prefix}top-p-${setting.p}`;
}

/**
 * The key of a sampling setting without its plain/distinctive flag (`top-k-5`, `top-p-0.4`).
 *
 * Random streams are derived from it, so a plain run and a DCS run of the same crop and setting draw the same
 * uniforms: any difference between them comes from the calibration, not from the random source.
 */
export function streamSettingKey(setting: SamplingSetting): string {
  return setting.kind === 'top-k' ? `top-k-${setting.k}` : `top-p-${setting.p}`;
}

/** Generation options shared by every setting (DESIGN.md §5 defaults in {@link DEFAULT_DECODING}). */
export interface DecodingOptions {
  /** Top-k values sampled per crop (reference: 5, 7, 9, 11, 13). */
  topK: number[];
  /** Top-p values sampled per crop (reference: 0.4 … 0.8). */
  topP: number[];
  /** Whether the sampling settings use DCS (reference: true) or plain sampling. */
  distinctive: boolean;
  /** Also decode the plain counterpart of every DCS setting (for comparisons; not in the reference). */
  alsoPlain: boolean;
  /** The beam setting, or null for none. */
  beam: BeamSetting | null;
  aggregation: Aggregation;
  /** Softmax temperature T (reference 1). */
  temperature: number;
  /** HF repetition penalty (reference 1.0 = no-op). */
  repetitionPenalty: number;
  /** eot is impossible while the sequence (sot included) is shorter than this (reference 5). */
  minLength: number;
  /** Maximum sequence length including sot; eot is forced at the last step (reference 30). */
  maxLength: number;
  /** DCS calibrates only when 2 ≤ n ≤ this many crops (reference 30); otherwise plain sampling. */
  maxCalibrationCrops: number;
  /** Seed of every random stream (streams are derived per image, mask, crop and setting). */
  seed: number;
  /** End a sequence when pad (id 0) is sampled, as the released decoder does; off: pad is a token like any other. */
  stopOnPad?: boolean;
}

/**
 * The paper's decoding (DESIGN.md §5), derived from the settings schema's defaults without the plain-sampling
 * comparison candidates: the schema states each number once.
 */
export const DEFAULT_DECODING: DecodingOptions = decodingOptions(
  parseSettings({ captions: { plainSampling: false } }),
);

// ---------------------------------------------------------------------------------------------------------------
// Candidates

/** One generated caption of one crop of one mask. */
export interface CaptionCandidate {
  /** Decoded text (sot dropped, cut at the first eot, pad dropped, spacing cleaned). */
  text: string;
  /**
   * The text the released code writes for this caption (tokenizer.ts `releasedText`): untrimmed, so a last word keeps
   * its trailing space, and with `stopOnPad` a caption ended by a sampled pad ends in the "!" run of the pads its row
   * carried until the longest row of its batch ended.
   */
  releasedText: string;
  /** Generated ids, sot first, up to and including eot when one was produced (never pad). */
  tokenIds: number[];
  /** Index of the mask (crop) among the image's masks, in the order given. */
  maskIndex: number;
  crop: CropType;
  setting: DecodingSetting;
  /** {@link settingKey} of `setting`. */
  settingKey: string;
  /** The run's seed; sampling candidates only (beam search is deterministic). */
  seed?: number;
  /** Name of the random stream this candidate drew from (same for its plain and DCS versions). */
  streamId?: string;
  /** Beam search: the hypothesis score (sum of scores / length, length penalty 1). */
  beamScore?: number;
  /** Whether eot was produced (false only when beam search ran out of length, which finalize pads with eot). */
  finished: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Trace JSON layout (rendered by the decoding inspector; replayable without the model)

/**
 * A token-aligned slice of one distribution at one step.
 *
 * Values are aligned with {@link TraceStep.tokens}: `values[t]` belongs to token `tokens[t].id`. `null` stands for
 * −∞ (JSON has no infinities), e.g. eot before the minimum length or tokens outside the kept set.
 */
export type TraceVector = (number | null)[];

/** A token recorded at a step, with its string (the BPE piece, `</w>` shown as a trailing space). */
export interface TraceToken {
  id: number;
  text: string;
  /** Whether this token is in the kept set V of the step. */
  kept: boolean;
}

/** One other crop's contribution at one step of DCS. */
export interface TraceOther {
  /** The other crop's mask index. */
  maskIndex: number;
  /** s_ij = cos(image_latent_i, image_latent_j); may be negative (then it pushes the other way). */
  similarity: number;
  /** The factor z_j is multiplied by in the aggregate: s_ij / m for `mean` (m others), s_ij / Σ s for `weighted-sum`. */
  weight: number;
  /** z_j: the other crop's raw logits on the target's prefix (logit space). */
  logits: TraceVector;
}

/**
 * One decoding step of a sampled caption. Every vector is in the space its name says:
 * - `raw`: the target's decoder logits z_i as the model returned them (logit space);
 * - `processed`: after min-length and repetition penalty (logit space) — the z_i of DESIGN.md §5;
 * - `filtered`: `processed` with −∞ outside the kept set V (logit space, before ÷ T; the reference's `filtered_logits`);
 * - `others[j].logits`, `aggregate` (o), `calibrated` (c = z_i − o, −∞ outside V): logit space, DCS only;
 * - `naive`: softmax of `filtered` — what plain sampling would draw from (probability space);
 * - `weights`: the final sampling weights (unnormalized: DCS softmax(c/T) with p[eot] restored from `naive`).
 */
export interface TraceStep {
  /** 0-based step; the token chosen here lands at position `step + 1` (position 0 is sot). */
  step: number;
  /** Recorded tokens: the kept set V ∪ top-N of every distribution ∪ eot ∪ the chosen token, ascending by id. */
  tokens: TraceToken[];
  /** Size of V (every kept token is in `tokens`, so V is complete in the trace). */
  keptCount: number;
  raw: TraceVector;
  processed: TraceVector;
  filtered: TraceVector;
  naive: TraceVector;
  /** DCS only: one entry per other crop (absent for plain sampling and for the n = 1 / n > 30 fallbacks). */
  others?: TraceOther[];
  aggregate?: TraceVector;
  calibrated?: TraceVector;
  /** DCS only: eot probability before (softmax(c/T)[eot]) and after restoration (naive[eot]); absent if eot ∉ V. */
  eotRestored?: { calibrated: number; restored: number };
  weights: TraceVector;
  /** Σ of `weights` over V (the multinomial's normaliser). */
  weightSum: number;
  /** DCS only: true when Σ weights ≤ 0 or not finite and the step sampled from `naive` instead (reference fallback). */
  fellBack?: boolean;
  /** The random draw: uniform u ∈ [0,1); the chosen token is the first of V (ascending id) whose cumulative weight exceeds u·weightSum. Absent when eot was forced. */
  draw?: { uniform: number };
  /** True at the last step (maximum length), where eot is forced without a draw. */
  forced: boolean;
  chosen: number;
  chosenText: string;
}

/** How a traced caption was decoded (enough to replay it). */
export interface TraceConfig extends Pick<
  DecodingOptions,
  | 'aggregation'
  | 'temperature'
  | 'repetitionPenalty'
  | 'minLength'
  | 'maxLength'
  | 'maxCalibrationCrops'
  | 'seed'
> {
  setting: SamplingSetting;
  settingKey: string;
  streamId: string;
  /** Top-N tokens of each distribution recorded per step (besides V, eot and the chosen token). */
  topN: number;
  specialTokens: { sot: number; eot: number; pad: number };
  vocabSize: number;
}

/**
 * The trace of one sampled caption (JSON, `version: 1`).
 *
 * Replay ({@link TraceStep}): from `processed` restricted to V, the others' logits and weights, T and the stored
 * uniform, the chosen token of every step can be recomputed without the model.
 */
export interface CaptionTrace {
  version: 1;
  /** Model pack name and a hash of its captioner files, when known. */
  model?: { pack: string; checksum?: string };
  config: TraceConfig;
  /** The target crop: mask index among the image's masks, and the crop type. */
  target: { maskIndex: number; crop: CropType };
  /** Number of crops n of this crop type in the image (DCS calibrates when 2 ≤ n ≤ maxCalibrationCrops). */
  cropCount: number;
  /** True when DCS calibrated (distinctive setting and 2 ≤ n ≤ max); false for plain sampling and fallbacks. */
  calibrated: boolean;
  /** s_ij for every j (j = i included, = 1 up to rounding), indexed by mask index. */
  similarities: number[];
  steps: TraceStep[];
  /** The generated ids (sot … eot) and decoded text. */
  tokenIds: number[];
  text: string;
}

/** The outcome of replaying a trace without the model. */
export interface TraceReplay {
  /** The tokens the replay chose (sot first). */
  tokenIds: number[];
  /** Whether every step chose the recorded token. */
  matches: boolean;
  /** First step whose replayed token differs from the recorded one, or null. */
  firstMismatch: number | null;
}

/** A step-by-step comparison of two traces of the same crop and random stream (naive vs DCS). */
export interface TraceComparison {
  /** First step whose chosen token differs, or null when the captions are identical. */
  firstDivergence: number | null;
  steps: { step: number; left: string | null; right: string | null; same: boolean }[];
  left: { settingKey: string; text: string };
  right: { settingKey: string; text: string };
}

// ---------------------------------------------------------------------------------------------------------------
// Beam-search trace (rendered by the inspector's beam view; recorded on demand by replaying one crop's search)

/** Where a ranked (beam, token) pair of one group's step went (the reference's `BeamSearchScorer.process`). */
export type BeamPairOutcome =
  /** a non-eot pair that became one of the group's next beams */
  | 'beam'
  /** an eot pair ranked < group size: it closed a hypothesis (admitted to the group's list or not) */
  | 'hypothesis'
  /** an eot pair ranked ≥ group size: ignored */
  | 'eot-ignored'
  /** ranked after the group's beams were all chosen */
  | 'unused';

/** One open beam of a group after a step. */
export interface BeamTraceBeam {
  /** sot … the token chosen at this step. */
  tokenIds: number[];
  /** Running score: Σ of the per-token scores in the search's scoring space (raw processed logits or log p). */
  score: number;
  /** `score / tokenIds.length`: the length-normalised score a hypothesis closed here would rank by. */
  normalized: number;
  /** Σ log p of the beam's tokens (log-softmax of the processed logits), whatever the scoring. */
  logProb: number;
  /** The beam (index within the group) of the previous step it extends; at step 0 the group's first beam. */
  parent: number;
}

/** One of the top 2·group-size (beam, token) pairs a group ranked at a step, best first. */
export interface BeamTracePair {
  /** Index within the group of the beam it extends. */
  beam: number;
  token: number;
  /** The beam's running score + this token's score (what the search ranks pairs by). */
  score: number;
  outcome: BeamPairOutcome;
}

/** One group at one step. */
export interface BeamTraceGroupStep {
  group: number;
  /** True when the group was already done before this step: the search pads it and ranks nothing. */
  done: boolean;
  /** The group's beams after the step (empty when `done`). */
  beams: BeamTraceBeam[];
  /** The ranked pairs (empty when `done`). */
  pairs: BeamTracePair[];
  /** Whether the group is done after this step (group-size hypotheses and none can improve). */
  doneAfter: boolean;
}

/** One decoding step: every group. */
export interface BeamTraceStep {
  /** 0-based; the token chosen here lands at position `step + 1` (position 0 is sot). */
  step: number;
  groups: BeamTraceGroupStep[];
}

/** A hypothesis offered to a group's list: at an eot pair, or at the end for the beams of unfinished groups. */
export interface BeamTraceHypothesis {
  group: number;
  /** The step whose eot pair closed it; null when the search ended and it was an open beam (finalize). */
  step: number | null;
  /** sot … last token before eot (eot not included; the candidate appends it). */
  tokenIds: number[];
  /** Σ of the per-token scores (the closing eot's included). */
  sum: number;
  /** Final score: `sum / tokenIds.length` (length penalty 1): what the winner is chosen by. */
  score: number;
  /** Σ log p of its tokens (and of the closing eot). */
  logProb: number;
  /** Whether it entered the group's list (a full list admits only a better score). */
  admitted: boolean;
  /** Whether it was still in the group's list at the end (a better one may have pushed it out). */
  kept: boolean;
}

/**
 * The step-by-step trace of one beam-search candidate (JSON, `version: 1`), recorded by re-running that crop's
 * search. Token texts (BPE pieces, `</w>` as a trailing space) are in `tokenTexts`, keyed by id.
 */
export interface BeamTrace {
  version: 1;
  model?: { pack: string; checksum?: string };
  config: {
    setting: BeamSetting;
    settingKey: string;
    minLength: number;
    maxLength: number;
    repetitionPenalty: number;
    specialTokens: { sot: number; eot: number; pad: number };
  };
  target: { maskIndex: number; crop: CropType };
  steps: BeamTraceStep[];
  hypotheses: BeamTraceHypothesis[];
  /** Index into `hypotheses` of the winner (the best final score; among equal scores the later one). */
  winner: number;
  /** The candidate the search returns: the winner's tokens with eot appended when shorter than `maxLength`. */
  tokenIds: number[];
  text: string;
  score: number;
  finished: boolean;
  /** The text of every token id the trace mentions. */
  tokenTexts: Record<number, string>;
}
