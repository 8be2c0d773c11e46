/**
 * Helpers for the demo captioner's and scorer's model tests: sessions over the built graphs, crops of rendered
 * scenes, greedy decoding with CoCa's min/max length, caption decoding and the attribute words of a caption.
 *
 * Test-only (imported by captioner.test.ts and scorer.test.ts); kept out of the pack builder's path.
 */
import * as ort from 'onnxruntime-node';
import { buildCrops, type CropBatch } from '../image/crops.ts';
import { renderScene, type SceneObject } from '../demo/scenes.ts';
import { demoVocabulary, END_OF_WORD, PATTERN_NOUNS } from '../demo/vocabulary.ts';
import { COLOURS, PATTERNS, SHAPES, type Attributes } from '../demo/world.ts';
import { mulberry32 } from '../../shared/testing/random.ts';

/** CoCa generation lengths (DESIGN.md §5): eot is −∞ while the sequence (sot included) is shorter than 5; at most 30. */
export const MIN_LENGTH = 5;
export const MAX_LENGTH = 30;

/** The crops of one rendered scene: masked, box 1.0, 1.1, 1.2 (crops.ts defaults). */
export interface SceneCrops {
  objects: SceneObject[];
  batches: CropBatch[];
}

/** Renders scenes `0..count−1` of `seed` and crops every object. */
export function sceneCrops(seed: number, count: number): SceneCrops[] {
  return Array.from({ length: count }, (_, index) => {
    const scene = renderScene(seed, index);
    return {
      objects: scene.truth.objects,
      batches: buildCrops(
        scene.image,
        scene.truth.objects.map((o) => o.mask),
      ),
    };
  });
}

/** A float32 tensor over a crop batch. */
export function cropTensor(batch: CropBatch): ort.Tensor {
  return new ort.Tensor('float32', batch.data, batch.dims);
}

/** Token rows as an int64 tensor [rows, length]. */
export function tokenTensor(rows: number[][]): ort.Tensor {
  const length = rows[0].length;
  const data = new BigInt64Array(rows.length * length);
  rows.forEach((row, r) => row.forEach((id, t) => (data[r * length + t] = BigInt(id))));
  return new ort.Tensor('int64', data, [rows.length, length]);
}

/** Sessions of the three captioner graphs. */
export interface CaptionerSessions {
  visual: ort.InferenceSession;
  text: ort.InferenceSession;
  decoder: ort.InferenceSession;
  release(): Promise<void>;
}

/** Opens the three captioner graphs. */
export async function openCaptioner(graphs: {
  visual: Uint8Array;
  text: Uint8Array;
  decoder: Uint8Array;
}): Promise<CaptionerSessions> {
  const [visual, text, decoder] = await Promise.all([
    ort.InferenceSession.create(graphs.visual),
    ort.InferenceSession.create(graphs.text),
    ort.InferenceSession.create(graphs.decoder),
  ]);
  return {
    visual,
    text,
    decoder,
    release: async () => {
      await Promise.all([visual.release(), text.release(), decoder.release()]);
    },
  };
}

/**
 * Next-token log-probabilities at the last position for each prefix, with the image embeddings given per row.
 *
 * out: float32[rows, V]
 */
export async function nextLogits(
  sessions: CaptionerSessions,
  imageEmbs: ort.Tensor,
  prefixes: number[][],
): Promise<Float32Array[]> {
  const { token_embs } = await sessions.text.run({ text: tokenTensor(prefixes) });
  const { logits } = await sessions.decoder.run({ image_embs: imageEmbs, token_embs });
  const [rows, length, vocab] = logits.dims;
  const data = logits.data as Float32Array;
  return Array.from({ length: rows }, (_, r) =>
    data.slice((r * length + length - 1) * vocab, (r * length + length) * vocab),
  );
}

