import { describe, expect, it } from 'vitest';
import { cosine, distinctiveness, maxOthers, scoreCandidate, theta, uniqueness } from './scores.ts';

describe('cosine and theta', () => {
  it('computes 100·cos of unnormalized vectors', () => {
    // (3,4)·(4,3) = 24; |a||b| = 25 → cos 0.96
    expect(cosine([3, 4], [4, 3])).toBeCloseTo(0.96);
    expect(theta([3, 4], [4, 3])).toBeCloseTo(96);
    expect(theta([1, 0], [-1, 0], 50)).toBeCloseTo(-50);
  });
  it('returns 0 for a zero vector and rejects mismatched lengths', () => {
    expect(cosine([0, 0], [1, 2])).toBe(0);
    expect(() => cosine([1], [1, 2])).toThrow('vectors differ in length (1 vs 2)');
  });
});

describe('UoS / CoS / DoS (golden, hand-checked)', () => {
  // three masks; θ(crop_j, y) = [30, 20, 25], CoS_j = θ(masked_j, prompt) = [28, 22, 30]
  const cropTheta = [30, 20, 25];
  const correctness = [28, 22, 30];

  it('gives UoS = 30 / max(20, 25) = 1.2 for mask 0', () => {
    expect(uniqueness(cropTheta, 0)).toBeCloseTo(1.2);
  });
  it('gives UoS = 20 / 30 for mask 1', () => {
    expect(uniqueness(cropTheta, 1)).toBeCloseTo(0.666667);
  });
  it('gives DoS = 28·30 / max(22·20, 30·25) = 840 / 750 = 1.12, confused with mask 2', () => {
    const result = distinctiveness(correctness, cropTheta, 0);
    expect(result.dos).toBeCloseTo(1.12);
    expect(result.confusedWith).toBe(2);
  });
  it('gives DoS = 440 / 840 for mask 1, confused with mask 0', () => {
    const result = scoreCandidate(correctness, cropTheta, 1);
    expect(result.dos).toBeCloseTo(0.52381);
    expect(result.confusedWith).toBe(0);
    expect(result.cos).toBe(22);
    expect(result.theta).toBe(20);
  });
  it('reports the lowest index among tied maxima', () => {
    expect(maxOthers([10, 5, 5], 0)).toEqual({ value: 5, index: 1 });
    const result = scoreCandidate([1, 1, 1], [10, 5, 5], 0);
    expect(result.uos).toBeCloseTo(2);
    expect(result.dos).toBeCloseTo(2);
    expect(result.confusedWith).toBe(1);
  });
  it('takes the ratio as written when θ is negative', () => {
    // UoS = −5 / −10 = 0.5; products [−10, −30]: the max over others is −30 → DoS = −10 / −30
    const result = scoreCandidate([2, 3], [-5, -10], 0);
    expect(result.uos).toBeCloseTo(0.5);
    expect(result.dos).toBeCloseTo(0.333333);
    expect(result.confusedWith).toBe(1);
  });
  it('has no ratio for a single-mask image', () => {
    const result = scoreCandidate([27], [31], 0);
    expect(result).toEqual({ theta: 31, cos: 27, uos: null, dos: null, confusedWith: null });
  });
  it('has no ratio when the denominator is zero', () => {
    expect(uniqueness([5, 0], 0)).toBeNull();
    expect(distinctiveness([1, 0], [5, 7], 0)).toEqual({ dos: null, confusedWith: 1 });
  });
  it('rejects an out-of-range mask index and mismatched rows', () => {
    expect(() => uniqueness([1, 2], 2)).toThrow('mask index 2 is out of range 0..1');
    expect(() => distinctiveness([1, 2, 3], [1, 2], 0)).toThrow('correctness has 3 masks, cropTheta 2');
  });
});
