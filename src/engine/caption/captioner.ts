/**
 * The captioner's three ONNX graphs behind one small interface (DESIGN.md §4 "captioner"):
 *   visual  image float32[B,3,224,224] → image_latent float32[B,D], image_embs float32[B,T,W]
 *   text    text int64[B,L] (sot first) → token_embs float32[B,L,W]
 *   decoder image_embs float32[B,T,W], token_embs float32[B,L,W] → logits float32[B,L,V] or [B,V]
 *
 * Sessions are anything with `run(feeds)` keyed by canonical names — the runtime's `ModelSession` (which maps them to
 * the graph's own names) or a bare `ort.InferenceSession` whose names already are canonical.
 *
 * {@link Captioner.nextLogits} is the one step of every decoder: for a list of (prefix, image) pairs it runs the text
 * tower once over the distinct prefixes and the decoder once over the distinct pairs, and returns each pair's
 * last-position logits. Deduplication is what lets beam search, every sampling setting and DCS's "others" share
 * one text run and one decoder run per step; `dedupe: false` gives the reference's cost for comparisons.
 */
import * as ort from 'onnxruntime-node';

/** The part of a session the captioner needs (satisfied by the runtime's `ModelSession`). */
export interface SessionLike {
  run(feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>>;
}

/** The captioner's three sessions. */
export interface CaptionerSessions {
  visual: SessionLike;
  text: SessionLike;
  decoder: SessionLike;
}

/** Work counters (DESIGN.md §10): what the bench prints per caption, per crop and per step. */
export interface CaptionCounters {
  visualRuns: number;
  textRuns: number;
  decoderRuns: number;
  /** Crops through the visual encoder (a crop encoded twice counts twice). */
  imagesEncoded: number;
  /** Σ B·L over text-tower runs. */
  textTokenPositions: number;
  /** Σ B·L over decoder runs: the reference re-runs the whole prefix every step (no KV cache). */
  decoderTokenPositions: number;
  /** Σ B over decoder runs. */
  decoderRows: number;
  /** Milliseconds spent inside `session.run` (all three graphs). */
  sessionMilliseconds: number;
}

/** Fresh zeroed counters. */
export function emptyCounters(): CaptionCounters {
  return {
    visualRuns: 0,
    textRuns: 0,
    decoderRuns: 0,
    imagesEncoded: 0,
    textTokenPositions: 0,
    decoderTokenPositions: 0,
    decoderRows: 0,
    sessionMilliseconds: 0,
  };
}

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
}

/** The captioner model: encoders and one decoding step over many pairs. */
export class Captioner {
  readonly counters: CaptionCounters = emptyCounters();
  private readonly dedupe: boolean;
  private readonly maxBatch: number;

  constructor(
    private readonly sessions: CaptionerSessions,
    options: CaptionerOptions = {},
  ) {
    this.dedupe = options.dedupe ?? true;
    this.maxBatch = options.maxBatch ?? 256;
    if (!Number.isInteger(this.maxBatch) || this.maxBatch < 1)
      throw new RangeError(`maxBatch must be ≥ 1, got ${options.maxBatch}`);
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
      const image = new ort.Tensor('float32', crops.subarray(start * plane, (start + batch) * plane), [
        batch,
        3,
        size,
        size,
      ]);
      const out = await this.timed('visual', { image });
      const latent = tensorOf(out, 'image_latent', 'captioner.visual');
      const emb = tensorOf(out, 'image_embs', 'captioner.visual');
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
      latentSize = Number(latent.dims[1]);
      tokens = Number(emb.dims[1]);
      width = Number(emb.dims[2]);
      latents.push(Float32Array.from(latent.data as Float32Array));
      embs.push(Float32Array.from(emb.data as Float32Array));
      this.counters.imagesEncoded += batch;
    }
    return { count, latents: concat(latents), latentSize, embs: concat(embs), tokens, width };
  }

  /**
   * Last-position logits for every (prefix, image) pair: one text run over the distinct prefixes and one decoder run
   * over the distinct pairs per prefix length (split by `maxBatch`). Returns float32[V] per pair, in request order.
   */
  async nextLogits(pairs: readonly StepPair[], encoded: EncodedCrops): Promise<Float32Array[]> {
    const results = new Array<Float32Array>(pairs.length);
    const byLength = new Map<number, number[]>();
    pairs.forEach((pair, index) => {
      if (pair.image < 0 || pair.image >= encoded.count)
        throw new RangeError(`pair ${index} names crop ${pair.image} of ${encoded.count}`);
      if (pair.prefix.length < 1)
        throw new RangeError(`pair ${index} has an empty prefix (it must start with sot)`);
      const list = byLength.get(pair.prefix.length) ?? [];
      list.push(index);
      byLength.set(pair.prefix.length, list);
    });
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
      const ids = new BigInt64Array(batch.length * length);
      batch.forEach((prefix, row) =>
        prefix.forEach((id, column) => (ids[row * length + column] = BigInt(id))),
      );
      const out = await this.timed('text', { text: new ort.Tensor('int64', ids, [batch.length, length]) });
      const embs = tensorOf(out, 'token_embs', 'captioner.text');
      if (embs.dims.length !== 3 || embs.dims[0] !== batch.length || embs.dims[1] !== length) {
        throw new Error(
          `captioner.text returned token_embs [${embs.dims.join(',')}], expected [${batch.length},${length},W]`,
        );
      }
      width = Number(embs.dims[2]);
      parts.push(Float32Array.from(embs.data as Float32Array));
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
      const result = await this.timed('decoder', {
        image_embs: new ort.Tensor('float32', imageEmbs, [batch.length, encoded.tokens, encoded.width]),
        token_embs: new ort.Tensor('float32', textEmbs, [batch.length, length, tokenEmbs.width]),
      });
      const logits = tensorOf(result, 'logits', 'captioner.decoder');
      const data = logits.data as Float32Array;
      const dims = logits.dims.map(Number);
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

  private async timed(
    graph: 'visual' | 'text' | 'decoder',
    feeds: Record<string, ort.Tensor>,
  ): Promise<Record<string, ort.Tensor>> {
    const started = performance.now();
    const out = await this.sessions[graph].run(feeds);
    this.counters.sessionMilliseconds += performance.now() - started;
    if (graph === 'visual') this.counters.visualRuns++;
    else if (graph === 'text') this.counters.textRuns++;
    else this.counters.decoderRuns++;
    return out;
  }
}

function tensorOf(out: Record<string, ort.Tensor>, name: string, role: string): ort.Tensor {
  const tensor = out[name];
  if (!tensor)
    throw new Error(`${role} returned no "${name}" output (got ${Object.keys(out).join(', ') || 'nothing'})`);
  if (tensor.type !== 'float32')
    throw new Error(`${role} output "${name}" is ${tensor.type}, expected float32`);
  return tensor;
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
