/**
 * The batch runner: per image, load → masks → crops → candidates → scores → decisions, committed to the project
 * store one image at a time (DESIGN.md §5, §7).
 *
 * The stages are given as an `ImageStages` object (built over a model pack by `engine.ts`). `processImage` is the
 * per-image unit (no store access: a queue worker can call it as well); `runProject` drives it through the one batch
 * loop (`batch.ts`, shared with the app's run control) and commits through the project store. Cancellation stops the
 * image in flight without committing it; a killed process loses at most the image in flight (the store's commit
 * point), and a resumed run skips committed images.
 */
import {
  buildCrops,
  type CropBatch,
  maskArea,
  encodeRle,
  rleToBbox,
  type BinaryMask,
  type RgbImage,
} from '../image/index.ts';
import type { CaptionCandidate } from '../../shared/caption.ts';
import { cropKey } from '../../shared/caption.ts';
import {
  decodingMethod,
  RESULTS_VERSION,
  type CandidateResult,
  type DecodingRecord,
  type ImageCounters,
  type ImageResult,
  type MaskResult,
  type RunProgress,
  type RunSummary,
  type StepProgress,
} from '../../shared/results.ts';
import type { Settings } from '../../shared/settings.ts';
import { decide, keepPolicy, scoreImage } from '../filter/index.ts';
import { isCancellation, throwIfCancelled } from '../runtime/index.ts';
import { runBatch, type BatchControl } from './batch.ts';
import { imagePaths, imageRecord, Project, type ImageEntry } from './store/index.ts';

/** Masks of one image as a stage returns them. */
export interface StageMasks {
  masks: BinaryMask[];
  /** Selector score per mask (1 for imported). */
  scores: number[];
  source: 'generated' | 'imported';
  importedIds?: (string | undefined)[];
  /** Per-mask source, overriding `source` (a re-caption mixes generated, imported and prompted masks). */
  sources?: MaskResult['source'][];
  /** Per-mask SAM predicted IoU and stability, recorded in the result when known (not for imported masks). */
  predictedIous?: (number | undefined)[];
  stabilities?: (number | undefined)[];
}

/** The model-backed stages the runner composes. */
export interface ImageStages {
  /** Decodes an image upright (throws an error with a `code` for unreadable input). */
  load(path: string, maxPixels: number): Promise<RgbImage>;
  /** Generated + selected, or imported, masks of one image. */
  masks(
    image: RgbImage,
    entry: ImageEntry,
    settings: Settings,
    signal?: AbortSignal,
    onWithin?: (step: StepProgress) => void,
  ): Promise<StageMasks>;
  /** Candidates for every crop of every mask. `imageKey` names the image in the random streams. */
  captions(input: {
    image: RgbImage;
    masks: BinaryMask[];
    crops: CropBatch[];
    settings: Settings;
    imageKey: string;
    /** Crops captioned so far (unit `crops`). */
    onWithin?: (step: StepProgress) => void;
    signal?: AbortSignal;
  }): Promise<CaptionCandidate[]>;
  /** CLIP image embeddings of a crop batch, float32[n,3,224,224] → n vectors. */
  embedImages(batch: CropBatch): Promise<Float32Array[]>;
  /** CLIP text embeddings, one per text. */
  embedTexts(texts: string[]): Promise<Float32Array[]>;
  /** θ = logitScale · cos (manifest `scorer.logitScale`). */
  logitScale: number;
  /** Crop side of the captioner/scorer (224). */
  cropSize: number;
  /** The decoder paths and batch sizes the last masks/captions stages used (the repro record). */
  decoding?(settings: Settings): DecodingRecord;
}

/** Stage timings of the last image, accumulated over a run for the bench. */
export type StageTimes = Record<'load' | 'masks' | 'crops' | 'captions' | 'scores', number>;

/** Options of {@link processImage}. */
export interface ProcessImageOptions {
  /** Cancel: the stages throw the runtime's `CancelledError` at their next check. */
  signal?: AbortSignal;
  /** The image entered a stage. */
  onStage?: (stage: RunProgress['stage']) => void;
  /** Work inside a stage: SAM prompts decoded, crops captioned (unthrottled; the batch loop throttles). */
  onWithin?: (step: StepProgress) => void;
  /**
   * A re-caption: this mask set replaces the masks stage and is used as imported masks are, in its order; captions
   * and scores are computed over it as usual.
   */
  fixedMasks?: StageMasks;
}

/**
 * The per-image unit of work: one image entry → its result, with no store access (the caller commits it through
 * `Project.commit`, the single writer). Used by the batch loop of the CLI and the app, and by queue workers.
 *
 * `processImage(stages, entry, settings, { signal, onStage, onWithin, fixedMasks }) → Promise<ImageResult>`
 *
 * Throws with `stage` set on the error; a cancellation is thrown as the runtime's `CancelledError` (recognise it
 * with `isCancellation`), never recorded as a failure. Deterministic for a given entry (content hash), settings
 * (seed) and mask set: the random streams are named by the image's content hash, mask, crop and setting. The result
 * has revision 0; the caller numbers re-captions.
 */
