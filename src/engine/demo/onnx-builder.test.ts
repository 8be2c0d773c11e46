import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { GraphBuilder, attr } from './onnx-builder.ts';

describe('GraphBuilder', () => {
  it('builds a graph that onnxruntime runs with the declared metadata', async () => {
    const g = new GraphBuilder('affine');
    const x = g.input('x', 'float32', ['B', 3]);
    const scaled = g.op('Mul', [x, g.floats([2, 2, 2], [3])]);
    const summed = g.op('ReduceSum', [scaled, g.ints([1])], { keepdims: attr.int(0) });
    g.output(summed, 'float32', ['B'], 'y');
    const session = await ort.InferenceSession.create(g.toModel());
    try {
      expect(session.inputNames).toEqual(['x']);
      expect(session.outputNames).toEqual(['y']);
      const out = await session.run({
        x: new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]),
      });
      expect(Array.from(out.y.data as Float32Array)).toEqual([12, 30]);
      expect(out.y.dims).toEqual([2]);
    } finally {
      await session.release();
    }
  });

  it('encodes deterministically', () => {
    const build = () => {
      const g = new GraphBuilder('same');
      g.output(g.op('Relu', [g.input('x', 'float32', [1])]), 'float32', [1], 'y');
      return g.toModel();
    };
    expect(Buffer.from(build()).equals(Buffer.from(build()))).toBe(true);
  });

  it('refuses a constant whose values do not fill its dims', () => {
    const g = new GraphBuilder('bad');
    expect(() => g.floats([1, 2, 3], [2, 2])).toThrow('3 values for dims [2, 2] (4)');
  });
});
