/**
 * The SAM encoder/decoder sessions of a model pack, fed with the official ONNX contract (DESIGN.md §4,
 * research/contracts.md §1.1).
 *
 * One encoder run per image: `SegmentSession` holds the image and runs the encoder once, on first use; every decoder
 * call on that image reuses the embeddings. Decoder calls append the padding point (0, 0, −1) when there is no box,
 * map coordinates into the 1024 frame, pass `orig_im_size` and optionally a previous low-res mask. The official
 * decoder's batch dimension is fixed at 1, so prompts are decoded one by one; a graph whose `point_coords` batch
 * dimension is symbolic gets several prompts per run. A pack that offers `segmenter.decoderBatched` (the fast
 * contract, runtime/README.md) decodes prompts without a mask input in batches through it: mask_input [1,1,256,256]
 * and has_mask_input [1] are shared by the batch, every prompt's outputs are those of a batch-1 run.
 *
 * Slightly over the ~400-line guide: the batch-1 and batched decoder contracts and their validation stay together.
 */
import {
  batchCandidates,
  floatData,
  floatOutput,
  floatTensor,
  pickRunBatch,
  stopMeasuring,
  type BatchChoice,
  type ModelPack,
  type ModelSession,
  type Tensor,
} from '../runtime/index.ts';
import type { RgbImage, Size } from '../image/index.ts';
import { SAM_PREPROCESS, samEncoderInput, toModelFrame, type SamPreprocess } from './preprocess.ts';

/** A prompt point in image pixels; label 1 = foreground, 0 = background. */
export interface PromptPoint {
  x: number;
  y: number;
  label: 0 | 1;
}

/** A prompt box in image pixels, XYXY. */
export interface PromptBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** One decoder prompt: points and/or a box, optionally the previous low-res logits to refine. */
export interface SamPrompt {
  points?: readonly PromptPoint[];
  box?: PromptBox;
  /** float32[256·256] low-res logits of an earlier decode (its `lowRes` plane), fed as `mask_input`. */
  maskInput?: Float32Array;
}

/** The decoder's four outputs for one prompt (index 0 the single-mask token, 1..3 the multimask outputs). */
export interface DecodedMasks {
  /** Image (or crop) size the logits are at. */
  size: Size;
  /** float32[4, H, W] logits; inside = logit > mask threshold. */
  masks: Float32Array;
  /** float32[4] predicted IoU. */
  iou: Float32Array;
  /** float32[4, 256, 256] low-res logits, to feed back as `mask_input`. */
  lowRes: Float32Array;
  /** Number of masks (4 for the official export). */
  count: number;
}

/** Run counters of a segmenter. */
export interface SegmenterStats {
  encoderRuns: number;
  decoderRuns: number;
  /** Milliseconds inside `session.run` of encoder and decoder. */
  sessionMilliseconds: number;
}

/** Options of {@link SamModel.open}. */
export interface SamModelOptions {
  /** 'auto' (default): use the pack's batched decoder when it has one; 'off': batch-1 runs only. */
  batched?: 'auto' | 'off';
  /** Prompts per batched run: a number, or 'auto' to measure at the first batched decode (default 'auto'). */
  promptBatch?: number | 'auto';
}

/** Largest batched-decoder output kept at once (B·4·H·W float32 masks): 512 MiB. */
const MAX_BATCH_OUTPUT_BYTES = 512 * 1024 * 1024;

/** How many prompts' full-size outputs (4 float32 masks of H·W) fit in the 512 MiB a batch may hold. */
export function promptsInMemory(size: Size): number {
  return Math.max(1, Math.floor(MAX_BATCH_OUTPUT_BYTES / (16 * size.width * size.height)));
}

/** The segmenter of a model pack: encoder + decoder sessions and their preprocessing constants. */
export class SamModel {
  /** True when the decoder takes several prompts per run (symbolic batch dimension of `point_coords`). */
  readonly batchable: boolean;
  /** Prompts per batched-decoder run, once chosen (null until measured, or without a batched decoder). */
  promptBatch: BatchChoice | null = null;
  private readonly counters = { encoderRuns: 0, decoderRuns: 0 };
  private readonly batchOption: number | 'auto';

