/**
 * Captions for one image's crops of one crop type: the beam caption and every sampling setting (plain or DCS) of
 * every crop, decoded together (DESIGN.md §5 "Candidates per crop").
 *
 * Engine mode (default): the crops are encoded once and the latents/embeddings are shared by beam search and every
 * sampling setting. Each decoding step gathers the requests of all n beam searches and of all sampling rows (targets
 * and DCS's others) into one text-tower run over the distinct prefixes and one decoder run over the distinct
 * (prefix, crop) pairs (see captioner.ts).
 *
 * Reference mode (for comparisons, DESIGN.md §10): what the reference code costs — beam search re-encodes each crop
 * once per beam, beam search and sampling run one after the other with their own encodes, nothing is deduplicated,
 * and the targets and the others run as two decoder calls per step.
 *
 * Longer than the ~400-line guide: beam, plain and DCS rows of one step are batched together, so their bookkeeping
 * is one loop rather than three files.
 */
import {
  cropKey,
  settingKey,
  streamSettingKey,
  type CaptionCandidate,
  type CaptionTrace,
  type CropType,
  type DecodingOptions,
  type SamplingSetting,
} from '../../shared/caption.ts';
import { beamSearch, type BeamResult, type BeamSearchOptions } from './beam.ts';
import type { Captioner, EncodedCrops, StepPair } from './captioner.ts';
import { aggregateLogits, aggregationFactors, cosineRow, drawToken, samplingStep } from './dcs.ts';
import { processLogits, topKKept, topPKept } from './processors.ts';
import { streamFor, streamName, type RandomSource } from './rng.ts';
import { recordStep } from './trace.ts';

/** What decoding needs from a tokenizer. */
export interface DecodeText {
  decode(ids: ArrayLike<number>): string;
  /** The released code's text of a row (untrimmed, pads kept): tokenizer.ts `releasedText`. */
  releasedText(ids: ArrayLike<number>): string;
  tokenText(id: number): string;
}

/** Input of {@link generateCaptions}. */
export interface GenerateInput {
  captioner: Captioner;
  tokenizer: DecodeText;
  special: { sot: number; eot: number; pad: number };
  /** The n crops of this crop type, float32[n,3,S,S], one per mask, in mask order. */
  crops: Float32Array;
  count: number;
  size?: number;
  crop: CropType;
  /** Mask index of each crop (default 0 … n−1). */
  maskIndices?: readonly number[];
  /** Names the image in random-stream names (e.g. its file name or content hash). */
  imageId: string;
  options: DecodingOptions;
  /** Record traces of the sampling rows (optionally only some). */
  trace?: { topN?: number; include?: (maskIndex: number, settingKey: string) => boolean };
  mode?: 'engine' | 'reference';
  /** Pack name (and checksum) written into traces. */
  model?: { pack: string; checksum?: string };
}

/** Output of {@link generateCaptions}. */
export interface GenerateOutput {
  candidates: CaptionCandidate[];
  traces: CaptionTrace[];
  /** Decoding steps run (each is one text + one decoder run in engine mode). */
  steps: number;
}

/** The sampling settings of a decoding configuration, in candidate order (k values, then p values). */
export function samplingSettings(options: DecodingOptions): SamplingSetting[] {
  const make = (distinctive: boolean): SamplingSetting[] => [
    ...options.topK.map((k) => ({ kind: 'top-k' as const, k, distinctive })),
    ...options.topP.map((p) => ({ kind: 'top-p' as const, p, distinctive })),
  ];
  return options.distinctive && options.alsoPlain
    ? [...make(true), ...make(false)]
    : make(options.distinctive);
}

