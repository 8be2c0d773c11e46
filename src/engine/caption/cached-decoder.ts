/**
 * The captioner's cached decoder path (runtime/README.md "Fast contracts": `cross` + `decoderWithPast` sessions): a
 * step runs the cached decoder over one row per distinct (prefix, crop) pair, feeding only each row's newest token
 * and the self-attention past of the row's parent (its prefix minus the last token, same crop; see cache.ts). One run
 * per crop with rows: the crop's cross-attention keys/values, computed once per crop by the cross graph, are fed once
 * as [1,Hx,T,Dx] and broadcast over its rows. The logits are those of the full-prefix path (byte-identical on the demo
 * pack, ≤ 1e-4 for real exports; cached.test.ts compares them).
 */
import {
  batchCandidates,
  declaredShape,
  floatData,
  floatTensor,
  int64Tensor,
  pickBatchSize,
  stopMeasuring,
  type BatchChoice,
  type Tensor,
} from '../runtime/index.ts';
import { gatherRows, planStep, rowsToDrop, type CachePair, type PlannedRow } from './cache.ts';
import type { EncodedCrops, StepPair } from './captioner.ts';
import type { CaptionCounters, CaptionerGraphs, DeclaredSessionLike } from './sessions.ts';

interface CacheState {
  /** Per crop: its cross_* feeds [1,Hx,T,Dx] (views of the cross graph's outputs, never copied per row). */
  cross: Record<string, Tensor>[];
  rows: Map<string, { length: number; data: Float32Array[] }>;
}

/** Options of {@link CachedDecoder}. */
export interface CachedDecoderOptions {
  dedupe: boolean;
  maxBatch: number;
  /** Rows per cached-decoder run when set; null measures it at the first cached step. */
  batch: BatchChoice | null;
}

/** The cached decoder's steps over encoded crops, with the per-crop cross and self-attention caches they reuse. */
export class CachedDecoder {
  /** Rows per cached-decoder run, once chosen (null until the first cached step measures it). */
  decoderBatch: BatchChoice | null;
  private readonly dedupe: boolean;
  private readonly maxBatch: number;
  /** Canonical names of the cached decoder's cache tensors, in contract order. */
  private readonly pastNames: string[] = [];
  private readonly presentNames: string[] = [];
  private readonly crossNames: string[] = [];
  /** [H, D] of each past tensor. */
  private readonly pastHeads: [number, number][] = [];
  private readonly caches = new WeakMap<EncodedCrops, CacheState>();
  /** The cached decoder's layer layout, read from its declared inputs once it is open. */
  private layout: Promise<void> | null = null;

  /** `withPast` given open is checked now (a wrong graph fails at construction); an opener, when opened. */
  constructor(
    private readonly graphs: CaptionerGraphs,
    private readonly counters: CaptionCounters,
    options: CachedDecoderOptions,
    withPast?: DeclaredSessionLike,
  ) {
    this.dedupe = options.dedupe;
    this.maxBatch = options.maxBatch;
    this.decoderBatch = options.batch;
    if (withPast) this.readLayout(withPast);
  }

  /** Each pair's last-position logits [V]; `byLength` holds the pairs' indices grouped by prefix length. */
  async logits(
    pairs: readonly StepPair[],
    encoded: EncodedCrops,
    byLength: Map<number, number[]>,
  ): Promise<Float32Array[]> {
    const results = new Array<Float32Array>(pairs.length);
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

  /** The cached decoder's layout (past and cross names, head shapes), read once from its declared inputs. */
  private cachedLayout(): Promise<void> {
    if (this.pastNames.length > 0) return Promise.resolve();
    if (!this.layout) {
      this.layout = this.graphs
        .session('decoderWithPast')
        .then((s) => this.readLayout(s as DeclaredSessionLike));
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
    for (const [image, indices] of byCrop)
      for (let start = 0; start < indices.length; start += batch) {
        const chunk = indices.slice(start, start + batch);
        const rows = chunk.map((index) => plan.rows[index]!);
        const logits = await this.cachedRun(rows, image, past, state, written);
        chunk.forEach((index, b) => (rowLogits[index] = logits[b]!));
      }
    const lengths = new Map([...state.rows].map(([key, row]) => [key, row.length]));
    const read = new Set(plan.rows.flatMap((row) => (row.parent === null ? [] : [row.parent])));
    for (const key of rowsToDrop(lengths, read, length)) state.rows.delete(key);
    for (const { key, data } of written) state.rows.set(key, { length, data });
    return plan.rowOfPair.map((row) => rowLogits[row]!);
  }

  /**
   * One cached-decoder run over rows that all decode on crop `image` at past length P; returns each row's logits [V]
   * and appends each row's present to `written`.
   */
  private async cachedRun(
    rows: readonly PlannedRow[],
    image: number,
    past: number,
    state: CacheState,
    written: { key: string; data: Float32Array[] }[],
  ): Promise<Float32Array[]> {
    const length = past + 1;
    const parents = rows.map((row) => (row.parent === null ? null : state.rows.get(row.parent)!));
    const feeds: Record<string, Tensor> = {
      input_ids: int64Tensor(
        rows.map((row) => row.token),
        [rows.length, 1],
      ),
      position: int64Tensor([past], [1]),
      ...state.cross[image]!,
    };
    this.pastNames.forEach((name, t) => {
      const [heads, size] = this.pastHeads[t]!;
      const rowSize = heads * past * size;
      // in: past_* float32[B,H,P,D], gathered from each row's parent row (beam origin, DCS pair, …)
      feeds[name] = floatTensor(
        gatherRows(
          parents.map((parent) => (parent ? parent.data[t]! : null)),
          rowSize,
        ),
        [rows.length, heads, past, size],
      );
    });
    let out: Record<string, Tensor>;
    try {
      out = await this.graphs.run('decoderWithPast', feeds);
    } catch (error) {
      throw new Error(
        `captioner.decoderWithPast failed on ${rows.length} row(s) of one crop, its cross_* fed once as [1,Hx,T,Dx] and broadcast over the rows (runtime/README.md "Fast contracts"): ${(error as Error).message}`,
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
    rows.forEach((row, b) =>
      written.push({
        key: row.key,
        data: presents.map((data, t) => {
          const [heads, size] = this.pastHeads[t]!;
          const rowSize = heads * length * size;
          return data.subarray(b * rowSize, (b + 1) * rowSize);
        }),
      }),
    );
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
    const imageStride = encoded.tokens * encoded.width;
    for (let start = 0; start < encoded.count; start += this.maxBatch) {
      const batch = Math.min(this.maxBatch, encoded.count - start);
      const out = await this.graphs.run('cross', {
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
        for (let b = 0; b < batch; b++)
          cross[start + b]![name] = floatTensor(data.subarray(b * rowSize, (b + 1) * rowSize), [
            1,
            ...dims.slice(1),
          ]);
      }
      this.counters.crossComputations += batch;
    }
    state = { cross, rows: new Map() };
    this.caches.set(encoded, state);
    return state;
  }

  /** The cached decoder's rows per run: the setting, or measured once at the first cached step. */
  private async chosenBatch(state: CacheState): Promise<BatchChoice> {
    if (this.decoderBatch) return this.decoderBatch;
    const candidates = batchCandidates(this.maxBatch);
    const withPast = await this.graphs.session('decoderWithPast');
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