  constructor(
    readonly encoder: ModelSession,
    readonly decoder: ModelSession,
    readonly preprocess: SamPreprocess = SAM_PREPROCESS,
    readonly maskThreshold = 0,
    /** The fast contract's decoder with a prompt batch axis, or null. */
    readonly batched: ModelSession | null = null,
    promptBatch: number | 'auto' = 'auto',
  ) {
    if (promptBatch !== 'auto' && (!Number.isInteger(promptBatch) || promptBatch < 1))
      throw new RangeError(`promptBatch must be an integer ≥ 1 or 'auto', got ${promptBatch}`);
    this.batchOption = promptBatch;
    if (batched && typeof promptBatch === 'number')
      this.promptBatch = { size: promptBatch, source: 'setting', reason: 'the runtime.promptBatch setting' };
    const batchDim = decoder.inputs.point_coords?.shape[0];
    const maskDim = decoder.inputs.mask_input?.shape[0];
    const hasMaskDim = decoder.inputs.has_mask_input?.shape[0];
    this.batchable =
      typeof batchDim === 'string' && typeof maskDim === 'string' && typeof hasMaskDim === 'string';
  }

  /** Opens the pack's segmenter sessions (and its batched decoder when it has one and `batched` is not 'off'). */
  static async open(pack: ModelPack, options: SamModelOptions = {}): Promise<SamModel> {
    const useBatched = options.batched !== 'off' && pack.offers('segmenter.decoderBatched');
    const [encoder, decoder, batched] = await Promise.all([
      pack.session('segmenter.encoder'),
      pack.session('segmenter.decoder'),
      useBatched ? pack.session('segmenter.decoderBatched') : Promise.resolve(null),
    ]);
    const pre = pack.manifest.segmenter.preprocess;
    return new SamModel(
      encoder,
      decoder,
      { longestSide: pre.longestSide, mean: pre.mean, std: pre.std },
      pack.manifest.segmenter.maskThreshold,
      batched,
      options.promptBatch ?? 'auto',
    );
  }

  /** The prompt path: 'batched' with the fast contract's decoder, 'batch-1' otherwise. */
  get path(): 'batched' | 'batch-1' {
    return this.batched ? 'batched' : 'batch-1';
  }

  /** Runs and session time so far (session time summed over both sessions' own counters). */
  stats(): SegmenterStats {
    return {
      encoderRuns: this.counters.encoderRuns,
      decoderRuns: this.counters.decoderRuns,
      sessionMilliseconds:
        this.encoder.stats.milliseconds +
        this.decoder.stats.milliseconds +
        (this.batched?.stats.milliseconds ?? 0),
    };
  }

  /**
   * Runs the encoder on an image.
   *
   * out: image_embeddings float32[1, C, 64, 64]
   */
  async embed(image: RgbImage): Promise<Tensor> {
    const side = this.preprocess.longestSide;
    // in: image float32[1,3,1024,1024]
    const input = floatTensor(samEncoderInput(image, this.preprocess), [1, 3, side, side]);
    const out = await this.encoder.run({ image: input });
    this.counters.encoderRuns++;
    return out.image_embeddings;
  }