/** Decodes every candidate of one crop type of one image. */
export async function generateCaptions(input: GenerateInput): Promise<GenerateOutput> {
  const { captioner, options, count } = input;
  checkOptions(options);
  const size = input.size ?? 224;
  const maskIndices = input.maskIndices ?? Array.from({ length: count }, (_, i) => i);
  if (maskIndices.length !== count)
    throw new RangeError(`${maskIndices.length} mask indices for ${count} crops`);
  const mode = input.mode ?? 'engine';
  const settings = samplingSettings(options);
  const beam = options.beam;

  const beamResults: CaptionCandidate[] = [];
  let sampling: SamplingOutcome = { candidates: [], traces: [] };
  let steps = 0;
  if (mode === 'engine') {
    const encoded = await captioner.encode(input.crops, count, size);
    const participants = (beam ? count : 0) + (settings.length > 0 ? 1 : 0);
    const batcher = new StepBatcher(captioner, encoded, participants);
    const jobs: Promise<void>[] = [];
    if (beam) {
      for (let i = 0; i < count; i++) {
        jobs.push(
          withLeave(batcher, async () => {
            beamResults[i] = await beamCandidate(input, maskIndices[i]!, (prefixes) =>
              batcher.request(prefixes.map((prefix) => ({ prefix, image: i }))),
            );
          }),
        );
      }
    }
    if (settings.length > 0) {
      jobs.push(
        withLeave(batcher, async () => {
          sampling = await sampleRows(input, settings, encoded, maskIndices, (pairs) =>
            batcher.request(pairs),
          );
        }),
      );
    }
    await Promise.all(jobs);
    steps = batcher.steps;
  } else {
    if (beam) {
      // The reference repeats every crop `beams` times before encoding (repeat_interleave) and decodes all crops' beams
      // in one batch.
      const plane = 3 * size * size;
      const repeated = new Float32Array(count * beam.beams * plane);
      for (let i = 0; i < count; i++) {
        for (let b = 0; b < beam.beams; b++)
          repeated.set(input.crops.subarray(i * plane, (i + 1) * plane), (i * beam.beams + b) * plane);
      }
      const encoded = await captioner.encode(repeated, count * beam.beams, size);
      const batcher = new StepBatcher(captioner, encoded, count);
      await Promise.all(
        Array.from({ length: count }, (_, i) =>
          withLeave(batcher, async () => {
            beamResults[i] = await beamCandidate(input, maskIndices[i]!, (prefixes) =>
              batcher.request(prefixes.map((prefix, b) => ({ prefix, image: i * beam.beams + b }))),
            );
          }),
        ),
      );
      steps += batcher.steps;
    }
    if (settings.length > 0) {
      const encoded = await captioner.encode(input.crops, count, size);
      let samplingSteps = 0;
      sampling = await sampleRows(input, settings, encoded, maskIndices, async (pairs, targets) => {
        samplingSteps++;
        // Targets in one decoder call, the others in a second one, as the reference does.
        const first = await captioner.nextLogits(pairs.slice(0, targets), encoded);
        const second =
          targets < pairs.length ? await captioner.nextLogits(pairs.slice(targets), encoded) : [];
        return [...first, ...second];
      });
      steps += samplingSteps;
    }
  }

  const candidates: CaptionCandidate[] = [];
  for (let i = 0; i < count; i++) {
    if (beam) candidates.push(beamResults[i]!);
    candidates.push(...sampling.candidates.filter((candidate) => candidate.maskIndex === maskIndices[i]));
  }
  return { candidates, traces: sampling.traces, steps };
}

/** The beam-search options of a decoding configuration (its `beam` setting must be set). */
export function beamOptions(input: GenerateInput): BeamSearchOptions {
  const beam = input.options.beam!;
  return {
    beams: beam.beams,
    groups: beam.groups,
    scoring: beam.scoring,
    minLength: input.options.minLength,
    maxLength: input.options.maxLength,
    repetitionPenalty: input.options.repetitionPenalty,
    ...input.special,
  };
}

async function beamCandidate(
  input: GenerateInput,
  maskIndex: number,
  step: (prefixes: number[][]) => Promise<ArrayLike<number>[]>,
): Promise<CaptionCandidate> {
  return beamResultCandidate(input, maskIndex, await beamSearch(step, beamOptions(input)));
}

