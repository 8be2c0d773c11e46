import { describe, expect, it } from 'vitest';
import { buildKeptIndex } from '../../../shared/decide.ts';
import { histogram, keptShareCurve } from './tau.ts';

describe('the kept-share curve', () => {
  const columns = (dos: number[], maskCounts = [2]) => ({
    image: new Int32Array(dos.length),
    mask: Int32Array.from(dos, (_, k) => k % 2),
    cos: new Float64Array(dos.length).fill(20),
    dos: Float64Array.from(dos),
    review: new Int8Array(dos.length),
    maskCounts: Int32Array.from(maskCounts),
  });
  const policy = { singleMask: 'keep-all', singleMaskShare: 0.5, emptyMask: 'drop', seed: 0 } as const;

  it('gives the kept share per τ (DoS > τ) and zeros for an empty project', () => {
    const curve = keptShareCurve(buildKeptIndex(columns([1, 2, 3, 4]), policy), [0, 1.5, 3.5, 5]);
    expect(Array.from(curve)).toEqual([1, 0.75, 0.25, 0]);
    expect(Array.from(keptShareCurve(buildKeptIndex(columns([], []), policy), [1]))).toEqual([0]);
  });

  it('follows the empty-mask policy: keep-best holds one candidate per mask at any τ', () => {
    const curve = keptShareCurve(
      buildKeptIndex(columns([1, 2, 3, 4]), { ...policy, emptyMask: 'keep-best' }),
      [0, 3.5, 5],
    );
    expect(Array.from(curve)).toEqual([1, 0.5, 0.5]);
  });
});

describe('histogram', () => {
  it('bins values and clamps out-of-range ones to the end bins', () => {
    const h = histogram([-1, 0, 0.49, 0.5, 0.99, 1, 7, Infinity], { min: 0, max: 1, bins: 2 });
    expect(Array.from(h.counts)).toEqual([3, 5]);
    expect(h.edges[1]).toBeCloseTo(0.5);
  });

  it('rejects a bad bin count or an empty range', () => {
    expect(() => histogram([1], { min: 0, max: 1, bins: 0 })).toThrow(
      'histogram: bins must be a positive integer, got 0',
    );
    expect(() => histogram([1], { min: 1, max: 1, bins: 3 })).toThrow(
      'histogram: max (1) must be greater than min (1)',
    );
  });
});
