/**
 * The batched decoder path, on a real ONNX graph whose prompt batch dimension is symbolic (the official export's is
 * fixed at 1, so the demo pack never takes this path).
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { attr, GraphBuilder } from '../demo/onnx-builder.ts';
import type { ModelSession } from '../runtime/index.ts';
import { SamModel } from './model.ts';

/**
 * A decoder with batch dim 'B': iou = [Σ labels + x of the first point] × 4; low_res = mask_input·has_mask_input × 4;
 * masks = low_res resized to orig_im_size.
 */
function batchDecoder(): Uint8Array {
  const g = new GraphBuilder('batch_decoder');
  g.input('image_embeddings', 'float32', [1, 3, 64, 64]);
  const coords = g.input('point_coords', 'float32', ['B', 'N', 2]);
  const labels = g.input('point_labels', 'float32', ['B', 'N']);
  const maskInput = g.input('mask_input', 'float32', ['B', 1, 256, 256]);
  const hasMask = g.input('has_mask_input', 'float32', ['B']);
  const size = g.input('orig_im_size', 'float32', [2]);
  const low = g.op('Mul', [maskInput, g.op('Reshape', [hasMask, g.ints([-1, 1, 1, 1])])]);
  const low4 = g.op('Concat', [low, low, low, low], { axis: attr.int(1) });
  const batch = g.op('Slice', [g.op('Shape', [maskInput]), g.ints([0]), g.ints([1])]);
  const sizes = g.op('Concat', [batch, g.ints([4]), g.op('Cast', [size], { to: attr.int(7) })], {
    axis: attr.int(0),
  });
  const masks = g.op('Resize', [low4, '', '', sizes], { mode: attr.string('linear') });
  const firstX = g.op('Reshape', [
    g.op('Slice', [coords, g.ints([0, 0]), g.ints([1, 1]), g.ints([1, 2])]),
    g.ints([-1, 1]),
  ]);
  const score = g.op('Add', [g.op('ReduceSum', [labels, g.ints([1])], { keepdims: attr.int(1) }), firstX]);
  const iou = g.op('Expand', [score, g.op('Concat', [batch, g.ints([4])], { axis: attr.int(0) })]);
  g.output(masks, 'float32', ['B', 4, 'H', 'W'], 'masks');
  g.output(iou, 'float32', ['B', 4], 'iou_predictions');
  g.output(low4, 'float32', ['B', 4, 256, 256], 'low_res_masks');
  return g.toModel();
}

/** The few members of a runtime session that SamModel uses, over a real onnxruntime session. */
function asModelSession(
  session: ort.InferenceSession,
  role: 'segmenter.encoder' | 'segmenter.decoder',
): ModelSession {
  const inputs: Record<string, ModelSession['inputs'][string]> = {};
  for (const m of session.inputMetadata)
    if (m.isTensor) inputs[m.name] = { graphName: m.name, dtype: m.type, shape: [...m.shape] };
  const stats = { runs: 0, milliseconds: 0 };
  return {
    role,
    inputs,
    stats,
    run: async (feeds: Record<string, ort.Tensor>) => {
      stats.runs++;
      return (await session.run(feeds)) as Record<string, ort.Tensor>;
    },
  } as unknown as ModelSession;
}

describe('batched decoding', () => {
  it('decodes prompts in batches grouped by point count and returns them in input order', async () => {
    const session = await ort.InferenceSession.create(batchDecoder());
    const decoder = asModelSession(session, 'segmenter.decoder');
    const model = new SamModel(decoder, decoder);
    expect(model.batchable).toBe(true);
    const size = { width: 1024, height: 512 };
    const embeddings = new ort.Tensor('float32', new Float32Array(3 * 64 * 64), [1, 3, 64, 64]);
    const previous = new Float32Array(256 * 256).fill(2);
    const prompts = [
      { points: [{ x: 10, y: 0, label: 1 as const }] },
      {
        points: [
          { x: 20, y: 0, label: 1 as const },
          { x: 5, y: 5, label: 0 as const },
        ],
      },
      { points: [{ x: 30, y: 0, label: 1 as const }], maskInput: previous },
      { points: [{ x: 40, y: 0, label: 1 as const }] },
    ];
    const decoded = await model.decode(embeddings, size, prompts, 2);
    // Point counts (with the padding point): 2, 3, 2, 2 → batches [0, 2], [3], [1].
    expect(decoder.stats.runs).toBe(3);
    expect(model.stats().decoderRuns).toBe(3);
    // iou = Σ labels (1 + padding −1 = 0, or 1 + 0 − 1 = 0) + first x in the 1024 frame (x unchanged: width 1024).
    expect(decoded.map((d) => d.iou[0])).toEqual([10, 20, 30, 40]);
    expect(decoded.map((d) => d.count)).toEqual([4, 4, 4, 4]);
    expect(decoded[2].lowRes[0]).toBe(2); // the previous mask went to its own prompt only
    expect(decoded[0].lowRes[0]).toBe(0);
    expect(decoded[2].masks.length).toBe(4 * 512 * 1024);
  });
});
