import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resizeBilinearChw } from '../image/resize.ts';
import { samEncoderInput } from '../image/tensor.ts';
import type { BinaryMask, RgbImage } from '../image/types.ts';
import { renderScene, type SceneObject } from './scenes.ts';
import { DEMO_EMBEDDING_CHANNELS, buildDemoSegmenter } from './segmenter.ts';

/** The SAM encoder input the pipeline builds (runtime's tensor.ts): longest side 1024, SAM mean/std, zero pad. */
function encoderInput(image: RgbImage): { tensor: ort.Tensor; width: number; height: number } {
  const input = samEncoderInput(image);
  return { tensor: new ort.Tensor('float32', input.data, input.dims), ...input.resized };
}

interface Prompt {
  points: [number, number, number][]; // x, y in original pixels, label
  maskInput?: Float32Array;
}

let encoder: ort.InferenceSession;
let decoder: ort.InferenceSession;

beforeAll(async () => {
  const graphs = buildDemoSegmenter();
  encoder = await ort.InferenceSession.create(graphs.encoder, { intraOpNumThreads: 2 });
  decoder = await ort.InferenceSession.create(graphs.decoder, { intraOpNumThreads: 2 });
});

afterAll(async () => {
  await encoder?.release();
  await decoder?.release();
});

async function embed(image: RgbImage) {
  const input = encoderInput(image);
  const out = await encoder.run({ image: input.tensor });
  return { embeddings: out.image_embeddings, frame: input };
}

/** Runs the decoder with feeds built as the official contract says (padding point appended without a box). */
async function decode(image: RgbImage, embedded: Awaited<ReturnType<typeof embed>>, prompt: Prompt) {
  const points = [...prompt.points];
  if (!points.some(([, , label]) => label === 2 || label === 3)) points.push([0, 0, -1]);
  const sx = embedded.frame.width / image.width;
  const sy = embedded.frame.height / image.height;
  const coords = new Float32Array(
    points.flatMap(([x, y, label]) => (label === -1 ? [0, 0] : [x * sx, y * sy])),
  );
  const labels = new Float32Array(points.map(([, , label]) => label));
  return decoder.run({
    image_embeddings: embedded.embeddings,
    point_coords: new ort.Tensor('float32', coords, [1, points.length, 2]),
    point_labels: new ort.Tensor('float32', labels, [1, points.length]),
    mask_input: new ort.Tensor('float32', prompt.maskInput ?? new Float32Array(256 * 256), [1, 1, 256, 256]),
    has_mask_input: new ort.Tensor('float32', new Float32Array([prompt.maskInput ? 1 : 0]), [1]),
    orig_im_size: new ort.Tensor('float32', new Float32Array([image.height, image.width]), [2]),
  });
}

function maskOf(output: ort.InferenceSession.OnnxValueMapType, index: number, image: RgbImage): BinaryMask {
  const plane = image.width * image.height;
  const logits = (output.masks.data as Float32Array).subarray(index * plane, (index + 1) * plane);
  return { width: image.width, height: image.height, data: Uint8Array.from(logits, (v) => (v > 0 ? 1 : 0)) };
}

function iou(a: BinaryMask, b: BinaryMask): number {
  let intersection = 0;
  let union = 0;
  for (let i = 0; i < a.data.length; i += 1) {
    if (a.data[i] && b.data[i]) intersection += 1;
    if (a.data[i] || b.data[i]) union += 1;
  }
  return union === 0 ? 0 : intersection / union;
}

/** A pixel of the object near its bbox centre (the first mask pixel in reading order when the centre is outside). */
function pointInside(object: SceneObject): [number, number] {
  const { width, data } = object.mask;
  const [x, y, w, h] = object.bbox;
  const cx = Math.floor(x + w / 2);
  const cy = Math.floor(y + h * 0.6);
  if (data[cy * width + cx]) return [cx + 0.5, cy + 0.5];
  for (let yy = y; yy < y + h; yy += 1)
    for (let xx = x; xx < x + w; xx += 1) if (data[yy * width + xx]) return [xx + 0.5, yy + 0.5];
  throw new Error('empty object mask');
}

