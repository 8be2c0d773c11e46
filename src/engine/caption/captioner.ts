/**
 * The captioner's three ONNX graphs behind one small interface (DESIGN.md §4 "captioner"):
 *   visual  image float32[B,3,224,224] → image_latent float32[B,D], image_embs float32[B,T,W]
 *   text    text int64[B,L] (sot first) → token_embs float32[B,L,W]
 *   decoder image_embs float32[B,T,W], token_embs float32[B,L,W] → logits float32[B,L,V] or [B,V]
 *
 * Sessions are anything with `run(feeds)` keyed by canonical names — the runtime's `ModelSession` (which maps them to
 * the graph's own names) or a bare onnxruntime session whose names already are canonical. Feeds are built and outputs
 * read through the runtime's tensor helpers (onnxruntime stays inside runtime/).
 *
 * {@link Captioner.nextLogits} is the one step of every decoder: for a list of (prefix, image) pairs it runs the text
 * tower once over the distinct prefixes and the decoder once over the distinct pairs, and returns each pair's
 * last-position logits. Deduplication is what lets beam search, every sampling setting and DCS's "others" share
 * one text run and one decoder run per step; `dedupe: false` gives the reference's cost for comparisons.
 *
 * With the cached contract (runtime/README.md "Fast contracts": `cross` + `decoderWithPast` sessions), a step instead
 * runs the cached decoder (cached-decoder.ts), whose logits are those of the full-prefix path (byte-identical on the
 * demo pack, ≤ 1e-4 for real exports). Sessions are opened lazily and counted in sessions.ts.
 */
import { floatOutput, floatTensor, int64Tensor, type BatchChoice } from '../runtime/index.ts';
import { CachedDecoder } from './cached-decoder.ts';
import { CaptionerGraphs, emptyCounters, type CaptionCounters, type CaptionerSessions } from './sessions.ts';

export {
  emptyCounters,
  type CaptionCounters,
  type CaptionerSessions,
  type DeclaredSessionLike,
  type OpenCaptionerSessions,
  type SessionLike,
  type SessionSource,
} from './sessions.ts';

/** Which decoder path a captioner runs. */
export type DecoderPath = 'cached' | 'full-prefix';

/** Encoded crops of one crop type: latents and image tokens, reused by every decoding of those crops. */
export interface EncodedCrops {
  count: number;
  /** float32[n, D] as the graph returned it (the DCS cosine normalizes). */
  latents: Float32Array;
  latentSize: number;
  /** float32[n, T, W]. */
  embs: Float32Array;
  tokens: number;
  width: number;
}

/** One decoder request: a prefix (sot first) paired with an encoded crop. */
export interface StepPair {
  prefix: readonly number[];
  image: number;
}

/** Options of {@link Captioner}. */
export interface CaptionerOptions {
  /** Share text and decoder rows between identical prefixes / (prefix, image) pairs (default true). */
  dedupe?: boolean;
  /** Largest batch per session run (default 256); bigger requests are split. */
  maxBatch?: number;
  /**
   * Decoder path: 'auto' (default) runs the cached decoder when its sessions are given, 'off' always runs the
   * full-prefix text + decoder graphs (the reference-equivalent mode).
   */
  cache?: 'auto' | 'off';
  /**
   * Rows per cached-decoder run: a number, or 'auto' to measure at the first cached step (per-row time of a few
   * batch sizes up to `maxBatch` on the session's provider; the fastest per row wins). Default: `maxBatch`.
   */
  decoderBatch?: number | 'auto';
}

/** The cross keys/values of every crop of an encoded set, and the self-attention rows of the steps so far. */
/** The captioner model: encoders and one decoding step over many pairs. */
export class Captioner {
  readonly counters: CaptionCounters = emptyCounters();
  /** The decoder path this captioner runs. */
  readonly path: DecoderPath;
  private readonly dedupe: boolean;
  private readonly maxBatch: number;
  private readonly graphs: CaptionerGraphs;
  /** The cached path's steps and caches (null on the full-prefix path). */
  private readonly cached: CachedDecoder | null;
  /** Rows per cached-decoder run given by the setting (null for 'auto'). */
  private readonly settingBatch: BatchChoice | null = null;

