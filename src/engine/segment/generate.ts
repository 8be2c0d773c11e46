/**
 * Automatic mask generation, step by step as SAM's `SamAutomaticMaskGenerator` (research/contracts.md §1.7) over the
 * ONNX decoder: per crop box, a grid of single-point prompts, 3 multimask outputs per point, predicted-IoU and
 * stability filters, binarize, box NMS by predicted IoU; optional crop layers with cross-crop NMS and optional
 * small-region cleanup.
 */
import {
  binarize,
  maskArea,
  maskBox,
  removeSmallRegions,
  maskToRuns,
  runsToMask,
  type BinaryMask,
  type Box,
  type RgbImage,
} from '../image/index.ts';
import {
  AMG_PRESETS,
  boxNms,
  buildPointGrid,
  checkAmgOptions,
  generateCropBoxes,
  isBoxNearCropEdge,
  stabilityScore,
  type AmgOptions,
  type CropBox,
} from './amg.ts';
import { batchRunBudget, throwIfCancelled, timeSlicer } from '../runtime/index.ts';
import { promptsInMemory, SegmentSession, type SamModel } from './model.ts';

/** One generated mask with what SAM records for it. */
export interface MaskProposal {
  /** Position in the generator's output (after NMS, best predicted IoU first). */
  id: number;
  mask: BinaryMask;
  area: number;
  /** XYXY, last set pixel inclusive; null only for a mask emptied by small-region cleanup. */
  box: Box | null;
  /** COCO [x, y, width, height]. */
  bbox: [number, number, number, number];
  predictedIou: number;
  stability: number;
  /** The prompt point, in image pixels. */
  point: [number, number];
  /** Which multimask output (1..3) it is. */
  output: number;
  /** The crop it came from, XYWH (the whole image unless crop layers are on). */
  cropBox: [number, number, number, number];
}

/** Counts along the way, for the UI and the bench. */
export interface GenerationStats {
  points: number;
  decoderRuns: number;
  encoderRuns: number;
  /** Multimask outputs looked at (3 per point). */
  candidates: number;
  afterIou: number;
  afterStability: number;
  afterNms: number;
  milliseconds: number;
  /** Milliseconds inside `session.run` (encoder and decoder). */
  sessionMilliseconds: number;
}