/** The candidate of a finished beam search (trailing pads dropped, text decoded). */
export function beamResultCandidate(
  input: GenerateInput,
  maskIndex: number,
  result: BeamResult,
): CaptionCandidate {
  const beam = input.options.beam!;
  // Groups that finished early are padded (transformers); pads at the end of a hypothesis are not caption tokens.
  const tokenIds = [...result.tokenIds];
  while (tokenIds.length > 1 && tokenIds[tokenIds.length - 1] === input.special.pad) tokenIds.pop();
  return {
    text: input.tokenizer.decode(result.tokenIds),
    // transformers' finalize ends a shorter hypothesis with eot and pads after it, cut by the released split
    releasedText: input.tokenizer.releasedText(tokenIds),
    tokenIds,
    maskIndex,
    crop: input.crop,
    setting: beam,
    settingKey: settingKey(beam),
    beamScore: result.score,
    finished: result.finished,
  };
}

interface SamplingOutcome {
  candidates: CaptionCandidate[];
  traces: CaptionTrace[];
}

interface Row {
  target: number;
  maskIndex: number;
  setting: SamplingSetting;
  key: string;
  streamId: string;
  random: RandomSource;
  prefix: number[];
  done: boolean;
  /** Ended by a sampled pad (`stopOnPad`): the pad is not in `prefix`. */
  stoppedOnPad: boolean;
  calibrated: boolean;
  steps: CaptionTrace['steps'] | null;
}

/**
 * The sampling loop: all rows (crop × setting) step together. `request(pairs, targets)` gets the targets' pairs
 * first (`targets` of them) and then the others' pairs, and returns last-position logits in that order.
 */
