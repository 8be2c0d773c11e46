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
 * runs the cached decoder over one row per distinct (prefix, crop) pair, feeding only each row's newest token and the
 * self-attention past of the row's parent (its prefix minus the last token, same crop; see cache.ts). One run per
 * crop with rows: the crop's cross-attention keys/values, computed once per crop by the cross graph, are fed once as
 * [1,Hx,T,Dx] and broadcast over its rows. With `cropGroups` (a pack whose graph takes grouped crops, groups.ts) one
 * run per step covers the rows of every crop: the crops' cross_* are fed together as [C,Hx,T,Dx].
 * The logits are those of the full-prefix path (byte-identical on the demo pack, ≤ 1e-4 for real exports).
 *
 * Longer than the ~400-line guide: the full-prefix and cached contracts must feed and read the same rows, so both
 * paths live beside each other (their equivalence is tested byte for byte).
 */
import {
  batchCandidates,
  declaredShape,
  floatData,
  floatOutput,
  floatTensor,
  int64Tensor,
  pickBatchSize,
  stopMeasuring,
  type BatchChoice,
  type Tensor,
} from '../runtime/index.ts';
import {
  concat,
  gatherRows,
  pairsByPrefixLength,
  planStep,
  rowsToDrop,
  type CachePair,
  type PlannedRow,
} from './cache.ts';
import { cropBlocks, planGroupedRuns } from './groups.ts';

import {
  emptyCounters,
  type CaptionCounters,
  type CaptionerOptions,
  type CaptionerSessions,
  type DeclaredSessionLike,
  type DecoderPath,
  type EncodedCrops,
  type SessionLike,
  type StepPair,
} from './captioner-types.ts';

export { emptyCounters } from './captioner-types.ts';
export type {
  CaptionCounters,
  CaptionerOptions,
  CaptionerSessions,
  DeclaredSessionLike,
  DecoderPath,
  EncodedCrops,
  OpenCaptionerSessions,
  SessionLike,
  SessionSource,
  StepPair,
} from './captioner-types.ts';

type Graph = keyof CaptionerSessions;

/** The cross keys/values of every crop of an encoded set, and the self-attention rows of the steps so far. */
interface CacheState {
  /** Per crop: its cross_* feeds [1,Hx,T,Dx] (views of the cross graph's outputs, never copied per row). */
  cross: Record<string, Tensor>[];
  /** Per cross name: every crop's keys/values float32[N,Hx,T,Dx] (grouped runs feed views or gathers of it). */
  crossAll: Record<string, { data: Float32Array; dims: number[] }>;
  rows: Map<string, { length: number; data: Float32Array[] }>;
}

/** The captioner model: encoders and one decoding step over many pairs. */
export class Captioner {
  readonly counters: CaptionCounters = emptyCounters();
  /** The decoder path this captioner runs. */
  readonly path: DecoderPath;
  /** Rows per cached-decoder run, once chosen (null until the first cached step measures it). */
  decoderBatch: BatchChoice | null = null;
  private readonly dedupe: boolean;
  private readonly maxBatch: number;
  private readonly batchOption: number | 'auto';
  /** Whether a cached step runs all crops' rows together (grouped crops, groups.ts) rather than one run per crop. */
  readonly cropGroups: boolean;
  /** Canonical names of the cached decoder's cache tensors, in contract order. */
  private readonly pastNames: string[] = [];
  private readonly presentNames: string[] = [];
  private readonly crossNames: string[] = [];
  /** [H, D] of each past tensor. */
  private readonly pastHeads: [number, number][] = [];
  private readonly caches = new WeakMap<EncodedCrops, CacheState>();
  /** Sessions resolved from their sources, per graph (one open each). */
  private readonly opened = new Map<Graph, Promise<SessionLike>>();
  /** The cached decoder's layer layout, read from its declared inputs once it is open. */
  private layout: Promise<void> | null = null;

  constructor(
    private readonly sessions: CaptionerSessions,
    options: CaptionerOptions = {},
  ) {
    this.dedupe = options.dedupe ?? true;
    this.maxBatch = options.maxBatch ?? 256;
    if (!Number.isInteger(this.maxBatch) || this.maxBatch < 1)
      throw new RangeError(`maxBatch must be ≥ 1, got ${options.maxBatch}`);
    const withPast = sessions.decoderWithPast;
    this.path = options.cache !== 'off' && sessions.cross && withPast ? 'cached' : 'full-prefix';
    this.batchOption = options.decoderBatch ?? this.maxBatch;
    this.cropGroups = options.cropGroups ?? false;
    if (this.batchOption !== 'auto' && (!Number.isInteger(this.batchOption) || this.batchOption < 1))
      throw new RangeError(`decoderBatch must be an integer ≥ 1 or 'auto', got ${options.decoderBatch}`);
    if (typeof this.batchOption === 'number')
      this.decoderBatch = { size: Math.min(this.batchOption, this.maxBatch), source: 'setting' };
    // A session given as an object is checked now (a wrong graph fails at construction); an opener, when opened.
    if (this.path === 'cached' && typeof withPast !== 'function') this.readLayout(withPast!);
  }