function bestMultimask(output: ort.InferenceSession.OnnxValueMapType): number {
  const scores = output.iou_predictions.data as Float32Array;
  let best = 1;
  for (let k = 2; k <= 3; k += 1) if (scores[k] > scores[best]) best = k;
  return best;
}

describe('demo segmenter', () => {
  it('declares the official SAM decoder inputs and outputs', () => {
    expect(encoder.inputNames).toEqual(['image']);
    expect(encoder.outputNames).toEqual(['image_embeddings']);
    expect(decoder.inputNames).toEqual([
      'image_embeddings',
      'point_coords',
      'point_labels',
      'mask_input',
      'has_mask_input',
      'orig_im_size',
    ]);
    expect(decoder.outputNames).toEqual(['masks', 'iou_predictions', 'low_res_masks']);
  });

  it('builds byte-identical graphs', () => {
    const again = buildDemoSegmenter();
    const first = buildDemoSegmenter();
    expect(Buffer.from(again.encoder).equals(Buffer.from(first.encoder))).toBe(true);
    expect(Buffer.from(again.decoder).equals(Buffer.from(first.decoder))).toBe(true);
  });

  it('segments the object under a prompt point with IoU ≥ 0.9 for at least 95 % of objects', async () => {
    let objects = 0;
    let good = 0;
    let sum = 0;
    for (let index = 0; index < 10; index += 1) {
      const { image, truth } = renderScene(2024, index);
      const embedded = await embed(image);
      expect(embedded.embeddings.dims).toEqual([1, DEMO_EMBEDDING_CHANNELS, 64, 64]);
      for (const object of truth.objects) {
        const [x, y] = pointInside(object);
        const out = await decode(image, embedded, { points: [[x, y, 1]] });
        expect(out.masks.dims).toEqual([1, 4, image.height, image.width]);
        expect(out.iou_predictions.dims).toEqual([1, 4]);
        expect(out.low_res_masks.dims).toEqual([1, 4, 256, 256]);
        const value = iou(maskOf(out, bestMultimask(out), image), object.mask);
        objects += 1;
        sum += value;
        if (value >= 0.9) good += 1;
      }
    }
    console.log(
      `demo segmenter: ${good}/${objects} objects with IoU ≥ 0.9 (${((100 * good) / objects).toFixed(1)} %), mean IoU ${(sum / objects).toFixed(3)}`,
    );
    expect(good / objects).toBeGreaterThanOrEqual(0.95);
  });

  it('gives a point on the background a low predicted IoU and a mask that touches the border', async () => {
    const { image, truth } = renderScene(5, 1);
    const embedded = await embed(image);
    const out = await decode(image, embedded, { points: [[3, 3, 1]] });
    const scores = Array.from(out.iou_predictions.data as Float32Array);
    expect(Math.max(...scores)).toBeLessThan(0.5);
    const mask = maskOf(out, 2, image);
    expect(mask.data[0]).toBe(1);
    for (const object of truth.objects) expect(iou(mask, object.mask)).toBeLessThan(0.01);
    const objectOut = await decode(image, embedded, { points: [[...pointInside(truth.objects[0]), 1]] });
    const objectScores = Array.from(objectOut.iou_predictions.data as Float32Array);
    expect(objectScores[0]).toBeCloseTo(0.96, 5);
    expect(objectScores[2]).toBeGreaterThan(0.88);
    expect(objectScores[1]).toBeLessThan(objectScores[2]);
    expect(objectScores[3]).toBeLessThan(objectScores[2]);
  });

  it('post-processes as the official graph: upsample to 1024, crop the padding, resize to orig_im_size', async () => {
    const { image, truth } = renderScene(5, 5);
    const embedded = await embed(image);
    const out = await decode(image, embedded, { points: [[...pointInside(truth.objects[0]), 1]] });
    const low = out.low_res_masks.data as Float32Array;
    const scale = 1024 / Math.max(image.width, image.height);
    const prePadding = {
      width: Math.floor(image.width * scale + 0.5),
      height: Math.floor(image.height * scale + 0.5),
    };
    const up = resizeBilinearChw(low, 4, { width: 256, height: 256 }, { width: 1024, height: 1024 });
    const cropped = new Float32Array(4 * prePadding.width * prePadding.height);
    for (let c = 0; c < 4; c += 1) {
      for (let y = 0; y < prePadding.height; y += 1) {
        for (let x = 0; x < prePadding.width; x += 1) {
          cropped[(c * prePadding.height + y) * prePadding.width + x] = up[(c * 1024 + y) * 1024 + x];
        }
      }
    }
    const expected = resizeBilinearChw(cropped, 4, prePadding, { width: image.width, height: image.height });
    const masks = out.masks.data as Float32Array;
    let worst = 0;
    for (let i = 0; i < expected.length; i += 1) worst = Math.max(worst, Math.abs(expected[i] - masks[i]));
    expect(worst).toBeLessThan(1e-3); // float32 rounding on logits of magnitude ≤ 8
  });

  it('returns nested multimask hypotheses: eroded ⊂ object ⊂ dilated', async () => {
    const { image, truth } = renderScene(5, 2);
    const embedded = await embed(image);
    const out = await decode(image, embedded, { points: [[...pointInside(truth.objects[0]), 1]] });
    const [eroded, object, dilated] = [1, 2, 3].map((k) => maskOf(out, k, image));
    const count = (m: BinaryMask) => m.data.reduce((a, v) => a + v, 0);
    expect(count(eroded)).toBeLessThan(count(object));
    expect(count(object)).toBeLessThan(count(dilated));
    expect(iou(eroded, object)).toBeCloseTo(count(eroded) / count(object), 6);
    expect(iou(object, dilated)).toBeCloseTo(count(object) / count(dilated), 6);
  });

  it('unites two foreground points, removes background points and keeps a previous mask_input', async () => {
    const { image, truth } = renderScene(5, 3);
    const embedded = await embed(image);
    const [a, b] = truth.objects;
    const both = await decode(image, embedded, {
      points: [
        [...pointInside(a), 1],
        [...pointInside(b), 1],
      ],
    });
    const union: BinaryMask = { ...a.mask, data: a.mask.data.map((v, i) => v | b.mask.data[i]) };
    expect(iou(maskOf(both, 0, image), union)).toBeGreaterThan(0.9);

    const removed = await decode(image, embedded, {
      points: [
        [...pointInside(a), 1],
        [...pointInside(a), 0],
      ],
    });
    expect(maskOf(removed, 0, image).data.reduce((s, v) => s + v, 0)).toBe(0);

    const first = await decode(image, embedded, { points: [[...pointInside(a), 1]] });
    const previous = (first.low_res_masks.data as Float32Array).slice(0, 256 * 256);
    const refined = await decode(image, embedded, { points: [[...pointInside(b), 1]], maskInput: previous });
    expect(iou(maskOf(refined, 0, image), union)).toBeGreaterThan(0.9);
  });

  it('segments the object inside a box prompt (labels 2 and 3, no padding point)', async () => {
    const { image, truth } = renderScene(5, 4);
    const embedded = await embed(image);
    const object = truth.objects[truth.objects.length - 1];
    const [x, y, w, h] = object.bbox;
    const out = await decode(image, embedded, {
      points: [
        [x, y, 2],
        [x + w, y + h, 3],
      ],
    });
    expect(iou(maskOf(out, 0, image), object.mask)).toBeGreaterThan(0.9);
  });
});
