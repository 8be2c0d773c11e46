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
import { buildCrops, type BinaryMask, type RgbImage } from '../image/index.ts';
import type { ModelPack } from '../runtime/index.ts';
import { Captioner, type CaptionCounters } from './captioner.ts';
import { generateCaptions } from './generate.ts';
import { loadTokenizer, type CaptionTokenizer } from './tokenizer.ts';
import { compareTraces } from './trace.ts';

/** A pack's captioner, ready to decode. */
export interface PackCaptioner {
  captioner: Captioner;
  tokenizer: CaptionTokenizer;
  special: { sot: number; eot: number; pad: number };
  cropSize: number;
  packName: string;
}

/** Opens the captioner sessions and tokenizer of a pack. `mode: 'reference'` turns deduplication off. */
export async function openPackCaptioner(
  pack: ModelPack,
  mode: 'engine' | 'reference' = 'engine',
): Promise<PackCaptioner> {
  const { captioner: entry } = pack.manifest;
  const [visual, text, decoder] = await Promise.all([
    pack.session('captioner.visual'),
    pack.session('captioner.text'),
    pack.session('captioner.decoder'),
  ]);
  return {
    captioner: new Captioner({ visual, text, decoder }, { dedupe: mode === 'engine' }),
    tokenizer: await loadTokenizer(pack.path(entry.tokenizer), entry.specialTokens),
    special: entry.specialTokens,
    cropSize: entry.preprocess.size,
    packName: pack.name,
  };
}

/** Input of {@link captionImage}. */
export interface CaptionImageInput {
  model: PackCaptioner;
  image: RgbImage;
  masks: readonly BinaryMask[];
  /** Names the image in random-stream names (file name or content hash). */
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
  const perCrop: CaptionCandidate[][] = [];
  const traces: CaptionTrace[] = [];
  let steps = 0;
  for (const batch of batches) {
    const out = await generateCaptions({
      captioner: model.captioner,
      tokenizer: model.tokenizer,
      special: model.special,
      crops: batch.data,
      count: input.masks.length,
      size: model.cropSize,
      crop: batch.crop,
      imageId: input.imageId,
      options: decoding,
      mode: input.mode,
      model: { pack: model.packName },
      ...(trace ? { trace } : {}),
    });
    perCrop.push(out.candidates);
    traces.push(...out.traces);
    steps += out.steps;
  }
  const candidates: CaptionCandidate[] = [];
  for (let mask = 0; mask < input.masks.length; mask++) {
    for (const list of perCrop) candidates.push(...list.filter((candidate) => candidate.maskIndex === mask));
  }
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