  constructor(sessions: CaptionerSessions, options: CaptionerOptions = {}) {
    this.dedupe = options.dedupe ?? true;
    this.maxBatch = options.maxBatch ?? 256;
    if (!Number.isInteger(this.maxBatch) || this.maxBatch < 1)
      throw new RangeError(`maxBatch must be ≥ 1, got ${options.maxBatch}`);
    const withPast = sessions.decoderWithPast;
    this.path = options.cache !== 'off' && sessions.cross && withPast ? 'cached' : 'full-prefix';
    const batchOption = options.decoderBatch ?? this.maxBatch;
    if (batchOption !== 'auto' && (!Number.isInteger(batchOption) || batchOption < 1))
      throw new RangeError(`decoderBatch must be an integer ≥ 1 or 'auto', got ${options.decoderBatch}`);
    if (typeof batchOption === 'number')
      this.settingBatch = { size: Math.min(batchOption, this.maxBatch), source: 'setting' };
    this.graphs = new CaptionerGraphs(sessions, this.counters);
    const cachedOptions = { dedupe: this.dedupe, maxBatch: this.maxBatch, batch: this.settingBatch };
    const openWithPast = typeof withPast === 'function' ? undefined : withPast;
    this.cached =
      this.path === 'cached'
        ? new CachedDecoder(this.graphs, this.counters, cachedOptions, openWithPast)
        : null;
  }

  /** Rows per cached-decoder run, once chosen (null until the first cached step measures it). */
  get decoderBatch(): BatchChoice | null {
    return this.cached ? this.cached.decoderBatch : this.settingBatch;
  }

