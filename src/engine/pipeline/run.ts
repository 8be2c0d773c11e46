/**
 * The batch runner: per image, load → masks → crops → candidates → scores → decisions, committed to the project
 * store one image at a time (DESIGN.md §5, §7).
 *
 * The stages are given as an `ImageStages` object (built over a model pack by `engine.ts`), so the runner is plain
 * async code with an options object, an `onProgress` callback and an `AbortSignal` — the engine facade, the CLI and
 * tests call it the same way. Cancellation takes effect at an image boundary; a killed process loses at most the
 * image in flight (the store's commit point), and a resumed run skips committed images.
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
} from '../../shared/results.ts';
import type { Settings } from '../../shared/settings.ts';
import { decide, scoreImage } from '../filter/index.ts';
import { imageRecord, listImages, Project, type ImageEntry } from './store.ts';

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
  masks(image: RgbImage, entry: ImageEntry, settings: Settings, signal?: AbortSignal): Promise<StageMasks>;
  /** Candidates for every crop of every mask. `imageKey` names the image in the random streams. */
  captions(input: {
    image: RgbImage;
    masks: BinaryMask[];
    crops: CropBatch[];
    settings: Settings;
    imageKey: string;
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

/**
 * Processes one image into its result (no store access). Throws with `stage` set on the error.
 *
 * `fixedMasks` (a re-caption) replaces the masks stage: the given set is used as imported masks are, in its order,
 * and captions and scores are computed over it as usual (same seed rules: the random streams are named by the
 * image's content hash, mask, crop and setting). The result has revision 0; the caller numbers re-captions.
 */
export async function processImage(
  stages: ImageStages,
  entry: ImageEntry,
  settings: Settings,
  signal?: AbortSignal,
  onStage?: (stage: RunProgress['stage']) => void,
  fixedMasks?: StageMasks,
): Promise<ImageResult> {
  const stageMs: Record<string, number> = {};
  const timed = async <T>(stage: keyof StageTimes, work: () => Promise<T> | T): Promise<T> => {
    onStage?.(stage);
    const start = performance.now();
    try {
      return await work();
    } catch (error) {
      throw stageError(stage, error);
    } finally {
      stageMs[stage] = (stageMs[stage] ?? 0) + performance.now() - start;
    }
  };
  const image = await timed('load', () => stages.load(entry.path, settings.maxPixels));
  const found = await timed('masks', () => {
    if (!fixedMasks) return stages.masks(image, entry, settings, signal);
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
    stages.captions({ image, masks, crops, settings, imageKey: entry.sha256 }),
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
    });
    counters.clipTextEncodes = textEncodes;
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
        tokens: c.tokenIds,
        seed: c.seed ?? 0,
        ...(c.streamId ? { streamId: c.streamId } : {}),
        // with DCS on, plain-sampling candidates are the report's comparison set and are never exported
        comparison: method === 'sampling' && settings.captions.dcs,
        scores: scores[k],
      };
    });
  });
  counters.candidates = candidates.length;
  if (stages.decoding) counters.decoding = stages.decoding(settings);
  const decisions = decide(candidates, masks.length, settings.filter, entry.id);
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
  /** Stops the run at the next image boundary. */
  signal?: AbortSignal;
  /** Test hook: called after each image is committed (e.g. to time a kill). */
  onCommit?: (result: ImageResult) => void;
}

/** Runs (or resumes) a project over its images. */
export async function runProject(options: RunOptions): Promise<RunSummary> {
  const started = performance.now();
  const paths =
    options.images === undefined
      ? []
      : typeof options.images === 'string'
        ? listImages(options.images)
        : [...options.images];
  const project = await Project.create(options.project, {
    images: paths,
    settings: options.settings,
    pack: options.pack,
    versions: options.versions,
  });
  const committed = project.committedIds();
  const images = project.file.images;
  const pending = images.filter((e) => !committed.has(e.id));
  const progress: RunProgress = {
    imagesDone: images.length - pending.length,
    imagesTotal: images.length,
    imagesSkipped: images.length - pending.length,
    imagesFailed: project.results().filter((r) => r.status === 'failed').length,
    stage: 'start',
    rate: 0,
    etaSeconds: null,
  };
  const emit = () => options.onProgress?.({ ...progress });
  emit();
  let computed = 0;
  let cancelled = false;
  try {
    for (const entry of pending) {
      if (options.signal?.aborted) {
        cancelled = true;
        break;
      }
      progress.image = entry.name;
      let result: ImageResult;
      try {
        result = await processImage(options.stages, entry, options.settings, options.signal, (stage) => {
          progress.stage = stage;
          emit();
        });
      } catch (error) {
        if (isFatal(error)) throw error;
        result = failedResult(entry, error);
      }
      progress.stage = 'commit';
      project.commit(result);
      options.onCommit?.(result);
      computed++;
      progress.imagesDone++;
      if (result.status === 'failed') progress.imagesFailed++;
      const minutes = (performance.now() - started) / 60000;
      progress.rate = minutes > 0 ? computed / minutes : 0;
      progress.etaSeconds =
        progress.rate > 0 ? ((progress.imagesTotal - progress.imagesDone) / progress.rate) * 60 : null;
      emit();
    }
  } finally {
    project.close();
  }
  progress.stage = cancelled ? 'cancelled' : 'done';
  progress.image = undefined;
  emit();
  return {
    project: project.dir,
    imagesTotal: images.length,
    imagesDone: progress.imagesDone,
    imagesFailed: progress.imagesFailed,
    imagesSkipped: progress.imagesSkipped,
    cancelled,
    seconds: (performance.now() - started) / 1000,
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

/** Errors that would fail every image (a broken model pack) stop the batch instead of being recorded per image. */
function isFatal(error: unknown): boolean {
  return error instanceof Error && (error.name === 'ModelPackError' || error.name === 'AbortError');
}
