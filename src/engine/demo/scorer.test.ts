import * as ort from 'onnxruntime-node';
import { Tokenizer } from '@huggingface/tokenizers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cropTensor, sceneCrops } from '../testing/demo-models.ts';
import { buildDemoScorer, SCORER_CONTEXT, SCORER_EMBED_SIZE } from './scorer.ts';
import { demoTokenizerConfig, demoTokenizerJson } from './tokenizer-json.ts';
import type { SceneObject } from './scenes.ts';

const SEED = 2025;
const SCENES = 12;
const scorer = buildDemoScorer();
const tokenizer = new Tokenizer(JSON.parse(demoTokenizerJson()), demoTokenizerConfig());
const scenes = sceneCrops(SEED, SCENES);
let image: ort.InferenceSession;
let text: ort.InferenceSession;

beforeAll(async () => {
  [image, text] = await Promise.all([
    ort.InferenceSession.create(scorer.image),
    ort.InferenceSession.create(scorer.text),
  ]);
});
afterAll(async () => {
  await Promise.all([image.release(), text.release()]);
});

/** CLIP tokenization: sot … eot, zero-padded to 77 (research/contracts.md §3.1). */
function tokenize(texts: string[]): ort.Tensor {
  const data = new BigInt64Array(texts.length * SCORER_CONTEXT);
  texts.forEach((t, i) =>
    tokenizer.encode(t).ids.forEach((id: number, j: number) => (data[i * SCORER_CONTEXT + j] = BigInt(id))),
  );
  return new ort.Tensor('int64', data, [texts.length, SCORER_CONTEXT]);
}

async function embedTexts(texts: string[]): Promise<Float32Array> {
  return (await text.run({ text: tokenize(texts) })).embedding.data as Float32Array;
}

/** θ = 100 · cos for every (crop, text) pair: out[crop][text]. */
function theta(crops: Float32Array, texts: Float32Array): number[][] {
  const n = crops.length / SCORER_EMBED_SIZE;
  const m = texts.length / SCORER_EMBED_SIZE;
  return Array.from({ length: n }, (_, i) =>
    Array.from({ length: m }, (_, t) => {
      let dot = 0;
      for (let e = 0; e < SCORER_EMBED_SIZE; e++)
        dot += crops[i * SCORER_EMBED_SIZE + e] * texts[t * SCORER_EMBED_SIZE + e];
      return 100 * dot;
    }),
  );
}

const fullCaption = (o: SceneObject) => `a photo of a ${o.pattern} ${o.colour} ${o.shape}`;

describe('demo scorer', () => {
  it('builds byte-identical graphs every time', () => {
    const again = buildDemoScorer();
    expect(Buffer.from(again.image).equals(Buffer.from(scorer.image))).toBe(true);
    expect(Buffer.from(again.text).equals(Buffer.from(scorer.text))).toBe(true);
  });

  it('embeds crops [B,3,224,224] and texts [B,77] as unit vectors [B,16]', async () => {
    expect(image.inputNames).toEqual(['image']);
    expect(text.inputNames).toEqual(['text']);
    expect(image.outputNames).toEqual(['embedding']);
    expect(text.outputNames).toEqual(['embedding']);
    const [{ batches }] = scenes;
    const { embedding } = await image.run({ image: cropTensor(batches[0]) });
    expect(embedding.dims).toEqual([batches[0].dims[0], SCORER_EMBED_SIZE]);
    const texts = (await text.run({ text: tokenize(['a red circle', 'an object', 'zebra!']) })).embedding;
    expect(texts.dims).toEqual([3, SCORER_EMBED_SIZE]);
    for (const data of [embedding.data as Float32Array, texts.data as Float32Array]) {
      for (let i = 0; i < data.length / SCORER_EMBED_SIZE; i++) {
        expect(Math.hypot(...data.slice(i * SCORER_EMBED_SIZE, (i + 1) * SCORER_EMBED_SIZE))).toBeCloseTo(
          1,
          5,
        );
      }
    }
  });

  it('ranks the right object first for full-attribute captions (≥ 90 %), with positive θ', async () => {
    const figures: string[] = [];
    const rates: number[] = [];
    let lowest = Infinity;
    for (const [k, name] of [
      [0, 'masked'],
      [3, 'box 1.2'],
    ] as const) {
      let right = 0;
      let total = 0;
      const margins: number[] = [];
      for (const { objects, batches } of scenes) {
        const crops = (await image.run({ image: cropTensor(batches[k]) })).embedding.data as Float32Array;
        const scores = theta(crops, await embedTexts(objects.map(fullCaption)));
        objects.forEach((_, t) => {
          const column = scores.map((row) => row[t]);
          lowest = Math.min(lowest, ...column);
          const best = column.indexOf(Math.max(...column));
          total += 1;
          if (best === t) right += 1;
          const others = column.filter((_, i) => i !== t);
          margins.push(column[t] / Math.max(...others));
        });
      }
      rates.push(right / total);
      margins.sort((a, b) => a - b);
      figures.push(
        `${name}: ${right}/${total} (${((100 * right) / total).toFixed(1)} %), θ(own)/max θ(other): min ${margins[0].toFixed(2)}, median ${margins[margins.length >> 1].toFixed(2)}`,
      );
    }
    console.log(
      `scorer ranking of full-attribute captions, seed ${SEED}, ${SCENES} scenes:\n  ${figures.join('\n  ')}\n  lowest θ ${lowest.toFixed(1)}`,
    );
    expect(rates[0]).toBeGreaterThanOrEqual(0.9);
    expect(rates[1]).toBeGreaterThanOrEqual(0.9);
    expect(lowest).toBeGreaterThan(0);
  });

  it('scores only the attributes a text names: shape prompts by shape, generic prompts equally', async () => {
    for (const { objects, batches } of scenes) {
      const crops = (await image.run({ image: cropTensor(batches[0]) })).embedding.data as Float32Array;
      const scores = theta(
        crops,
        await embedTexts(['a photo of a circle', 'a photo of an object', 'a photo of a shape']),
      );
      objects.forEach((o, i) => {
        objects.forEach((p, j) => {
          if (o.shape === 'circle' && p.shape !== 'circle')
            expect(scores[i][0]).toBeGreaterThan(scores[j][0] * 1.3);
        });
        // Equal up to how confident each crop's attribute probabilities are (a few %, far below τ = 1.3).
        expect(Math.abs(scores[i][1] / scores[0][1] - 1)).toBeLessThan(0.1);
        expect(scores[i][2]).toBeCloseTo(scores[i][1], 5);
      });
    }
  });

  it('scores a caption that omits the distinguishing attribute the same for both objects', async () => {
    let checked = 0;
    for (const { objects, batches } of scenes) {
      const crops = (await image.run({ image: cropTensor(batches[0]) })).embedding.data as Float32Array;
      for (let i = 0; i < objects.length; i++) {
        for (let j = 0; j < objects.length; j++) {
          const [a, b] = [objects[i], objects[j]];
          if (i === j || a.colour !== b.colour || a.shape !== b.shape) continue;
          const [[own], [other]] = theta(
            Float32Array.from([
              ...crops.slice(i * SCORER_EMBED_SIZE, (i + 1) * SCORER_EMBED_SIZE),
              ...crops.slice(j * SCORER_EMBED_SIZE, (j + 1) * SCORER_EMBED_SIZE),
            ]),
            await embedTexts([`a ${a.colour} ${a.shape}`]),
          );
          expect(Math.abs(own / other - 1)).toBeLessThan(0.1);
          checked += 1;
        }
      }
    }
    expect(checked).toBeGreaterThan(0);
  });
});