  /**
   * Runs the visual encoder over a batch of crops.
   *
   * in: crops float32[n,3,S,S] (OpenAI-normalized). out: image_latent [n,D], image_embs [n,T,W].
   */
  async encode(crops: Float32Array, count: number, size = 224): Promise<EncodedCrops> {
    const plane = 3 * size * size;
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`crop count must be ≥ 1, got ${count}`);
    if (crops.length !== count * plane) {
      throw new RangeError(
        `crops hold ${crops.length} values, expected ${count}×3×${size}×${size} = ${count * plane}`,
      );
    }
    const latents: Float32Array[] = [];
    const embs: Float32Array[] = [];
    let latentSize = 0;
    let tokens = 0;
    let width = 0;
    for (let start = 0; start < count; start += this.maxBatch) {
      const batch = Math.min(this.maxBatch, count - start);
      const image = floatTensor(crops.subarray(start * plane, (start + batch) * plane), [
        batch,
        3,
        size,
        size,
      ]);
      const out = await this.graphs.run('visual', { image });
      const latent = floatOutput(out, 'image_latent', 'captioner.visual');
      const emb = floatOutput(out, 'image_embs', 'captioner.visual');
      if (latent.dims.length !== 2 || latent.dims[0] !== batch) {
        throw new Error(
          `captioner.visual returned image_latent [${latent.dims.join(',')}], expected [${batch},D]`,
        );
      }
      if (emb.dims.length !== 3 || emb.dims[0] !== batch) {
        throw new Error(
          `captioner.visual returned image_embs [${emb.dims.join(',')}], expected [${batch},T,W]`,
        );
      }
      latentSize = latent.dims[1]!;
      tokens = emb.dims[1]!;
      width = emb.dims[2]!;
      latents.push(Float32Array.from(latent.data));
      embs.push(Float32Array.from(emb.data));
      this.counters.imagesEncoded += batch;
    }
    return { count, latents: concat(latents), latentSize, embs: concat(embs), tokens, width };
  }

  /**
   * Last-position logits for every (prefix, image) pair: one text run over the distinct prefixes and one decoder run
   * over the distinct pairs per prefix length (split by `maxBatch`). Returns float32[V] per pair, in request order.
   */
  async nextLogits(pairs: readonly StepPair[], encoded: EncodedCrops): Promise<Float32Array[]> {
    const byLength = pairsByPrefixLength(pairs, encoded.count);
    if (this.cached) return this.cached.logits(pairs, encoded, byLength);
    const results = new Array<Float32Array>(pairs.length);
    for (const [length, indices] of byLength) {
      // Distinct prefixes → text rows.
      const prefixRow = new Map<string, number>();
      const prefixes: (readonly number[])[] = [];
      const rowOfPair: number[] = [];
      for (const index of indices) {
        const prefix = pairs[index]!.prefix;
        const key = this.dedupe ? prefix.join(',') : `${index}`;
        let row = prefixRow.get(key);
        if (row === undefined) {
          row = prefixes.length;
          prefixRow.set(key, row);
          prefixes.push(prefix);
        }
        rowOfPair.push(row);
      }
      const tokenEmbs = await this.textTower(prefixes, length);
      // Distinct (prefix row, image) → decoder rows.
      const decoderRow = new Map<string, number>();
      const decoderPairs: { row: number; image: number }[] = [];
      const decoderOfPair: number[] = [];
      indices.forEach((index, position) => {
        const row = rowOfPair[position]!;
        const image = pairs[index]!.image;
        const key = this.dedupe ? `${row}|${image}` : `${index}`;
        let target = decoderRow.get(key);
        if (target === undefined) {
          target = decoderPairs.length;
          decoderRow.set(key, target);
          decoderPairs.push({ row, image });
        }
        decoderOfPair.push(target);
      });
      const logits = await this.decoder(decoderPairs, tokenEmbs, length, encoded);
      indices.forEach((index, position) => (results[index] = logits[decoderOfPair[position]!]!));
    }
    return results;
  }

  private async textTower(
    prefixes: readonly (readonly number[])[],
    length: number,
  ): Promise<{ data: Float32Array; width: number }> {
    const parts: Float32Array[] = [];
    let width = 0;
    for (let start = 0; start < prefixes.length; start += this.maxBatch) {
      const batch = prefixes.slice(start, start + this.maxBatch);
      const ids = new Array<number>(batch.length * length).fill(0);
      batch.forEach((prefix, row) => prefix.forEach((id, column) => (ids[row * length + column] = id)));
      const out = await this.graphs.run('text', { text: int64Tensor(ids, [batch.length, length]) });
      const embs = floatOutput(out, 'token_embs', 'captioner.text');
      if (embs.dims.length !== 3 || embs.dims[0] !== batch.length || embs.dims[1] !== length) {
        throw new Error(
          `captioner.text returned token_embs [${embs.dims.join(',')}], expected [${batch.length},${length},W]`,
        );
      }
      width = embs.dims[2]!;
      parts.push(Float32Array.from(embs.data));
      this.counters.textTokenPositions += batch.length * length;
    }
    return { data: concat(parts), width };
  }

  private async decoder(
    rows: readonly { row: number; image: number }[],
    tokenEmbs: { data: Float32Array; width: number },
    length: number,
    encoded: EncodedCrops,
  ): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    const textStride = length * tokenEmbs.width;
    const imageStride = encoded.tokens * encoded.width;
    for (let start = 0; start < rows.length; start += this.maxBatch) {
      const batch = rows.slice(start, start + this.maxBatch);
      const imageEmbs = new Float32Array(batch.length * imageStride);
      const textEmbs = new Float32Array(batch.length * textStride);
      batch.forEach(({ row, image }, b) => {
        imageEmbs.set(encoded.embs.subarray(image * imageStride, (image + 1) * imageStride), b * imageStride);
        textEmbs.set(tokenEmbs.data.subarray(row * textStride, (row + 1) * textStride), b * textStride);
      });
      const result = await this.graphs.run('decoder', {
        image_embs: floatTensor(imageEmbs, [batch.length, encoded.tokens, encoded.width]),
        token_embs: floatTensor(textEmbs, [batch.length, length, tokenEmbs.width]),
      });
      const { data, dims } = floatOutput(result, 'logits', 'captioner.decoder');
      // [B,L,V] → position L−1 of each row; [B,V] is already the last position.
      if (dims.length === 3 && dims[0] === batch.length && dims[1] === length) {
        const vocab = dims[2]!;
        for (let b = 0; b < batch.length; b++) {
          const offset = (b * length + length - 1) * vocab;
          out.push(data.slice(offset, offset + vocab));
        }
      } else if (dims.length === 2 && dims[0] === batch.length) {
        const vocab = dims[1]!;
        for (let b = 0; b < batch.length; b++) out.push(data.slice(b * vocab, (b + 1) * vocab));
      } else {
        throw new Error(
          `captioner.decoder returned logits [${dims.join(',')}], expected [${batch.length},${length},V] or [${batch.length},V]`,
        );
      }
      this.counters.decoderTokenPositions += batch.length * length;
      this.counters.decoderRows += batch.length;
    }
    return out;
  }
}

function concat(parts: Float32Array[]): Float32Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Float32Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Indices of `pairs` grouped by prefix length; checks every pair names an encoded crop and a non-empty prefix. */
function pairsByPrefixLength(pairs: readonly StepPair[], crops: number): Map<number, number[]> {
  const byLength = new Map<number, number[]>();
  pairs.forEach((pair, index) => {
    if (pair.image < 0 || pair.image >= crops)
      throw new RangeError(`pair ${index} names crop ${pair.image} of ${crops}`);
    if (pair.prefix.length < 1)
      throw new RangeError(`pair ${index} has an empty prefix (it must start with sot)`);
    const list = byLength.get(pair.prefix.length) ?? [];
    list.push(index);
    byLength.set(pair.prefix.length, list);
  });
  return byLength;
}