export async function processImage(
  stages: ImageStages,
  entry: ImageEntry,
  settings: Settings,
  options: ProcessImageOptions = {},
): Promise<ImageResult> {
  const { signal, onStage, onWithin, fixedMasks } = options;
  const stageMs: Record<string, number> = {};
  const timed = async <T>(stage: keyof StageTimes, work: () => Promise<T> | T): Promise<T> => {
    throwIfCancelled(signal, `image ${entry.name}`);
    onStage?.(stage);
    const start = performance.now();
    try {
      return await work();
    } catch (error) {
      if (isCancellation(error)) throw error;
      throw stageError(stage, error);
    } finally {
      stageMs[stage] = (stageMs[stage] ?? 0) + performance.now() - start;
    }
  };
  const image = await timed('load', () => stages.load(entry.path, settings.maxPixels));
  const found = await timed('masks', () => {
    if (!fixedMasks) return stages.masks(image, entry, settings, signal, onWithin);
    // a re-caption's masks were made on this image: a size mismatch means the file or maxPixels changed since
    const wrong = fixedMasks.masks.find((m) => m.width !== image.width || m.height !== image.height);
    if (wrong)
      throw new Error(
        `a re-caption mask is ${wrong.width}×${wrong.height} but image ${entry.name} decodes to ${image.width}×${image.height}`,
      );
    // the hard cap is refused rather than applied: silently dropping a mask the user added would be a surprise
    if (fixedMasks.masks.length > settings.masks.hardCap)
      throw new Error(
        `image ${entry.name} has ${fixedMasks.masks.length} masks; at most ${settings.masks.hardCap} (settings.masks.hardCap) can be captioned together: delete some`,
      );
    return fixedMasks;
  });
  // the hard cap also bounds imported masks: DCS costs n² decoder rows per step; empty masks have no crop
  const order = found.masks
    .map((m, k) => k)
    .filter((k) => maskArea(found.masks[k]) > 0)
    .slice(0, settings.masks.hardCap);
  const masks = order.map((k) => found.masks[k]);
  const maskResults: MaskResult[] = masks.map((mask, index) => {
    const rle = encodeRle(mask);
    const k = order[index];
    return {
      index,
      rle,
      area: maskArea(mask),
      bbox: rleToBbox(rle),
      score: found.scores[k] ?? 1,
      source: found.sources?.[k] ?? found.source,
      ...(found.importedIds?.[k] !== undefined ? { importedId: found.importedIds[k] } : {}),
      ...(found.predictedIous?.[k] !== undefined ? { predictedIou: found.predictedIous[k] } : {}),
      ...(found.stabilities?.[k] !== undefined ? { stability: found.stabilities[k] } : {}),
    };
  });
  const counters: ImageCounters = {
    masks: masks.length,
    candidates: 0,
    clipImageEncodes: 0,
    clipTextEncodes: 0,
    stageMs,
  };
  if (masks.length === 0) {
    return {
      version: RESULTS_VERSION,
      revision: 0,
      image: imageRecord(entry, image),
      status: 'done',
      masks: [],
      candidates: [],
      decisions: [],
      counters,
    };
  }
  const crops = await timed('crops', () =>
    buildCrops(image, masks, {
      size: stages.cropSize,
      margins: settings.crops.margins,
      fill: settings.crops.fill,
    }),
  );
  const captions = await timed('captions', () =>
    stages.captions({ image, masks, crops, settings, imageKey: entry.sha256, onWithin, signal }),
  );
  const candidates = await timed('scores', async () => {
    const masked = crops.find((b) => b.kind === 'masked');
    // the margin-1.2 crops (the largest margin of the settings) carry the caption's θ for UoS and DoS
    const widest = crops.filter((b) => b.kind === 'box').sort((a, b) => b.margin - a.margin)[0];
    if (!masked || !widest)
      throw new Error('scoring needs the masked crop and at least one box crop (settings.crops)');
    const maskedEmbeddings = await stages.embedImages(masked);
    const cropEmbeddings = await stages.embedImages(widest);
    counters.clipImageEncodes = 2 * masks.length;
    const { scores, textEncodes } = await scoreImage({
      maskedEmbeddings,
      cropEmbeddings,
      candidates: captions.map((c) => ({ mask: c.maskIndex, text: c.text })),
      encodeTexts: (texts) => stages.embedTexts(texts),
      logitScale: stages.logitScale,
      headNounRule: settings.captions.headNoun,
    });
    counters.clipTextEncodes = textEncodes;
    onWithin?.({ done: masks.length, total: masks.length, unit: 'masks' });
    const perMask = new Map<number, number>();
    return captions.map((c, k): CandidateResult => {
      const index = perMask.get(c.maskIndex) ?? 0;
      perMask.set(c.maskIndex, index + 1);
      const method = decodingMethod(c.setting);
      return {
        index,
        mask: c.maskIndex,
        crop: c.crop,
        cropKey: cropKey(c.crop),
        setting: c.setting,
        settingKey: c.settingKey,
        method,
        text: c.text,
        releasedText: c.releasedText,
        tokens: c.tokenIds,
        seed: c.seed ?? 0,
        ...(c.streamId ? { streamId: c.streamId } : {}),
        ...(c.beamScore !== undefined ? { beamScore: c.beamScore } : {}),
        // with DCS on, plain-sampling candidates are the report's comparison set and are never exported
        comparison: method === 'sampling' && settings.captions.dcs,
        scores: scores[k],
      };
    });
  });
  counters.candidates = candidates.length;
  if (stages.decoding) counters.decoding = stages.decoding(settings);
  const decisions = decide(candidates, masks.length, keepPolicy(settings), entry.id);
  return {
    version: RESULTS_VERSION,
    revision: 0,
    image: imageRecord(entry, image),
    status: 'done',
    masks: maskResults,
    candidates,
    decisions,
    counters,
  };
}

