import * as ort from 'onnxruntime-node';
import { Tokenizer } from '@huggingface/tokenizers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDemoCaptioner, EMBED_WIDTH, IMAGE_TOKENS, LATENT_SIZE } from './captioner.ts';
import {
  applyMinLength,
  argmax,
  captionIdentifies,
  captionText,
  cropTensor,
  draw,
  greedyCaptions,
  MAX_LENGTH,
  MIN_LENGTH,
  nextLogits,
  openCaptioner,
  rowOf,
  sceneCrops,
  seededRandom,
  softmax,
  tokenTensor,
  type CaptionerSessions,
} from '../testing/demo-models.ts';
import { demoTokenizerConfig } from './tokenizer-json.ts';
import { DEMO_WORDS, demoVocabulary, wordId } from './vocabulary.ts';
import { renderScene } from './scenes.ts';
import { buildCrops } from '../image/crops.ts';
import type { Attributes } from './world.ts';

const SEED = 2024;
const SCENES = 12;
const captioner = buildDemoCaptioner();
const scenes = sceneCrops(SEED, SCENES);
let sessions: CaptionerSessions;

beforeAll(async () => {
  sessions = await openCaptioner(captioner);
});
afterAll(async () => {
  await sessions.release();
});

const ids = (caption: string) => {
  const { sot } = demoVocabulary();
  return [sot, ...caption.split(' ').map(wordId)];
};

describe('demo captioner graphs', () => {
  it('hands over the tokenizer, the special ids and the vocabulary size of the demo vocabulary', () => {
    const vocabulary = demoVocabulary();
    expect(captioner.specialTokens).toEqual({ sot: vocabulary.sot, eot: vocabulary.eot, pad: 0 });
    expect(captioner.vocabSize).toBe(vocabulary.size);
    const tokenizer = new Tokenizer(JSON.parse(captioner.tokenizerJson), demoTokenizerConfig());
    expect(tokenizer.encode('a red circle').ids).toEqual([...ids('a red circle'), vocabulary.eot]);
  });

  it('builds byte-identical graphs every time', () => {
    const again = buildDemoCaptioner();
    expect(Buffer.from(again.visual).equals(Buffer.from(captioner.visual))).toBe(true);
    expect(Buffer.from(again.text).equals(Buffer.from(captioner.text))).toBe(true);
    expect(Buffer.from(again.decoder).equals(Buffer.from(captioner.decoder))).toBe(true);
    expect(again.tokenizerJson).toBe(captioner.tokenizerJson);
  });

  it('declares the DESIGN §4 input and output names', () => {
    expect(sessions.visual.inputNames).toEqual(['image']);
    expect(sessions.visual.outputNames.toSorted()).toEqual(['image_embs', 'image_latent']);
    expect(sessions.text.inputNames).toEqual(['text']);
    expect(sessions.text.outputNames).toEqual(['token_embs']);
    expect(sessions.decoder.inputNames).toEqual(['image_embs', 'token_embs']);
    expect(sessions.decoder.outputNames).toEqual(['logits']);
  });

  it('gives exact output dims and an L2-normalized image_latent', async () => {
    const [{ batches }] = scenes;
    const masked = batches[0];
    const n = masked.dims[0];
    const { image_latent, image_embs } = await sessions.visual.run({ image: cropTensor(masked) });
    expect(image_latent.dims).toEqual([n, LATENT_SIZE]);
    expect(image_embs.dims).toEqual([n, IMAGE_TOKENS, EMBED_WIDTH]);
    const latent = image_latent.data as Float32Array;
    for (let i = 0; i < n; i++) {
      const norm = Math.hypot(...latent.slice(i * LATENT_SIZE, (i + 1) * LATENT_SIZE));
      expect(norm).toBeCloseTo(1, 5);
    }
    const prefixes = [ids('a photo of a red'), ids('a striped blue circle on a')];
    const { token_embs } = await sessions.text.run({ text: tokenTensor(prefixes) });
    expect(token_embs.dims).toEqual([2, 6, EMBED_WIDTH]);
    const both = new ort.Tensor(
      'float32',
      (image_embs.data as Float32Array).slice(0, 2 * IMAGE_TOKENS * EMBED_WIDTH),
      [2, IMAGE_TOKENS, EMBED_WIDTH],
    );
    const { logits } = await sessions.decoder.run({ image_embs: both, token_embs });
    expect(logits.dims).toEqual([2, 6, demoVocabulary().size]);
  });

  it('pairs one image with many prefixes (and one prefix with many images) by broadcasting the batch', async () => {
    const [{ batches }] = scenes;
    const { image_embs } = await sessions.visual.run({ image: cropTensor(batches[0]) });
    const n = image_embs.dims[0];
    const { token_embs } = await sessions.text.run({ text: tokenTensor([ids('a photo of a')]) });
    const { logits } = await sessions.decoder.run({ image_embs, token_embs });
    expect(logits.dims).toEqual([n, 5, demoVocabulary().size]);
    const single = await nextLogits(sessions, rowOf(image_embs, 1), [ids('a photo of a')]);
    const row = (logits.data as Float32Array).slice(
      (1 * 5 + 4) * demoVocabulary().size,
      (1 * 5 + 5) * demoVocabulary().size,
    );
    expect(Array.from(single[0].slice(0, 700))).toEqual(Array.from(row.slice(0, 700)));
  });

  it('is causal: position t of token_embs and logits depends only on tokens ≤ t', async () => {
    const [{ batches }] = scenes;
    const { image_embs } = await sessions.visual.run({ image: cropTensor(batches[0]) });
    const one = rowOf(image_embs, 0);
    const a = ids('a photo of a red circle');
    const b = ids('a photo of an orange object');
    const { token_embs: ea } = await sessions.text.run({ text: tokenTensor([a]) });
    const { token_embs: eb } = await sessions.text.run({ text: tokenTensor([b]) });
    const { logits: la } = await sessions.decoder.run({ image_embs: one, token_embs: ea });
    const { logits: lb } = await sessions.decoder.run({ image_embs: one, token_embs: eb });
    const shared = 4; // sot a photo of
    const v = demoVocabulary().size;
    expect(Array.from((ea.data as Float32Array).slice(0, shared * EMBED_WIDTH))).toEqual(
      Array.from((eb.data as Float32Array).slice(0, shared * EMBED_WIDTH)),
    );
    expect(Array.from((la.data as Float32Array).slice(0, shared * v))).toEqual(
      Array.from((lb.data as Float32Array).slice(0, shared * v)),
    );
    expect(Array.from((la.data as Float32Array).slice(shared * v, (shared + 1) * v))).not.toEqual(
      Array.from((lb.data as Float32Array).slice(shared * v, (shared + 1) * v)),
    );
  });

  it('keeps non-word tokens out of the top 13 of every step, so top-k only ever sees words', async () => {
    const [{ batches }] = scenes;
    const { image_embs } = await sessions.visual.run({ image: cropTensor(batches[0]) });
    const prefixes = [
      'a',
      'a photo of',
      'a photo of a',
      'a photo of an',
      'a striped',
      'a red',
      'a red circle on a',
    ].map(ids);
    const { eot, size } = demoVocabulary();
    const words = new Set([...DEMO_WORDS.map(wordId), eot]);
    for (const prefix of prefixes) {
      const [row] = await nextLogits(sessions, rowOf(image_embs, 0), [prefix]);
      const order = Array.from({ length: size }, (_, i) => i).sort((x, y) => row[y] - row[x]);
      expect(
        order.slice(0, 13).every((id) => words.has(id)),
        captionText(prefix),
      ).toBe(true);
      const total = softmax(row).reduce((s, p) => s + p, 0);
      expect(total).toBeCloseTo(1, 5);
    }
  });
});