/** Options of `generateMasks`: a preset plus any generator knob. */
export interface GenerateOptions extends Partial<AmgOptions> {
  /** `sam` (pred IoU 0.88) or `reference` (Pseudo-RIS, pred IoU 0.5); default `sam`. */
  preset?: 'sam' | 'reference';
  /**
   * Point prompts decoded together (segment-anything's `points_per_batch`; default 64) when the model has the batched
   * decoder; the masks and their order are those of one-by-one decoding. Without it prompts go one by one.
   */
  pointsPerBatch?: number;
  /** Progress after each decoded point: (done, total). */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

interface Candidate {
  mask: BinaryMask;
  box: Box;
  iou: number;
  stability: number;
  point: [number, number];
  output: number;
  crop: CropBox;
}

/** A candidate before NMS: its mask kept as COCO run lengths, as SAM keeps RLEs, so memory stays small. */
type PendingCandidate = Omit<Candidate, 'mask'> & { runs: number[]; size: { width: number; height: number } };

/** The resolved generator options of a preset and overrides. */
export function amgOptions(options: GenerateOptions = {}): AmgOptions {
  const base = AMG_PRESETS[options.preset ?? 'sam'];
  if (!base)
    throw new RangeError(`preset must be "sam" or "reference", got ${JSON.stringify(options.preset)}`);
  const resolved: AmgOptions = { ...base };
  for (const key of Object.keys(base) as Array<keyof AmgOptions>) {
    const value = options[key];
    if (value !== undefined) resolved[key] = value;
  }
  checkAmgOptions(resolved);
  return resolved;
}

/**
 * Generates masks for an image (or the image of a `SegmentSession`, whose embeddings are reused).
 *
 * Returns the proposals sorted as SAM outputs them (by predicted IoU after NMS) and the counts along the way.
 */
export async function generateMasks(
  modelOrSession: SamModel | SegmentSession,
  image: RgbImage | null,
  options: GenerateOptions = {},
): Promise<{ proposals: MaskProposal[]; stats: GenerationStats; options: AmgOptions }> {
  const session =
    modelOrSession instanceof SegmentSession
      ? modelOrSession
      : new SegmentSession(modelOrSession, requireImage(image));
  const model = session.model;
  const full = session.image;
  const settings = amgOptions(options);
  const pointsPerBatch = options.pointsPerBatch ?? 64;
  if (!Number.isInteger(pointsPerBatch) || pointsPerBatch < 1)
    throw new RangeError(`pointsPerBatch must be an integer ≥ 1, got ${options.pointsPerBatch}`);
  const started = performance.now();
  const before = model.stats();
  const stats: GenerationStats = {
    points: 0,
    decoderRuns: 0,
    encoderRuns: 0,
    candidates: 0,
    afterIou: 0,
    afterStability: 0,
    afterNms: 0,
    milliseconds: 0,
    sessionMilliseconds: 0,
  };
  const crops = generateCropBoxes(full, settings.cropNLayers, settings.cropOverlapRatio);
  const perCrop = crops.map((crop) =>
    Math.trunc(settings.pointsPerSide / settings.cropNPointsDownscaleFactor ** crop.layer),
  );
  const total = perCrop.reduce((sum, n) => sum + n * n, 0);
  let done = 0;
  // a chunk's post-processing (stability, binarize, runs for up to 64 points × 3 masks) gives the thread to a
  // user's read every few milliseconds (issue 22)
  const pause = timeSlicer();

  let kept: Candidate[] = [];
  for (let c = 0; c < crops.length; c++) {
    const crop = crops[c];
    const cropSession = crop.layer === 0 ? session : new SegmentSession(model, cropImage(full, crop));
    const cropSize = cropSession.size;
    const grid = buildPointGrid(Math.max(1, perCrop[c]));
    const found: PendingCandidate[] = [];
    const points = grid.length / 2;
    const largest = model.batched ? Math.min(pointsPerBatch, promptsInMemory(cropSize)) : 1;
    // In a run the app waits on, chunks are sized to the batch's run budget from the last chunk's time per prompt,
    // starting small (runtime/lanes.ts `batchRunBudget`); each prompt's outputs do not depend on its chunk
    // (segment.test.ts: bit for bit as its own batch-1 run), so only the timing changes.
    const budget = batchRunBudget();
    let chunk = Number.isFinite(budget) ? Math.min(largest, FIRST_BUDGETED_CHUNK) : largest;
    for (let first = 0; first < points;) {
      throwIfCancelled(options.signal, 'mask generation');
      const last = Math.min(points, first + chunk);
      const prompts = Array.from({ length: last - first }, (_, i) => ({
        points: [
          {
            x: grid[2 * (first + i)] * cropSize.width,
            y: grid[2 * (first + i) + 1] * cropSize.height,
            label: 1 as const,
          },
        ],
      }));
      const decodeStart = performance.now();
      const decodedChunk = await cropSession.decode(prompts);
      if (Number.isFinite(budget)) {
        const perPrompt = (performance.now() - decodeStart) / (last - first);
        chunk = Math.max(1, Math.min(largest, Math.floor(budget / Math.max(perPrompt, 1e-3))));
      }
      // a cancel that arrived while the batch ran stops before its masks are used
      throwIfCancelled(options.signal, 'mask generation');
      // Each point's outputs in grid order: the same candidates, in the same order, as one-by-one decoding.
      for (let p = first; p < last; p++) {
        await pause();
        const px = grid[2 * p] * cropSize.width;
        const py = grid[2 * p + 1] * cropSize.height;
        const decoded = decodedChunk[p - first];
        stats.points++;
        const plane = cropSize.width * cropSize.height;
        // Multimask outputs are indices 1..3 (index 0 is the single-mask token, which SAM's generator does not use).
        for (let k = decoded.count === 1 ? 0 : 1; k < decoded.count; k++) {
          stats.candidates++;
          const iou = decoded.iou[k];
          if (!(iou > settings.predIouThresh)) continue;
          stats.afterIou++;
          const stability = stabilityScore(
            decoded.masks,
            settings.maskThreshold,
            settings.stabilityScoreOffset,
            k * plane,
            plane,
          );
          if (!(stability >= settings.stabilityScoreThresh)) continue;
          stats.afterStability++;
          const mask = binarize(
            decoded.masks.subarray(k * plane, (k + 1) * plane),
            cropSize,
            settings.maskThreshold,
          );
          const box = maskBox(mask) ?? { x0: 0, y0: 0, x1: 0, y1: 0 };
          const uncropped = {
            x0: box.x0 + crop.x0,
            y0: box.y0 + crop.y0,
            x1: box.x1 + crop.x0,
            y1: box.y1 + crop.y0,
          };
          if (isBoxNearCropEdge(uncropped, crop, full)) continue;
          found.push({
            runs: maskToRuns(mask),
            size: cropSize,
            box: uncropped,
            iou,
            stability,
            point: [px + crop.x0, py + crop.y0],
            output: k,
            crop,
          });
        }
        done++;
        options.onProgress?.(done, total);
      }
      first = last;
    }
    // Within a crop: NMS by predicted IoU (SAM's batched_nms with one category).
    const keep = boxNms(
      found.map((f) => f.box),
      found.map((f) => f.iou),
      settings.boxNmsThresh,
    );
    for (const i of keep) {
      const { runs, size, ...rest } = found[i];
      kept.push({ ...rest, mask: uncropMask(runsToMask(runs, size), crop, full) });
    }
  }
  if (crops.length > 1) {
    // Across crops: prefer masks from smaller crops (score 1 / crop area).
    const keep = boxNms(
      kept.map((k) => k.box),
      kept.map((k) => 1 / ((k.crop.x1 - k.crop.x0) * (k.crop.y1 - k.crop.y0))),
      settings.cropNmsThresh,
    );
    kept = keep.map((i) => kept[i]);
  }
  if (settings.minMaskRegionArea > 0) kept = cleanSmallRegions(kept, settings);
  stats.afterNms = kept.length;

  const after = model.stats();
  stats.decoderRuns = after.decoderRuns - before.decoderRuns;
  stats.encoderRuns = after.encoderRuns - before.encoderRuns;
  stats.sessionMilliseconds = after.sessionMilliseconds - before.sessionMilliseconds;
  stats.milliseconds = performance.now() - started;
  const proposals = kept.map((k, id): MaskProposal => {
    const box = maskBox(k.mask);
    return {
      id,
      mask: k.mask,
      area: maskArea(k.mask),
      box,
      bbox: box ? [box.x0, box.y0, box.x1 - box.x0 + 1, box.y1 - box.y0 + 1] : [0, 0, 0, 0],
      predictedIou: k.iou,
      stability: k.stability,
      point: k.point,
      output: k.output,
      cropBox: [k.crop.x0, k.crop.y0, k.crop.x1 - k.crop.x0, k.crop.y1 - k.crop.y0],
    };
  });
  return { proposals, stats, options: settings };
}

/** SAM's `postprocess_small_regions`: fill small holes, drop small islands, then NMS preferring unchanged masks. */
function cleanSmallRegions(kept: Candidate[], settings: AmgOptions): Candidate[] {
  const cleaned = kept.map((k) => {
    const holes = removeSmallRegions(k.mask, settings.minMaskRegionArea, 'holes');
    const islands = removeSmallRegions(holes.mask, settings.minMaskRegionArea, 'islands');
    const unchanged = !holes.changed && !islands.changed;
    const mask = islands.mask;
    return {
      candidate: { ...k, mask, box: maskBox(mask) ?? { x0: 0, y0: 0, x1: 0, y1: 0 } },
      score: unchanged ? 1 : 0,
    };
  });
  const keep = boxNms(
    cleaned.map((c) => c.candidate.box),
    cleaned.map((c) => c.score),
    Math.max(settings.boxNmsThresh, settings.cropNmsThresh),
  );
  return keep.map((i) => cleaned[i].candidate);
}

/** The pixels of a crop box as an image. */
function cropImage(image: RgbImage, crop: CropBox): RgbImage {
  const width = crop.x1 - crop.x0;
  const height = crop.y1 - crop.y0;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const from = ((crop.y0 + y) * image.width + crop.x0) * 3;
    data.set(image.data.subarray(from, from + width * 3), y * width * 3);
  }
  return { width, height, data };
}

/** SAM's `uncrop_masks`: a crop-size mask placed into the full image (zero elsewhere). */
function uncropMask(mask: BinaryMask, crop: CropBox, image: { width: number; height: number }): BinaryMask {
  if (crop.x0 === 0 && crop.y0 === 0 && mask.width === image.width && mask.height === image.height)
    return mask;
  const data = new Uint8Array(image.width * image.height);
  for (let y = 0; y < mask.height; y++) {
    data.set(mask.data.subarray(y * mask.width, (y + 1) * mask.width), (crop.y0 + y) * image.width + crop.x0);
  }
  return { width: image.width, height: image.height, data };
}

function requireImage(image: RgbImage | null): RgbImage {
  if (!image)
    throw new RangeError('generateMasks needs an image when given a model (or pass a SegmentSession)');
  return image;
}

/** 4 prompts: the first chunk of a budgeted generation, short enough to time one prompt before sizing the rest. */
const FIRST_BUDGETED_CHUNK = 4;