/** Options of {@link runProject}. */
export interface RunOptions {
  /** Project folder (created if missing). */
  project: string;
  /** An image folder, a single image, or a list of image paths. Omit to resume the project's own list. */
  images?: string | readonly string[];
  settings: Settings;
  stages: ImageStages;
  /** Model pack facts recorded in the project. */
  pack?: { dir: string; name: string; demo: boolean; checksums: Record<string, string> };
  versions?: Record<string, string>;
  onProgress?: (progress: RunProgress) => void;
  /** Cancel: stops the image in flight without committing it (it stays pending for a resume). */
  signal?: AbortSignal;
  /** Pause: answers true to stop once the image in flight is committed. */
  paused?: BatchControl['paused'];
  /** Also run again the images whose latest result failed (`generate --retry-failed`). */
  retryFailed?: boolean;
  /** Test hook: called after each image is committed (e.g. to time a kill). */
  onCommit?: (result: ImageResult) => void;
}

/** Runs (or resumes) a project over its images through the batch loop of `batch.ts`. */
export async function runProject(options: RunOptions): Promise<RunSummary> {
  const paths = imagePaths(options.images);
  const project = await Project.create(options.project, {
    images: paths,
    settings: options.settings,
    pack: options.pack,
    versions: options.versions,
  });
  const images = project.file.images;
  const pending = await project.pendingEntries({ retryFailed: options.retryFailed });
  const rerun = new Set(pending.map((e) => e.id));
  let outcome;
  try {
    outcome = await runBatch({
      entries: pending,
      already: {
        done: images.length - pending.length,
        failed: project.catalog
          .ids()
          .filter((id) => !rerun.has(id) && project.catalog.status(id) === 'failed').length,
      },
      job: (entry, context) => processImage(options.stages, entry, options.settings, context),
      onFailure: failedResult,
      commit(_entry, result) {
        project.commit(result);
        options.onCommit?.(result);
      },
      onProgress: (p) => {
        const { imageId: _id, elapsedSeconds: _s, ...progress } = p;
        options.onProgress?.(progress);
      },
      control: { signal: options.signal, paused: options.paused },
    });
  } finally {
    project.close();
  }
  return {
    project: project.dir,
    imagesTotal: images.length,
    imagesDone: outcome.progress.imagesDone,
    imagesFailed: outcome.progress.imagesFailed,
    imagesSkipped: outcome.progress.imagesSkipped,
    cancelled: outcome.outcome !== 'completed',
    seconds: outcome.seconds,
  };
}

/** A failed image's record: the reason, the stage and a machine-readable code. */
export function failedResult(entry: ImageEntry, error: unknown): ImageResult {
  const e = error as { stage?: string; code?: unknown; message?: string };
  return {
    version: RESULTS_VERSION,
    revision: 0,
    image: imageRecord(entry, { width: 0, height: 0 }),
    status: 'failed',
    error: {
      stage: e?.stage ?? 'unknown',
      code: typeof e?.code === 'string' ? e.code : 'error',
      message: e?.message ?? String(error),
    },
    masks: [],
    candidates: [],
    decisions: [],
  };
}

function stageError(stage: string, error: unknown): Error {
  const e = error instanceof Error ? error : new Error(String(error));
  if (!(e as { stage?: string }).stage) Object.assign(e, { stage });
  return e;
}