describe('demo captioner language', () => {
  it('names the right colour and shape in greedy captions of isolated objects (≥ 90 %)', async () => {
    const names = ['masked', 'box 1.0', 'box 1.1', 'box 1.2'];
    const figures: string[] = [];
    const rates: number[] = [];
    for (let k = 0; k < 4; k++) {
      let right = 0;
      let total = 0;
      const misses: string[] = [];
      for (const { objects, batches } of scenes) {
        const captions = await greedyCaptions(sessions, cropTensor(batches[k]));
        captions.forEach((caption, i) => {
          const text = captionText(caption);
          const words = text.split(' ');
          const object = objects[i];
          expect(caption.length, text).toBeGreaterThanOrEqual(MIN_LENGTH);
          expect(caption.length).toBeLessThanOrEqual(MAX_LENGTH);
          total += 1;
          if (words.includes(object.colour) && words.includes(object.shape)) right += 1;
          else misses.push(`${object.pattern} ${object.colour} ${object.shape} → "${text}"`);
        });
      }
      rates.push(right / total);
      figures.push(
        `${names[k]}: ${right}/${total} (${((100 * right) / total).toFixed(1)} %)${misses.length ? ` misses: ${misses.join('; ')}` : ''}`,
      );
    }
    console.log(
      `greedy captions naming colour and shape, seed ${SEED}, ${SCENES} scenes:\n  ${figures.join('\n  ')}`,
    );
    expect(rates[0]).toBeGreaterThanOrEqual(0.9);
    expect(rates[1]).toBeGreaterThanOrEqual(0.9);
  });

  it('writes CoCa-like greedy captions and continues short ones with the tail under the min length', async () => {
    const [{ objects, batches }] = scenes;
    const captions = (await greedyCaptions(sessions, cropTensor(batches[0]))).map(captionText);
    captions.forEach((caption, i) => {
      expect(caption).toMatch(
        /^(a photo of |a picture of |an image of )?(a|an) ((plain|striped|dotted) )?[a-z]+ [a-z]+$/,
      );
      expect(caption).toContain(objects[i].shape);
    });
    const { image_embs } = await sessions.visual.run({ image: cropTensor(batches[0]) });
    const short = ids(`a ${objects[0].colour} ${objects[0].shape}`); // 4 tokens: eot is forbidden
    const [row] = await nextLogits(sessions, rowOf(image_embs, 0), [short]);
    expect(row[demoVocabulary().eot]).toBeGreaterThan(row[wordId('on')]);
    expect(argmax(applyMinLength(row, short.length))).toBe(wordId('on'));
  });

  it('names no attribute for a crop without an object (all background fill)', async () => {
    const plane = 224 * 224;
    const fill = new Float32Array(3 * plane);
    // The reference fill in normalized space is the OpenAI mean itself.
    [0.48145466, 0.4578275, 0.40821073].forEach((m, c) => fill.fill(m, c * plane, (c + 1) * plane));
    const [caption] = await greedyCaptions(sessions, new ort.Tensor('float32', fill, [1, 3, 224, 224]));
    const text = captionText(caption);
    expect(text).toMatch(/(shape|object)( on a grey background)?$/);
    expect(
      text
        .split(' ')
        .some((w) => ['circle', 'square', 'triangle', 'red', 'striped', 'dotted', 'plain'].includes(w)),
    ).toBe(false);
  });

  it('makes generic words likely, so plain sampling is often ambiguous where DCS is not', async () => {
    // The first scene with two objects of one colour and different shapes: "a red shape" fits both.
    let found: { crops: ort.Tensor; pair: [Attributes, Attributes] } | undefined;
    for (let index = 0; !found && index < 200; index++) {
      const scene = renderScene(SEED, index);
      const objects = scene.truth.objects;
      for (let i = 0; !found && i < objects.length; i++) {
        for (let j = i + 1; !found && j < objects.length; j++) {
          if (objects[i].colour === objects[j].colour && objects[i].shape !== objects[j].shape) {
            const [masked] = buildCrops(scene.image, [objects[i].mask, objects[j].mask], {
              crops: [{ kind: 'masked' }],
            });
            found = { crops: cropTensor(masked), pair: [objects[i], objects[j]] };
          }
        }
      }
    }
    expect(found).toBeDefined();
    const { crops, pair } = found!;
    const { image_embs, image_latent } = await sessions.visual.run({ image: crops });
    const [row] = await nextLogits(sessions, rowOf(image_embs, 0), [ids(`a photo of a ${pair[0].colour}`)]);
    const generic = softmax(row)[wordId('shape')] + softmax(row)[wordId('object')];
    const latent = image_latent.data as Float32Array;
    const similarity = latent.slice(0, LATENT_SIZE).reduce((s, x, d) => s + x * latent[LATENT_SIZE + d], 0);

    const samples = 60;
    const rate = async (target: 0 | 1, distinctive: boolean) => {
      const random = seededRandom(7 + target);
      const { sot, eot, pad } = demoVocabulary();
      const rows = Array.from({ length: samples }, () => [sot]);
      const done = new Array<boolean>(samples).fill(false);
      while (!done.every(Boolean)) {
        const length = rows[0].length;
        const own = await nextLogits(sessions, rowOf(image_embs, target), rows);
        const other = distinctive ? await nextLogits(sessions, rowOf(image_embs, 1 - target), rows) : [];
        rows.forEach((sequence, r) => {
          if (done[r]) return void sequence.push(pad);
          // top-k 5 on the target's logits (after min length), then DCS: c = z_i − s_ij·z_j on the kept set, eot
          // weight from the uncalibrated distribution (DESIGN.md §5).
          const z = applyMinLength(own[r], length);
          const kth = Array.from(z).sort((x, y) => y - x)[4];
          const kept = z.map((v) => (v >= kth ? v : -Infinity));
          let weights = softmax(kept);
          if (distinctive) {
            const calibrated = kept.map((v, t) =>
              v === -Infinity ? -Infinity : v - similarity * other[r][t],
            );
            const eotWeight = weights[eot];
            weights = softmax(calibrated);
            weights[eot] = eotWeight;
          }
          const next = length + 1 === MAX_LENGTH ? eot : draw(weights, random);
          sequence.push(next);
          if (next === eot) done[r] = true;
        });
      }
      return (
        rows.filter((sequence) => captionIdentifies(captionText(sequence), pair[target], [pair[1 - target]]))
          .length / samples
      );
    };
    const naive = ((await rate(0, false)) + (await rate(1, false))) / 2;
    const dcs = ((await rate(0, true)) + (await rate(1, true))) / 2;
    console.log(
      `two ${pair[0].colour} shapes (${pair[0].shape}, ${pair[1].shape}): p(generic noun | "a photo of a ${pair[0].colour}") = ${generic.toFixed(2)}, ` +
        `latent cos = ${similarity.toFixed(2)}, identifying captions: top-k 5 sampling ${(100 * naive).toFixed(0)} %, DCS ${(100 * dcs).toFixed(0)} %`,
    );
    expect(generic).toBeGreaterThan(0.3);
    expect(naive).toBeLessThan(0.7);
    expect(dcs).toBeGreaterThan(naive + 0.2);
  });
});
