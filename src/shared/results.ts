/**
 * What a run produces, as plain data (DESIGN.md §5, §7): per image its masks (COCO RLE), candidates (crop, decoding
 * setting, text, tokens, seed), CLIP scores (UoS / CoS / DoS and the mask each candidate is most confused with), the
 * keep decisions at the run's τ, and per-image errors. The project store writes one `ImageResult` per line; the UI
 * and the exporters read the same objects. Decisions are re-derived for any other τ from the stored scores
 * (`shared/decide.ts`), so moving τ recomputes nothing.
 */
import type { CropType, DecodingSetting } from './caption.ts';
import type { Rle } from './rle.ts';

/** Version of the `ImageResult` layout; bumped on an incompatible change. */
export const RESULTS_VERSION = 1;

/** An image of the project's list. `id` is its 1-based position in the list (used as COCO `image_id`). */
export interface ImageRecord {
  id: number;
  /** Path as given to the run (absolute). */
  path: string;
  /** File name used in exports (unique within the project). */
  name: string;
  /** SHA-256 of the file's bytes: results stay attached to content, not to a path. */
  sha256: string;
  /** Upright size; 0 when the image could not be read. */
  width: number;
  height: number;
}

/** One mask of an image. `index` k is its position (0-based) among the image's kept masks. */
export interface MaskResult {
  index: number;
  rle: Rle;
  area: number;
  /** COCO bbox [x, y, w, h] in pixels. */
  bbox: [number, number, number, number];
  /** Selector score (SAM predicted IoU × stability); 1 for imported masks. */
  score: number;
  /**
   * SAM's predicted IoU and stability score (share of logits > +offset among logits > −offset) of a generated or
   * prompted mask; absent for imported masks and in results written before they were recorded.
   */
  predictedIou?: number;
  stability?: number;
  /** `prompt`: added by a point/box prompt in review and captioned by a re-caption of the image. */
  source: 'generated' | 'imported' | 'prompt';
  /** The imported mask's own id or file name, when imported. */
  importedId?: string;
}

/** How a candidate was decoded: beam search, distinctive caption sampling, or plain top-k/top-p sampling. */
export type DecodingMethod = 'beam' | 'dcs' | 'sampling';

/** The method of a decoding setting (shared/caption.ts). */
export function decodingMethod(setting: DecodingSetting): DecodingMethod {
  if (setting.kind === 'beam') return 'beam';
  return setting.distinctive ? 'dcs' : 'sampling';
}

/** CLIP scores of one candidate (DESIGN.md §5 Scores). Ratios are `null` for single-mask images. */
export interface CandidateScores {
  /** θ(crop_i, y) = 100·cos on the margin-1.2 crop of the own mask. */
  theta: number;
  /** θ(masked_i, noun prompt). */
  cos: number;
  uos: number | null;
  dos: number | null;
  /** The other mask j that attains max_j CoS_j·θ(crop_j, y) — what the caption is most confused with. */
  confusedWith: number | null;
  /** Head noun and the prompt built from it. */
  headNoun: string;
  nounPrompt: string;
}

/** One generated caption for one mask. `index` n runs over the mask's candidates (0..43 with the defaults). */
export interface CandidateResult {
  index: number;
  mask: number;
  crop: CropType;
  /** `cropKey(crop)`: masked, box-1.0, box-1.1, box-1.2. */
  cropKey: string;
  setting: DecodingSetting;
  /** `settingKey(setting)`: beam, dcs-top-k-5, top-p-0.4, … */
  settingKey: string;
  method: DecodingMethod;
  text: string;
  /**
   * The released code's text of this caption (untrimmed, "!" run of a pad-stopped row kept; shared/caption.ts
   * `CaptionCandidate.releasedText`), exported with `captionText: "released"`; absent in results written before it.
   */
  releasedText?: string;
  /** Generated ids, sot first, up to and including eot. */
  tokens: number[];
  /** The run's seed (sampling only); with `streamId` and the settings it regenerates the caption and its trace. */
  seed: number;
  /** The random stream the candidate drew from (sampling only). */
  streamId?: string;
  /** Beam search only: the winning hypothesis' score (Σ scores / length), absent in results written before it. */
  beamScore?: number;
  /** Plain-sampling comparison candidate: scored and reported, never exported. */
  comparison: boolean;
  scores: CandidateScores;
}