/** Row `i` of a batched float tensor [B, …] as a tensor [1, …]. */
export function rowOf(tensor: ort.Tensor, i: number): ort.Tensor {
  const per = tensor.dims.slice(1).reduce((a, b) => a * b, 1);
  return new ort.Tensor('float32', (tensor.data as Float32Array).slice(i * per, (i + 1) * per), [
    1,
    ...tensor.dims.slice(1),
  ]);
}

/** Applies the min-length rule: eot −∞ while the prefix is shorter than {@link MIN_LENGTH}. */
export function applyMinLength(logits: Float32Array, prefixLength: number): Float32Array {
  const out = Float32Array.from(logits);
  if (prefixLength < MIN_LENGTH) out[demoVocabulary().eot] = -Infinity;
  return out;
}

/** Greedy (argmax) decoding of every crop of a batch, all rows in one run per step; eot forced at length 30. */
export async function greedyCaptions(sessions: CaptionerSessions, crops: ort.Tensor): Promise<number[][]> {
  const { image_embs } = await sessions.visual.run({ image: crops });
  const { sot, eot, pad } = demoVocabulary();
  const rows = image_embs.dims[0];
  const sequences = Array.from({ length: rows }, () => [sot]);
  const done = new Array<boolean>(rows).fill(false);
  while (!done.every(Boolean)) {
    const length = sequences[0].length;
    const logits = await nextLogits(sessions, image_embs, sequences);
    sequences.forEach((sequence, r) => {
      if (done[r]) {
        sequence.push(pad);
        return;
      }
      const next = length + 1 === MAX_LENGTH ? eot : argmax(applyMinLength(logits[r], length));
      sequence.push(next);
      if (next === eot) done[r] = true;
    });
  }
  return sequences.map((sequence) => {
    const end = sequence.indexOf(eot);
    return sequence.slice(0, end < 0 ? sequence.length : end + 1);
  });
}

/** The caption text of ids: drop sot, cut at eot, `</w>` → space (research/contracts.md §5.2 "CoCa decode"). */
export function captionText(ids: readonly number[]): string {
  const { sot, eot, tokens } = demoVocabulary();
  const out: string[] = [];
  for (const id of ids) {
    if (id === sot) continue;
    if (id === eot) break;
    out.push(tokens[id]);
  }
  return out.join('').replaceAll(END_OF_WORD, ' ').trim();
}

/** The world's attribute words in a caption. */
export function attributeWords(caption: string): { colours: string[]; shapes: string[]; patterns: string[] } {
  const words = caption.split(/\s+/).map((w) => PATTERN_NOUNS[w] ?? w);
  return {
    colours: words.filter((w) => (COLOURS as readonly string[]).includes(w)),
    shapes: words.filter((w) => (SHAPES as readonly string[]).includes(w)),
    patterns: words.filter((w) => (PATTERNS as readonly string[]).includes(w)),
  };
}

/**
 * Whether a caption names the target's attributes and fits no other object (the oracle's rule, DESIGN.md §6): every
 * attribute word matches the target, and every other object differs from some named attribute.
 */
export function captionIdentifies(
  caption: string,
  target: Attributes,
  others: readonly Attributes[],
): boolean {
  const { colours, shapes, patterns } = attributeWords(caption);
  const fits = (o: Attributes) =>
    colours.every((c) => c === o.colour) &&
    shapes.every((s) => s === o.shape) &&
    patterns.every((p) => p === o.pattern);
  return fits(target) && !others.some(fits);
}

/** Index of the largest value (first on ties). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** softmax over a logits row (−∞ allowed). */
export function softmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  const out = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    out[i] = Math.exp(logits[i] - max);
    sum += out[i];
  }
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

/** A small seeded generator (mulberry32) so sampling tests are reproducible. */
export const seededRandom = mulberry32;

/** Draws an index from unnormalized non-negative weights. */
export function draw(weights: ArrayLike<number>, random: () => number): number {
  let total = 0;
  for (let i = 0; i < weights.length; i++) total += weights[i];
  let u = random() * total;
  for (let i = 0; i < weights.length; i++) {
    u -= weights[i];
    if (u <= 0 && weights[i] > 0) return i;
  }
  return argmax(weights);
}