  /** The session of a graph, opening it from its source on first use. */
  private session(graph: Graph): Promise<SessionLike> {
    let found = this.opened.get(graph);
    if (!found) {
      const source = this.sessions[graph];
      if (!source) throw new Error(`the captioner has no ${graph} session`);
      found = typeof source === 'function' ? source() : Promise.resolve(source);
      this.opened.set(graph, found);
      found.catch(() => this.opened.delete(graph));
    }
    return found;
  }

  /** The cached decoder's layout (past and cross names, head shapes), read once from its declared inputs. */
  private cachedLayout(): Promise<void> {
    if (this.pastNames.length > 0) return Promise.resolve();
    if (!this.layout) {
      this.layout = this.session('decoderWithPast').then((s) => this.readLayout(s as DeclaredSessionLike));
      this.layout.catch(() => (this.layout = null));
    }
    return this.layout;
  }

  private readLayout(withPast: DeclaredSessionLike): void {
    const names = withPast.inputNames;
    const count = (kind: string) => names.filter((n) => new RegExp(`^${kind}_key_\\d+$`).test(n)).length;
    const layers = count('past');
    const crossLayers = count('cross');
    if (layers === 0 || crossLayers === 0)
      throw new Error(
        `captioner.decoderWithPast has ${layers} past_key_<i> and ${crossLayers} cross_key_<j> inputs; it needs at least one of each`,
      );
    for (let i = 0; i < layers; i++) {
      for (const part of ['key', 'value']) {
        const name = `past_${part}_${i}`;
        const shape = declaredShape(withPast, name);
        const [, heads, , size] = shape ?? [];
        if (typeof heads !== 'number' || typeof size !== 'number' || heads < 1 || size < 1)
          throw new Error(
            `captioner.decoderWithPast input "${name}" has shape [${(shape ?? []).join(',')}]; the cached decoder needs fixed head count H and head size D ([B,H,P,D])`,
          );
        this.pastNames.push(name);
        this.presentNames.push(`present_${part}_${i}`);
        this.pastHeads.push([heads, size]);
      }
    }
    for (let j = 0; j < crossLayers; j++) this.crossNames.push(`cross_key_${j}`, `cross_value_${j}`);
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
      const out = await this.timed('visual', { image });
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
    if (this.path === 'cached') return this.cachedLogits(pairs, encoded);
    const results = new Array<Float32Array>(pairs.length);
    const byLength = pairsByPrefixLength(pairs, encoded.count);
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
      const out = await this.timed('text', { text: int64Tensor(ids, [batch.length, length]) });
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
      const result = await this.timed('decoder', {
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

  private async timed(
    graph: 'visual' | 'text' | 'decoder' | 'cross' | 'decoderWithPast',
    feeds: Record<string, Tensor>,
  ): Promise<Record<string, Tensor>> {
    const session = await this.session(graph);
    const started = performance.now();
    const out = await session.run(feeds);
    this.counters.sessionMilliseconds += performance.now() - started;
    if (graph === 'visual') this.counters.visualRuns++;
    else if (graph === 'text') this.counters.textRuns++;
    else if (graph === 'cross') this.counters.crossRuns++;
    else this.counters.decoderRuns++;
    return out;
  }

  /** The cached path of {@link nextLogits}: pairs grouped by prefix length, shortest first. */
  private async cachedLogits(pairs: readonly StepPair[], encoded: EncodedCrops): Promise<Float32Array[]> {
    const results = new Array<Float32Array>(pairs.length);
    const byLength = pairsByPrefixLength(pairs, encoded.count);
    await this.cachedLayout();
    const state = await this.cacheOf(encoded);
    for (const length of [...byLength.keys()].sort((a, b) => a - b)) {
      const indices = byLength.get(length)!;
      const logits = await this.cachedStep(
        indices.map((i) => pairs[i]!),
        encoded,
        state,
      );
      indices.forEach((index, k) => (results[index] = logits[k]!));
    }
    return results;
  }

  /** One cached step over pairs of one prefix length L; returns each pair's logits [V]. */
  private async cachedStep(
    pairs: readonly CachePair[],
    encoded: EncodedCrops,
    state: CacheState,
  ): Promise<Float32Array[]> {
    let plan = planStep(pairs, state.rows, this.dedupe);
    if (plan.missing.length > 0) {
      // A caller that skipped steps (or a first request at L > 1): build the parents' rows first.
      await this.cachedStep(plan.missing, encoded, state);
      plan = planStep(pairs, state.rows, this.dedupe);
    }
    const length = pairs[0]!.prefix.length;
    const past = length - 1;
    const batch = (await this.chosenBatch(state)).size;
    // One run per crop (chunked by the batch size): the crop's cross_* [1,Hx,T,Dx] are broadcast over its rows, so
    // no row copies 12 × 2 × Hx·T·Dx floats (18.8 MB a row for coca_ViT-L-14).
    const byCrop = new Map<number, number[]>();
    plan.rows.forEach((row, index) => {
      const list = byCrop.get(row.image) ?? [];
      list.push(index);
      byCrop.set(row.image, list);
    });
    const rowLogits = new Array<Float32Array>(plan.rows.length);
    const written: { key: string; data: Float32Array[] }[] = [];
    if (this.cropGroups)
      for (const run of planGroupedRuns(byCrop, batch)) {
        const slots = run.slots.map((index) => (index === null ? null : plan.rows[index]!));
        const logits = await this.cachedRun(slots, this.groupedCross(state, run.crops), past, state, written);
        run.slots.forEach((index, b) => {
          if (index !== null) rowLogits[index] = logits[b]!;
        });
        this.counters.decoderPaddingRows += run.slots.filter((index) => index === null).length;
      }
    else
      for (const [image, indices] of byCrop)
        for (let start = 0; start < indices.length; start += batch) {
          const chunk = indices.slice(start, start + batch);
          const rows = chunk.map((index) => plan.rows[index]!);
          const logits = await this.cachedRun(rows, state.cross[image]!, past, state, written);
          chunk.forEach((index, b) => (rowLogits[index] = logits[b]!));
        }
    const lengths = new Map([...state.rows].map(([key, row]) => [key, row.length]));
    const read = new Set(plan.rows.flatMap((row) => (row.parent === null ? [] : [row.parent])));
    for (const key of rowsToDrop(lengths, read, length)) state.rows.delete(key);
    for (const { key, data } of written) state.rows.set(key, { length, data });
    return plan.rowOfPair.map((row) => rowLogits[row]!);
  }

  /** A grouped run's cross feeds: its crops' cross_* as [C,Hx,T,Dx] (a view when the crops are consecutive). */
  private groupedCross(state: CacheState, crops: readonly number[]): Record<string, Tensor> {
    const feeds: Record<string, Tensor> = {};
    for (const [name, { data, dims }] of Object.entries(state.crossAll)) {
      const block = data.length / dims[0]!;
      feeds[name] = floatTensor(cropBlocks(data, block, crops), [crops.length, ...dims.slice(1)]);
    }
    return feeds;
  }

  /**
   * One cached-decoder run at past length P over rows (null: a grouped run's padding row, fed a zero past) with the
   * cross feeds of their crop(s); returns each row's logits [V] and appends each real row's present to `written`.
   */
  private async cachedRun(
    rows: readonly (PlannedRow | null)[],
    cross: Record<string, Tensor>,
    past: number,
    state: CacheState,
    written: { key: string; data: Float32Array[] }[],
  ): Promise<Float32Array[]> {
    const length = past + 1;
    const parents = rows.map((row) => (row?.parent ? state.rows.get(row.parent)! : null));
    const feeds: Record<string, Tensor> = {
      input_ids: int64Tensor(
        rows.map((row) => row?.token ?? 0),
        [rows.length, 1],
      ),
      position: int64Tensor([past], [1]),
      ...cross,
    };
    this.pastNames.forEach((name, t) => {
      const [heads, size] = this.pastHeads[t]!;
      const rowSize = heads * past * size;
      const zeros = past > 0 && rows.includes(null) ? new Float32Array(rowSize) : null;
      // in: past_* float32[B,H,P,D], gathered from each row's parent row (beam origin, DCS pair, …)
      feeds[name] = floatTensor(
        gatherRows(
          parents.map((parent, b) => (parent ? parent.data[t]! : rows[b] ? null : zeros)),
          rowSize,
        ),
        [rows.length, heads, past, size],
      );
    });
    let out: Record<string, Tensor>;
    try {
      out = await this.timed('decoderWithPast', feeds);
    } catch (error) {
      throw new Error(
        `captioner.decoderWithPast failed on ${rows.length} row(s), cross_* fed as [${cross[this.crossNames[0]!]?.dims[0]},Hx,T,Dx] (${this.cropGroups ? 'crops grouped' : 'one crop, broadcast over the rows'}; runtime/README.md "Fast contracts"): ${(error as Error).message}`,
        { cause: error },
      );
    }
    // out: logits float32[B,V], present_* float32[B,H,P+1,D]
    const logits = floatData(out.logits, 'captioner.decoderWithPast output "logits"');
    if (logits.dims.length !== 2 || logits.dims[0] !== rows.length)
      throw new Error(
        `captioner.decoderWithPast returned logits [${logits.dims.join(',')}], expected [${rows.length},V]`,
      );
    const vocab = logits.dims[1]!;
    const rowLogits: Float32Array[] = [];
    for (let b = 0; b < rows.length; b++) rowLogits.push(logits.data.slice(b * vocab, (b + 1) * vocab));
    const presents = this.presentNames.map((name, t) => {
      const present = floatData(out[name], `captioner.decoderWithPast output "${name}"`);
      const [heads, size] = this.pastHeads[t]!;
      const expected = [rows.length, heads, length, size];
      if (present.dims.join(',') !== expected.join(','))
        throw new Error(
          `captioner.decoderWithPast returned ${name} [${present.dims.join(',')}], expected [${expected.join(',')}]`,
        );
      return present.data;
    });
    rows.forEach((row, b) => {
      if (!row) return;
      written.push({
        key: row.key,
        data: presents.map((data, t) => {
          const [heads, size] = this.pastHeads[t]!;
          const rowSize = heads * length * size;
          return data.subarray(b * rowSize, (b + 1) * rowSize);
        }),
      });
    });
    this.counters.decoderTokenPositions += rows.length;
    this.counters.decoderRows += rows.length;
    return rowLogits;
  }

  /**
   * The encoded set's cache state; the cross keys/values of all its crops are computed on first use (once), and each
   * crop's become its cross_* feeds [1,Hx,T,Dx]: views of the cross graph's outputs, shared by every run on the crop.
   */
  private async cacheOf(encoded: EncodedCrops): Promise<CacheState> {
    let state = this.caches.get(encoded);
    if (state) return state;
    const cross: Record<string, Tensor>[] = [];
    const parts = new Map<string, { data: Float32Array[]; dims: number[] }>();
    const imageStride = encoded.tokens * encoded.width;
    for (let start = 0; start < encoded.count; start += this.maxBatch) {
      const batch = Math.min(this.maxBatch, encoded.count - start);
      const out = await this.timed('cross', {
        image_embs: floatTensor(encoded.embs.subarray(start * imageStride, (start + batch) * imageStride), [
          batch,
          encoded.tokens,
          encoded.width,
        ]),
      });
      for (let b = 0; b < batch; b++) cross.push({});
      for (const name of this.crossNames) {
        // out: cross_* float32[batch,Hx,T,Dx] → one [1,Hx,T,Dx] view per crop
        const { data, dims } = floatData(out[name], `captioner.cross output "${name}"`);
        if (dims.length !== 4 || dims[0] !== batch)
          throw new Error(
            `captioner.cross returned ${name} [${dims.join(',')}], expected [${batch},Hx,T,Dx]`,
          );
        const rowSize = data.length / batch;
        const part = parts.get(name) ?? { data: [], dims: [0, ...dims.slice(1)] };
        part.data.push(data);
        part.dims[0]! += batch;
        parts.set(name, part);
        for (let b = 0; b < batch; b++)
          cross[start + b]![name] = floatTensor(data.subarray(b * rowSize, (b + 1) * rowSize), [
            1,
            ...dims.slice(1),
          ]);
      }
      this.counters.crossComputations += batch;
    }
    const crossAll = Object.fromEntries(
      [...parts].map(([name, { data, dims }]) => [name, { data: concat(data), dims }]),
    );
    state = { cross, crossAll, rows: new Map() };
    this.caches.set(encoded, state);
    return state;
  }

  /** The cached decoder's rows per run: the setting, or measured once at the first cached step. */
  private async chosenBatch(state: CacheState): Promise<BatchChoice> {
    if (this.decoderBatch) return this.decoderBatch;
    const candidates = batchCandidates(this.maxBatch);
    const withPast = await this.session('decoderWithPast');
    const timings: { batch: number; msPerRow: number }[] = [];
    const pastLength = 8;
    for (const batch of candidates) {
      const feeds: Record<string, Tensor> = {
        input_ids: int64Tensor(new Array<number>(batch).fill(0), [batch, 1]),
        position: int64Tensor([pastLength], [1]),
        ...state.cross[0]!,
      };
      this.pastNames.forEach((name, t) => {
        const [heads, size] = this.pastHeads[t]!;
        feeds[name] = floatTensor(new Float32Array(batch * heads * pastLength * size), [
          batch,
          heads,
          pastLength,
          size,
        ]);
      });
      let best = Infinity;
      for (let repeat = 0; repeat < 2; repeat++) {
        const started = performance.now();
        await withPast.run(feeds);
        best = Math.min(best, performance.now() - started);
      }
      timings.push({ batch, msPerRow: best / batch });
      if (stopMeasuring(timings)) break;
    }
    this.decoderBatch = { size: pickBatchSize(timings), source: 'measured', timings };
    return this.decoderBatch;
  }
}