  /** Decodes prompts against one image's embeddings, batching when the graph allows it, looping otherwise. */
  async decode(
    embeddings: Tensor,
    size: Size,
    prompts: readonly SamPrompt[],
    batchSize = 64,
  ): Promise<DecodedMasks[]> {
    if (this.batched && prompts.length > 1 && prompts.every((p) => !p.maskInput))
      return this.decodeBatched(embeddings, size, prompts);
    if (!this.batchable || prompts.length <= 1) {
      const results: DecodedMasks[] = [];
      for (const prompt of prompts) results.push(...(await this.run(embeddings, size, [prompt])));
      return results;
    }
    // A batch needs the same number of points in every prompt: group by point count, keep the input order.
    const results = new Array<DecodedMasks>(prompts.length);
    const groups = new Map<number, number[]>();
    prompts.forEach((prompt, i) => {
      const n = promptPoints(prompt, size, this.preprocess.longestSide).labels.length;
      const group = groups.get(n);
      if (group) group.push(i);
      else groups.set(n, [i]);
    });
    for (const indices of groups.values()) {
      for (let start = 0; start < indices.length; start += batchSize) {
        const chunk = indices.slice(start, start + batchSize);
        const decoded = await this.run(
          embeddings,
          size,
          chunk.map((i) => prompts[i]),
        );
        chunk.forEach((i, k) => (results[i] = decoded[k]));
      }
    }
    return results;
  }

  /**
   * Prompts without mask input through the batched decoder, in chunks of the chosen batch size (capped so a chunk's
   * full-size masks stay under 512 MiB), grouped by point count; results in input order.
   */
  private async decodeBatched(
    embeddings: Tensor,
    size: Size,
    prompts: readonly SamPrompt[],
  ): Promise<DecodedMasks[]> {
    const results = new Array<DecodedMasks>(prompts.length);
    const groups = new Map<number, number[]>();
    prompts.forEach((prompt, i) => {
      const n = promptPoints(prompt, size, this.preprocess.longestSide).labels.length;
      groups.set(n, [...(groups.get(n) ?? []), i]);
    });
    const memoryCap = promptsInMemory(size);
    const chosen =
      this.promptBatch ?? (await this.measurePromptBatch(embeddings, size, prompts[0]!, prompts.length));
    const batch = Math.min(chosen.size, memoryCap);
    for (const indices of groups.values()) {
      for (let start = 0; start < indices.length; start += batch) {
        const chunk = indices.slice(start, start + batch);
        const decoded = await this.runBatched(
          embeddings,
          size,
          chunk.map((i) => prompts[i]!),
        );
        chunk.forEach((i, k) => (results[i] = decoded[k]!));
      }
    }
    return results;
  }

  /**
   * Chooses the prompts per batched run from the per-prompt time at 1, 4, 16, 64 prompts (one prompt repeated, capped
   * by memory): each size runs twice and the second run is timed (the first run of a new shape plans and allocates its
   * memory), the time is the whole run's (feeds, `session.run`, reading the outputs: the fixed cost per run counts),
   * and the size taken is the fewest runs for `total` prompts within 5 % of the fastest total (runtime/batch.ts
   * `pickRunBatch`). Public for `doctor`, which measures on a blank embedding.
   */
  async measurePromptBatch(
    embeddings: Tensor,
    size: Size,
    prompt: SamPrompt,
    total = 64,
  ): Promise<BatchChoice> {
    if (!this.batched) throw new Error('the pack offers no batched SAM decoder to measure');
    const timings: { batch: number; msPerRow: number }[] = [];
    const memoryCap = promptsInMemory(size);
    for (const batch of batchCandidates(Math.min(64, memoryCap, Math.max(1, total)))) {
      const prompts = new Array<SamPrompt>(batch).fill(prompt);
      await this.runBatched(embeddings, size, prompts, false);
      const started = performance.now();
      await this.runBatched(embeddings, size, prompts, false);
      timings.push({ batch, msPerRow: (performance.now() - started) / batch });
      if (stopMeasuring(timings)) break;
    }
    const choice = pickRunBatch(timings, total);
    this.promptBatch = { size: choice.size, source: 'measured', timings, reason: choice.reason };
    return this.promptBatch;
  }

