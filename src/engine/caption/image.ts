/**
 * Captions for the masks of one image with a model pack: the four crops per mask (DESIGN.md §5 Crops, built by
 * image/crops.ts), every crop type decoded by {@link generateCaptions}, optional traces with naive-vs-DCS
 * comparisons. The CLI's `caption` command and the app's decoding inspector sit on this.
 */
import {
  cropKey,
  DEFAULT_CROP_TYPES,
  settingKey,
  type CaptionCandidate,
  type CaptionTrace,
  type CropType,
  type DecodingOptions,
  type TraceComparison,
} from '../../shared/caption.ts';
import { buildCrops, type BinaryMask, type CropBatch, type RgbImage } from '../image/index.ts';
import { throwIfCancelled } from '../runtime/index.ts';
import type { Captioner, CaptionCounters } from './captioner.ts';
import { generateCaptions } from './generate.ts';
import type { CaptionTokenizer } from './tokenizer.ts';
import { compareTraces } from './trace.ts';

/** A pack's captioner, ready to decode (opened by pipeline/engine.ts `openStages`, the one opener). */
export interface PackCaptioner {
  captioner: Captioner;
  tokenizer: CaptionTokenizer;
  special: { sot: number; eot: number; pad: number };
  cropSize: number;
  packName: string;
}

/** Input of {@link captionImage}. */
export interface CaptionImageInput {
  model: PackCaptioner;
  image: RgbImage;
  masks: readonly BinaryMask[];
  /** Names the image in random-stream names: its content hash (SHA-256 hex), as `generate` names it. */
  imageId: string;
  options: DecodingOptions;
  /** Crop types to caption (default: masked, box 1.0, 1.1, 1.2). */
  crops?: readonly CropType[];
  /** Record a trace of every sampling row; DCS traces get a naive partner (same stream) and a comparison. */
  trace?: boolean | { topN?: number };
  mode?: 'engine' | 'reference';
}

/** Output of {@link captionImage}. */
export interface CaptionImageOutput {
  /** By mask, then crop type, then setting (beam, k values, p values; DCS before plain). */
  candidates: CaptionCandidate[];
  traces: CaptionTrace[];
  /** One per DCS trace that has a plain partner on the same crop and stream. */
  comparisons: (TraceComparison & { maskIndex: number; crop: string })[];
  counters: CaptionCounters;
  steps: number;
  /** Wall time of the whole call, and of building the crops (pre-processing, part of it). */
  wallMilliseconds: number;
  cropMilliseconds: number;
}

/** Input of {@link captionBatches}. */
export interface CaptionBatchesInput {
  model: PackCaptioner;
  /** The crop batches of one image (image/crops.ts), one per crop type, each over every mask. */
  batches: readonly CropBatch[];
  /** Names the image in random-stream names: its content hash (SHA-256 hex), as the project store records it. */
  imageId: string;
  options: DecodingOptions;
  mode?: 'engine' | 'reference';
  /** Record a trace of every sampling row (`null`: none). */
  trace?: { topN?: number } | null;
  signal?: AbortSignal;
  /** Crop batches captioned so far (unit `crops`). */
  onWithin?: (step: { done: number; total: number; unit: 'crops' }) => void;
}

/**
 * The one per-image caption path, shared by `pseudo-ris caption` ({@link captionImage}) and the pipeline's caption
 * stage: every crop batch decoded by {@link generateCaptions}; candidates by mask, then crop type (batch order), then
 * setting. The same image id, masks, crops and options give the same candidates on both paths.
 */
export async function captionBatches(
  input: CaptionBatchesInput,
): Promise<{ candidates: CaptionCandidate[]; traces: CaptionTrace[]; steps: number }> {
  const { model, batches, signal, onWithin } = input;
  const perCrop: CaptionCandidate[][] = [];
  const traces: CaptionTrace[] = [];
  let steps = 0;
  let count = 0;
  for (const [k, batch] of batches.entries()) {
    throwIfCancelled(signal, 'captioning');
    onWithin?.({ done: k, total: batches.length, unit: 'crops' });
    count = batch.dims[0];
    const out = await generateCaptions({
      captioner: model.captioner,
      tokenizer: model.tokenizer,
      special: model.special,
      crops: batch.data,
      count,
      size: batch.dims[2],
      crop: batch.crop,
      imageId: input.imageId,
      options: input.options,
      mode: input.mode,
      model: { pack: model.packName },
      ...(input.trace ? { trace: input.trace } : {}),
    });
    perCrop.push(out.candidates);
    traces.push(...out.traces);
    steps += out.steps;
  }
  onWithin?.({ done: batches.length, total: batches.length, unit: 'crops' });
  const candidates: CaptionCandidate[] = [];
  for (let mask = 0; mask < count; mask++) {
    for (const list of perCrop) candidates.push(...list.filter((candidate) => candidate.maskIndex === mask));
  }
  return { candidates, traces, steps };
}

/** Captions every mask of one image with every crop type. */
export async function captionImage(input: CaptionImageInput): Promise<CaptionImageOutput> {
  const started = performance.now();
  const { model, options } = input;
  if (input.masks.length === 0) throw new RangeError('captionImage needs at least one mask');
  const trace = input.trace === true ? {} : input.trace || null;
  const decoding: DecodingOptions = trace && options.distinctive ? { ...options, alsoPlain: true } : options;
  const cropStarted = performance.now();
  const batches = buildCrops(input.image, input.masks, {
    size: model.cropSize,
    crops: input.crops ?? DEFAULT_CROP_TYPES,
  });
  const cropMilliseconds = performance.now() - cropStarted;
  const before = { ...model.captioner.counters };
  const { candidates, traces, steps } = await captionBatches({
    model,
    batches,
    imageId: input.imageId,
    options: decoding,
    mode: input.mode,
    trace,
  });
  const comparisons: CaptionImageOutput['comparisons'] = [];
  for (const dcs of traces.filter((t) => t.config.setting.distinctive)) {
    const plainKey = settingKey({ ...dcs.config.setting, distinctive: false });
    const naive = traces.find(
      (t) =>
        t.config.settingKey === plainKey &&
        t.target.maskIndex === dcs.target.maskIndex &&
        cropKey(t.target.crop) === cropKey(dcs.target.crop),
    );
    if (naive)
      comparisons.push({
        ...compareTraces(naive, dcs),
        maskIndex: dcs.target.maskIndex,
        crop: cropKey(dcs.target.crop),
      });
  }
  const counters = Object.fromEntries(
    Object.entries(model.captioner.counters).map(([key, value]) => [
      key,
      value - before[key as keyof CaptionCounters],
    ]),
  ) as unknown as CaptionCounters;
  return {
    candidates,
    traces,
    comparisons,
    counters,
    steps,
    wallMilliseconds: performance.now() - started,
    cropMilliseconds,
  };
}