async function sampleRows(
  input: GenerateInput,
  settings: readonly SamplingSetting[],
  encoded: EncodedCrops,
  maskIndices: readonly number[],
  request: (pairs: StepPair[], targets: number) => Promise<Float32Array[]>,
): Promise<SamplingOutcome> {
  const { options, special, count } = input;
  const { sot, eot } = special;
  const similarities = Array.from({ length: count }, (_, i) =>
    cosineRow(encoded.latents, count, encoded.latentSize, i),
  );
  // DESIGN.md §5 step 3: calibrate only when 2 ≤ n ≤ 30 (configurable); otherwise DCS is plain sampling.
  const canCalibrate = count >= 2 && count <= options.maxCalibrationCrops;
  const topN = input.trace?.topN ?? 10;
  const rows: Row[] = [];
  for (let i = 0; i < count; i++) {
    for (const setting of settings) {
      const key = settingKey(setting);
      const streamId = streamName(
        input.imageId,
        maskIndices[i]!,
        cropKey(input.crop),
        streamSettingKey(setting),
      );
      const traced = input.trace ? (input.trace.include?.(maskIndices[i]!, key) ?? true) : false;
      rows.push({
        target: i,
        maskIndex: maskIndices[i]!,
        setting,
        key,
        streamId,
        random: streamFor(options.seed, streamId),
        prefix: [sot],
        done: false,
        stoppedOnPad: false,
        calibrated: setting.distinctive && canCalibrate,
        steps: traced ? [] : null,
      });
    }
  }
  const others = (i: number) => Array.from({ length: count }, (_, j) => j).filter((j) => j !== i);
  let vocabSize = 0;

  for (let step = 0; ; step++) {
    const active = rows.filter((row) => !row.done);
    if (active.length === 0) break;
    const targetPairs: StepPair[] = active.map((row) => ({ prefix: row.prefix, image: row.target }));
    const otherPairs: StepPair[] = [];
    const otherOffset: number[] = [];
    for (const row of active) {
      otherOffset.push(otherPairs.length);
      if (row.calibrated)
        for (const j of others(row.target)) otherPairs.push({ prefix: row.prefix, image: j });
    }
    const logits = await request([...targetPairs, ...otherPairs], targetPairs.length);
    active.forEach((row, r) => {
      const raw = logits[r]!;
      vocabSize = raw.length;
      const processed = processLogits(raw, row.prefix, {
        minLength: options.minLength,
        repetitionPenalty: options.repetitionPenalty,
        eot,
      });
      const kept =
        row.setting.kind === 'top-k'
          ? topKKept(processed, row.setting.k)
          : topPKept(processed, row.setting.p);
      let aggregate: Float64Array | null = null;
      // The full-vocabulary aggregate only for traces (their top-N); sampling needs o on V only.
      let tracedAggregate: Float64Array | null = null;
      let otherRecords: Parameters<typeof recordStep>[0]['others'] = null;
      if (row.calibrated) {
        const js = others(row.target);
        const s = js.map((j) => similarities[row.target]![j]!);
        const factors = aggregationFactors(s, options.aggregation);
        const otherLogits = js.map((_, m) => logits[targetPairs.length + otherOffset[r]! + m]!);
        aggregate = aggregateLogits(otherLogits, factors, kept);
        if (row.steps) tracedAggregate = aggregateLogits(otherLogits, factors);
        otherRecords = js.map((j, m) => ({
          maskIndex: maskIndices[j]!,
          similarity: s[m]!,
          weight: factors[m]!,
          logits: otherLogits[m]!,
        }));
      }
      const result = samplingStep({ processed, kept, temperature: options.temperature, eot, aggregate });
      // The reference forces eot when the next token would make the sequence maxLength long (`cur_len + 1 == seq_len`).
      const forced = row.prefix.length + 1 >= options.maxLength;
      let uniform: number | null = null;
      let chosen: number;
      if (forced) chosen = eot;
      else {
        uniform = row.random.uniform();
        chosen = drawToken(result, uniform);
      }
      if (row.steps) {
        row.steps.push(
          recordStep(
            {
              step,
              raw,
              processed,
              kept,
              others: otherRecords,
              aggregate: tracedAggregate,
              result,
              uniform,
              forced,
              chosen,
            },
            (id) => input.tokenizer.tokenText(id),
            topN,
            eot,
          ),
        );
      }
      // The released decoder also ends a caption when pad (id 0) is sampled (`stopOnPad`); pad is never a caption
      // token, so the row ends without it.
      if (options.stopOnPad && chosen === special.pad) {
        row.done = true;
        row.stoppedOnPad = true;
        return;
      }
      row.prefix = [...row.prefix, chosen];
      if (chosen === eot) row.done = true;
    });
  }

  const released = releasedRows(rows, special.pad);
  const candidates: CaptionCandidate[] = rows.map((row, r) => ({
    text: input.tokenizer.decode(row.prefix),
    releasedText: input.tokenizer.releasedText(released[r]!),
    tokenIds: row.prefix,
    maskIndex: row.maskIndex,
    crop: input.crop,
    setting: row.setting,
    settingKey: row.key,
    seed: options.seed,
    streamId: row.streamId,
    finished: row.prefix[row.prefix.length - 1] === eot,
  }));
  const traces: CaptionTrace[] = rows
    .filter((row) => row.steps)
    .map((row) => ({
      version: 1,
      ...(input.model ? { model: input.model } : {}),
      config: {
        setting: row.setting,
        settingKey: row.key,
        aggregation: options.aggregation,
        temperature: options.temperature,
        repetitionPenalty: options.repetitionPenalty,
        minLength: options.minLength,
        maxLength: options.maxLength,
        maxCalibrationCrops: options.maxCalibrationCrops,
        seed: options.seed,
        streamId: row.streamId,
        topN,
        specialTokens: { ...special },
        vocabSize,
      },
      target: { maskIndex: row.maskIndex, crop: input.crop },
      cropCount: count,
      calibrated: row.calibrated,
      similarities: Array.from(similarities[row.target]!),
      steps: row.steps!,
      tokenIds: row.prefix,
      text: input.tokenizer.decode(row.prefix),
    }));
  return { candidates, traces };
}