  /** One batched-decoder run (fast contract): prompts [B,N,2], one shared empty mask input. */
  private async runBatched(
    embeddings: Tensor,
    size: Size,
    prompts: readonly SamPrompt[],
    count = true,
  ): Promise<DecodedMasks[]> {
    const batch = prompts.length;
    const encoded = prompts.map((p) => promptPoints(p, size, this.preprocess.longestSide));
    const n = encoded[0]!.labels.length;
    const coords = new Float32Array(batch * n * 2);
    const labels = new Float32Array(batch * n);
    encoded.forEach((e, b) => {
      coords.set(e.coords, b * n * 2);
      labels.set(e.labels, b * n);
    });
    const out = await this.batched!.run({
      image_embeddings: embeddings,
      // in: point_coords float32[B,N,2] (1024 frame), point_labels float32[B,N]
      point_coords: floatTensor(coords, [batch, n, 2]),
      point_labels: floatTensor(labels, [batch, n]),
      // in: mask_input float32[1,1,256,256], has_mask_input float32[1] (shared by the B prompts)
      mask_input: floatTensor(new Float32Array(256 * 256), [1, 1, 256, 256]),
      has_mask_input: floatTensor(new Float32Array(1), [1]),
      orig_im_size: floatTensor(new Float32Array([size.height, size.width]), [2]),
    });
    if (count) this.counters.decoderRuns++;
    // out: masks float32[B,4,H,W], iou_predictions float32[B,4], low_res_masks float32[B,4,256,256]
    const masks = floatData(out.masks, 'segmenter.decoderBatched output "masks"');
    const [rows, masksPer, height, width] = masks.dims;
    if (rows !== batch || height !== size.height || width !== size.width) {
      throw new Error(
        `segmenter.decoderBatched returned masks [${masks.dims.join(',')}] for ${batch} prompts at ${size.width}×${size.height}`,
      );
    }
    const iou = floatData(out.iou_predictions, 'segmenter.decoderBatched output "iou_predictions"').data;
    const low = floatData(out.low_res_masks, 'segmenter.decoderBatched output "low_res_masks"').data;
    const plane = masksPer! * height * width;
    const lowPlane = masksPer! * 256 * 256;
    return prompts.map((_, b) => ({
      size,
      count: masksPer!,
      masks: masks.data.subarray(b * plane, (b + 1) * plane),
      iou: iou.subarray(b * masksPer!, (b + 1) * masksPer!),
      lowRes: low.subarray(b * lowPlane, (b + 1) * lowPlane),
    }));
  }

  /** One decoder run over `prompts.length` prompts (1 unless batchable), all with the same number of points. */
  private async run(embeddings: Tensor, size: Size, prompts: readonly SamPrompt[]): Promise<DecodedMasks[]> {
    const batch = prompts.length;
    const encoded = prompts.map((p) => promptPoints(p, size, this.preprocess.longestSide));
    const n = encoded[0].labels.length;
    const coords = new Float32Array(batch * n * 2);
    const labels = new Float32Array(batch * n);
    const maskInput = new Float32Array(batch * 256 * 256);
    const hasMask = new Float32Array(batch);
    encoded.forEach((e, b) => {
      coords.set(e.coords, b * n * 2);
      labels.set(e.labels, b * n);
      const previous = prompts[b].maskInput;
      if (previous) {
        if (previous.length !== 256 * 256)
          throw new RangeError(`maskInput must hold 256·256 low-res logits, got ${previous.length}`);
        maskInput.set(previous, b * 256 * 256);
        hasMask[b] = 1;
      }
    });
    const feeds = {
      image_embeddings: embeddings,
      // in: point_coords float32[1,N,2] (1024 frame), point_labels float32[1,N]
      point_coords: floatTensor(coords, [batch, n, 2]),
      point_labels: floatTensor(labels, [batch, n]),
      // in: mask_input float32[1,1,256,256], has_mask_input float32[1]
      mask_input: floatTensor(maskInput, [batch, 1, 256, 256]),
      has_mask_input: floatTensor(hasMask, [batch]),
      // in: orig_im_size float32[2] = (H, W)
      orig_im_size: floatTensor(new Float32Array([size.height, size.width]), [2]),
    };
    const out = await this.decoder.run(feeds);
    this.counters.decoderRuns++;
    // out: masks float32[1,4,H,W], iou_predictions float32[1,4], low_res_masks float32[1,4,256,256]
    const masks = floatOutput(out, 'masks', 'segmenter decoder');
    const [, count, height, width] = masks.dims as [number, number, number, number];
    if (height !== size.height || width !== size.width) {
      throw new Error(
        `segmenter decoder returned masks of ${width}×${height} for orig_im_size ${size.width}×${size.height}`,
      );
    }
    const maskData = masks.data;
    const iouData = floatOutput(out, 'iou_predictions', 'segmenter decoder').data;
    const lowData = floatOutput(out, 'low_res_masks', 'segmenter decoder').data;
    const plane = count * height * width;
    const low = count * 256 * 256;
    return prompts.map((_, b) => ({
      size,
      count,
      masks: maskData.subarray(b * plane, (b + 1) * plane),
      iou: iouData.subarray(b * count, (b + 1) * count),
      lowRes: lowData.subarray(b * low, (b + 1) * low),
    }));
  }
}

