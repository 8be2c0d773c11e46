import { describe, expect, it } from 'vitest';
import { buildDosIndex, histogram, isKept, keptCount, keptShareCurve } from './tau.ts';

describe('τ filtering from stored DoS', () => {
  it('keeps only candidates whose DoS is strictly greater than τ', () => {
    const index = buildDosIndex([0.9, 1.3, 1.31, 2, Infinity]);
    expect(keptCount(index, 1.3)).toBe(3);
    expect(keptCount(index, 0)).toBe(5);
    expect(keptCount(index, 2)).toBe(1);
    expect(isKept(1.3, 1.3)).toBe(false);
    expect(isKept(1.31, 1.3)).toBe(true);
  });

  it('counts single-mask candidates (no DoS) apart from the scored ones', () => {
    const index = buildDosIndex([null, 1.5, undefined, Number.NaN, 1.0]);
    expect(index.singleMask).toBe(3);
    expect(index.sorted.length).toBe(2);
    expect(keptCount(index, 1.3)).toBe(1);
    expect(isKept(null, 1.3)).toBeNull();
  });

  it('agrees with a linear scan on 10,000 random candidates at every τ step', () => {
    let state = 12345;
    const random = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648);
    const scores = Array.from({ length: 10_000 }, () => random() * 3);
    const index = buildDosIndex(scores);
    for (let tau = 0; tau <= 3; tau += 0.05) {
      const expected = scores.filter((s) => s > tau).length;
      expect(keptCount(index, tau)).toBe(expected);
    }
  });

  it('gives the kept share per τ and zeros for an empty project', () => {
    const curve = keptShareCurve(buildDosIndex([1, 2, 3, 4]), [0, 1.5, 3.5, 5]);
    expect(Array.from(curve)).toEqual([1, 0.75, 0.25, 0]);
    expect(Array.from(keptShareCurve(buildDosIndex([]), [1]))).toEqual([0]);
  });

  it('rejects a NaN τ with a message naming it', () => {
    expect(() => keptCount(buildDosIndex([1]), Number.NaN)).toThrow('keptCount: tau must be a number, got NaN');
  });
});

describe('histogram', () => {
  it('bins values and clamps out-of-range ones to the end bins', () => {
    const h = histogram([-1, 0, 0.49, 0.5, 0.99, 1, 7, Infinity], { min: 0, max: 1, bins: 2 });
    expect(Array.from(h.counts)).toEqual([3, 5]);
    expect(h.edges[1]).toBeCloseTo(0.5);
  });

  it('rejects a bad bin count or an empty range', () => {
    expect(() => histogram([1], { min: 0, max: 1, bins: 0 })).toThrow('histogram: bins must be a positive integer, got 0');
    expect(() => histogram([1], { min: 1, max: 1, bins: 3 })).toThrow('histogram: max (1) must be greater than min (1)');
  });
});