/**
 * Each row as the released decoder leaves it (coca_model.py `distinctive_caption_sampling`): every row of one call
 * (all crops × all DCS settings) steps together and a row already ended by eot or pad gets a pad each further step,
 * until every row has ended — so the batch is as long as its longest row (stop token included), and a row ended by a
 * sampled pad carries that pad and the ones after it ("!!!…" once decoded), while the pads after an eot are cut by
 * the released split. The released call holds the DCS rows only: plain-sampling comparison rows form their own batch.
 */
function releasedRows(rows: readonly Row[], pad: number): number[][] {
  const length = (row: Row) => row.prefix.length + (row.stoppedOnPad ? 1 : 0);
  const longest = new Map<boolean, number>();
  for (const row of rows) {
    const key = row.setting.distinctive;
    longest.set(key, Math.max(longest.get(key) ?? 0, length(row)));
  }
  return rows.map((row) =>
    row.stoppedOnPad
      ? [
          ...row.prefix,
          ...new Array<number>(longest.get(row.setting.distinctive)! - row.prefix.length).fill(pad),
        ]
      : row.prefix,
  );
}

/**
 * Gathers the step requests of concurrent decoders (n beam searches + the sampling loop) and serves them with one
 * `nextLogits` call once every active participant has asked; a participant that finishes leaves.
 */
class StepBatcher {
  steps = 0;
  private pending: {
    pairs: StepPair[];
    resolve: (logits: Float32Array[]) => void;
    reject: (error: unknown) => void;
  }[] = [];

  constructor(
    private readonly captioner: Captioner,
    private readonly encoded: EncodedCrops,
    private active: number,
  ) {}

  request(pairs: StepPair[]): Promise<Float32Array[]> {
    return new Promise((resolve, reject) => {
      this.pending.push({ pairs, resolve, reject });
      this.flushIfReady();
    });
  }

  leave(): void {
    this.active--;
    this.flushIfReady();
  }

  private flushIfReady(): void {
    if (this.pending.length === 0 || this.pending.length < this.active) return;
    const batch = this.pending;
    this.pending = [];
    void this.flush(batch);
  }

  private async flush(batch: StepBatcher['pending']): Promise<void> {
    try {
      const logits = await this.captioner.nextLogits(
        batch.flatMap((entry) => entry.pairs),
        this.encoded,
      );
      this.steps++;
      let offset = 0;
      for (const entry of batch) {
        entry.resolve(logits.slice(offset, offset + entry.pairs.length));
        offset += entry.pairs.length;
      }
    } catch (error) {
      for (const entry of batch) entry.reject(error);
    }
  }
}

async function withLeave(batcher: StepBatcher, job: () => Promise<void>): Promise<void> {
  try {
    await job();
  } finally {
    batcher.leave();
  }
}

/** Throws a clear error for options no decoder can run. */
export function checkOptions(options: DecodingOptions): void {
  if (!(options.temperature > 0)) throw new RangeError(`temperature must be > 0, got ${options.temperature}`);
  if (!Number.isInteger(options.minLength) || options.minLength < 1)
    throw new RangeError(`minLength must be an integer ≥ 1, got ${options.minLength}`);
  if (!Number.isInteger(options.maxLength) || options.maxLength <= options.minLength) {
    throw new RangeError(
      `maxLength must be an integer > minLength (${options.minLength}), got ${options.maxLength}`,
    );
  }
  for (const k of options.topK)
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`top-k values must be integers ≥ 1, got ${k}`);
  for (const p of options.topP)
    if (!(p > 0 && p <= 1)) throw new RangeError(`top-p values must be in (0, 1], got ${p}`);
  if (!Number.isInteger(options.maxCalibrationCrops) || options.maxCalibrationCrops < 2) {
    throw new RangeError(`maxCalibrationCrops must be an integer ≥ 2, got ${options.maxCalibrationCrops}`);
  }
}
