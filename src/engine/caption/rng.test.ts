import { describe, expect, it } from 'vitest';
import { drawFromWeights, hash128, streamFor, xoshiro128 } from './rng.ts';

describe('xoshiro128**', () => {
  it('matches the reference C implementation for state 1, 2, 3, 4 (hand-computed first outputs)', () => {
    // rotl(2·5, 7)·9 = 11520; then s1 becomes 0 → 0; then rotl(1029·5, 7)·9 = 5927040.
    const random = xoshiro128([1, 2, 3, 4]);
    expect([random.nextUint32(), random.nextUint32(), random.nextUint32()]).toEqual([11520, 0, 5927040]);
  });

  it('rejects an all-zero state', () => {
    expect(() => xoshiro128([0, 0, 0, 0])).toThrow('must not be all zero');
  });

  it('gives uniforms in [0, 1) with a plausible mean', () => {
    const random = streamFor(7, 'mean');
    let sum = 0;
    let outside = 0;
    for (let i = 0; i < 20000; i++) {
      const u = random.uniform();
      if (!(u >= 0 && u < 1)) outside++;
      sum += u;
    }
    expect(outside).toBe(0);
    expect(sum / 20000).toBeCloseTo(0.5, 1);
  });
});

describe('streams', () => {
  it('reproduce the same numbers for the same seed and name', () => {
    const a = streamFor(42, 'img|mask0|masked|top-k-5');
    const b = streamFor(42, 'img|mask0|masked|top-k-5');
    expect([a.uniform(), a.uniform()]).toEqual([b.uniform(), b.uniform()]);
  });

  it('differ between names and between seeds', () => {
    const first = streamFor(42, 'img|mask0|masked|top-k-5').uniform();
    expect(streamFor(42, 'img|mask1|masked|top-k-5').uniform()).not.toBe(first);
    expect(streamFor(43, 'img|mask0|masked|top-k-5').uniform()).not.toBe(first);
  });

  it('hash the name into four 32-bit words', () => {
    const words = hash128('abc');
    expect(words).toHaveLength(4);
    for (const word of words) expect(Number.isInteger(word) && word >= 0 && word < 2 ** 32).toBe(true);
    expect(hash128('abc')).toEqual(words);
    expect(hash128('abd')).not.toEqual(words);
  });

  it('rejects a seed that is not a safe integer', () => {
    expect(() => streamFor(1.5, 'x')).toThrow('seed must be a safe integer, got 1.5');
  });
});

describe('multinomial draw over unnormalized weights', () => {
  const weights = Float64Array.from([0, 1, 0, 3]);
  const ids = Int32Array.from([0, 1, 2, 3]);

  it('picks the first id whose cumulative weight exceeds u · total', () => {
    // total 4: u·4 < 1 → id 1; otherwise id 3.
    expect(drawFromWeights(weights, ids, 0)).toBe(1);
    expect(drawFromWeights(weights, ids, 0.2499)).toBe(1);
    expect(drawFromWeights(weights, ids, 0.25)).toBe(3);
    expect(drawFromWeights(weights, ids, 0.999999)).toBe(3);
  });

  it('never picks a zero-weight id', () => {
    for (let u = 0; u < 1; u += 0.01) expect([1, 3]).toContain(drawFromWeights(weights, ids, u));
  });

  it('rejects weights that sum to zero and negative weights', () => {
    expect(() => drawFromWeights([0, 0], [0, 1], 0.5)).toThrow('sampling weights sum to 0');
    expect(() => drawFromWeights([1, -1], [0, 1], 0.5)).toThrow('weight of token 1 is -1');
  });

  it('rejects a uniform outside [0, 1)', () => {
    expect(() => drawFromWeights(weights, ids, 1)).toThrow('uniform must be in [0, 1), got 1');
  });
});