/**
 * The decoder's point list for a prompt, in the 1024 frame: the points, then the box corners (labels 2, 3), or the
 * padding point (0, 0, −1) when there is no box (the official ONNX graph does not add it itself).
 */
export function promptPoints(
  prompt: SamPrompt,
  size: Size,
  longestSide = 1024,
): { coords: Float32Array; labels: Float32Array } {
  const points = prompt.points ?? [];
  if (points.length === 0 && !prompt.box) throw new RangeError('a prompt needs at least one point or a box');
  const xy: number[] = [];
  const labels: number[] = [];
  points.forEach((p, i) => {
    if (!Number.isFinite(p.x) || !Number.isFinite(p.y))
      throw new RangeError(`prompt point ${i} has a coordinate that is not a finite number`);
    if (p.x < 0 || p.y < 0 || p.x > size.width || p.y > size.height) {
      throw new RangeError(
        `prompt point ${i} (${p.x}, ${p.y}) lies outside the ${size.width}×${size.height} image`,
      );
    }
    if (p.label !== 0 && p.label !== 1)
      throw new RangeError(
        `prompt point ${i} has label ${String(p.label)}; use 1 (foreground) or 0 (background)`,
      );
    xy.push(p.x, p.y);
    labels.push(p.label);
  });
  const box = prompt.box;
  if (box) {
    if (!(box.x1 > box.x0 && box.y1 > box.y0))
      throw new RangeError(`prompt box needs x1 > x0 and y1 > y0, got ${JSON.stringify(box)}`);
    xy.push(box.x0, box.y0, box.x1, box.y1);
    labels.push(2, 3);
  }
  const coords = toModelFrame(xy, size, longestSide);
  if (box) return { coords, labels: Float32Array.from(labels) };
  const padded = new Float32Array(coords.length + 2);
  padded.set(coords);
  return { coords: padded, labels: Float32Array.from([...labels, -1]) };
}

/**
 * The work on one image: the image, its size and its embeddings, computed by one encoder run on first use and reused
 * by every decode (automatic generation, interactive prompts).
 */
export class SegmentSession {
  private embedding: Promise<Tensor> | null = null;

  constructor(
    readonly model: SamModel,
    readonly image: RgbImage,
  ) {}

  /** Image size. */
  get size(): Size {
    return { width: this.image.width, height: this.image.height };
  }

  /** The image embeddings (one encoder run, cached). */
  embeddings(): Promise<Tensor> {
    if (!this.embedding) {
      this.embedding = this.model.embed(this.image);
      this.embedding.catch(() => (this.embedding = null));
    }
    return this.embedding;
  }

  /** Decodes prompts on this image. */
  async decode(prompts: readonly SamPrompt[]): Promise<DecodedMasks[]> {
    return this.model.decode(await this.embeddings(), this.size, prompts);
  }
}
