import { describe, expect, it } from 'vitest';
import { numpyArgsort } from './numpy-argsort.ts';
// np.argsort over float64 arrays full of ties (and a NaN or two), written by numpy 2.4.6 with its SIMD argsort off
import golden from './testdata/numpy-argsort-golden.json' with { type: 'json' };

describe('numpyArgsort', () => {
  it('gives the permutation numpy’s generic introsort gives, ties included', () => {
    expect(golden.cases.length).toBeGreaterThan(100);
    for (const { values, argsort } of golden.cases as Array<{
      values: Array<number | null>;
      argsort: number[];
    }>)
      expect(numpyArgsort(values.map((v) => (v === null ? Number.NaN : v)))).toEqual(argsort);
  });

  it('is not a stable sort: equal values leave their input order past 16 elements', () => {
    const values = Array.from({ length: 17 }, () => 1);
    expect(numpyArgsort(values)).not.toEqual(values.map((_, i) => i));
    expect(numpyArgsort([1, 1, 1])).toEqual([0, 1, 2]);
    expect(numpyArgsort([])).toEqual([]);
  });
});
