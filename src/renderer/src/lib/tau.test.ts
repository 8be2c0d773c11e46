import { describe, expect, it } from 'vitest';
import { histogram } from './tau.ts';

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