/** Why a candidate is kept or not at a given τ. */
export type DecisionReason =
  | 'dos-above-tau'
  | 'dos-at-or-below-tau'
  | 'single-mask'
  | 'single-mask-rank'
  | 'single-mask-dropped'
  | 'best-of-empty-mask'
  | 'random-of-empty-mask'
  | 'comparison'
  | 'accepted'
  | 'rejected'
  | 'mask-deleted';

/** The keep decision of one candidate. */
export interface Decision {
  mask: number;
  candidate: number;
  kept: boolean;
  reason: DecisionReason;
}

/** Counters of one image's work, for the report and the benchmark. */
export interface ImageCounters {
  masks: number;
  candidates: number;
  clipImageEncodes: number;
  clipTextEncodes: number;
  /** Milliseconds per stage. */
  stageMs: Record<string, number>;
  /** Which decoder paths ran and with what batch sizes (absent in results written before issue 15). */
  decoding?: DecodingRecord;
}

/** A batch size as the engine chose it: measured at session start on `provider`, or from a setting. */
export interface BatchRecord {
  size: number;
  source: 'measured' | 'setting';
  provider?: string;
}

/** The decoding paths of one image, for the repro record (runtime/README.md "Fast contracts"). */
export interface DecodingRecord {
  /** `cached`: cross + decoderWithPast; `full-prefix`: text + decoder graphs over the whole prefix every step. */
  captioner: 'cached' | 'full-prefix';
  /** Cached path only: true when one run per step decoded the rows of all crops (grouped crops), false: one per crop. */
  cropGroups?: boolean;
  /** `batched`: SAM prompts through decoderBatched; `batch-1`: one prompt per run; `imported`: no SAM ran. */
  segmenter: 'batched' | 'batch-1' | 'imported';
  decoderBatch?: BatchRecord;
  promptBatch?: BatchRecord;
}

/** A per-image failure: the batch records it and continues. */
export interface ImageError {
  /** Stage that failed: load, masks, crops, captions, scores. */
  stage: string;
  /** Machine-readable code (e.g. the image loader's `ImageInputError.code`). */
  code: string;
  message: string;
}

/** Everything one image produced; one committed line of the project's `results.jsonl`. */
export interface ImageResult {
  version: typeof RESULTS_VERSION;
  /**
   * 0 for an image's first run; a re-caption with an edited mask set appends a record with the previous revision + 1,
   * which supersedes it (the store keeps the highest). Absent in projects written before re-captioning existed (= 0).
   */
  revision?: number;
  image: ImageRecord;
  status: 'done' | 'failed';
  error?: ImageError;
  masks: MaskResult[];
  candidates: CandidateResult[];
  /** Decisions at the run's τ (recomputable for any τ). */
  decisions: Decision[];
  counters?: ImageCounters;
}

/** Work done inside one stage of one image. */
export interface StepProgress {
  done: number;
  total: number;
  /** What is counted: `prompts` (SAM point prompts), `crops` (crops captioned), `masks` (masks scored). */
  unit: 'prompts' | 'crops' | 'masks';
}

/** Progress of a run, as emitted to the CLI progress bar and the UI. */
export interface RunProgress {
  imagesDone: number;
  imagesTotal: number;
  /** Images skipped because they were already committed (resume). */
  imagesSkipped: number;
  imagesFailed: number;
  /** Current image and stage, when one is running. */
  image?: string;
  stage:
    'start' | 'load' | 'masks' | 'crops' | 'captions' | 'scores' | 'commit' | 'done' | 'paused' | 'cancelled';
  /**
   * Progress inside the current image's stage: SAM prompts decoded (masks), crops captioned (captions), masks scored
   * (scores). Absent between images and for stages too short to report; emitted at most a few times a second.
   */
  within?: StepProgress;
  /** Images per minute over the images computed in this run. */
  rate: number;
  /** Seconds left at the current rate; null before the first image. */
  etaSeconds: number | null;
}

/** A run's summary when it ends. */
export interface RunSummary {
  project: string;
  imagesTotal: number;
  imagesDone: number;
  imagesFailed: number;
  imagesSkipped: number;
  cancelled: boolean;
  seconds: number;
}
