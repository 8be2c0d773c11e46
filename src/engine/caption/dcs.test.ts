import { describe, expect, it } from 'vitest';
import { aggregateLogits, aggregationFactors, cosineRow, drawToken, samplingStep, valueAt } from './dcs.ts';

const row = (...values: number[]) => Float64Array.from(values);
const ids = (...values: number[]) => Int32Array.from(values);

describe('similarities', () => {
  it('are cosines of the latents, including negative ones', () => {
    // latents: (1,0), (0,2), (-3,0), (1,1)
    const latents = Float32Array.from([1, 0, 0, 2, -3, 0, 1, 1]);
    const s = cosineRow(latents, 4, 2, 0);
    expect(s[0]).toBeCloseTo(1, 12);
    expect(s[1]).toBeCloseTo(0, 12);
    expect(s[2]).toBeCloseTo(-1, 12);
    expect(s[3]).toBeCloseTo(Math.SQRT1_2, 7);
  });

  it('reject a latent buffer of the wrong size', () => {
    expect(() => cosineRow(new Float32Array(5), 2, 2, 0)).toThrow('image_latent has 5 values, expected 2×2');
  });
});

describe('aggregation', () => {
  it('mean multiplies each other by s_ij / m', () => {
    expect(Array.from(aggregationFactors([0.5, -0.25], 'mean'))).toEqual([0.25, -0.125]);
  });

  it('weighted sum uses w_ij = s_ij / Σ s_ij', () => {
    expect(Array.from(aggregationFactors([0.5, 0.25, 0.25], 'weighted-sum'))).toEqual([0.5, 0.25, 0.25]);
    // Σ = 0.5: w = (1.5, −0.5)
    expect(Array.from(aggregationFactors([0.75, -0.25], 'weighted-sum'))).toEqual([1.5, -0.5]);
  });

  it('weighted sum with Σ s_ij = 0 is an error', () => {
    expect(() => aggregationFactors([0.5, -0.5], 'weighted-sum')).toThrow('the similarities sum to 0');
  });

  it('o = Σ factor_j · z_j', () => {
    const o = aggregateLogits([row(2, 4), row(-2, 8)], [0.25, -0.125]);
    // 0.25·2 − 0.125·(−2) = 0.75; 0.25·4 − 0.125·8 = 0
    expect(Array.from(o)).toEqual([0.75, 0]);
  });
});

describe('DCS step (hand-checked, DESIGN.md §5)', () => {
  // Vocabulary: 0 "red", 1 "blue", 2 "circle", 3 eot. Target processed logits z_i:
  const target = row(2, 2, 1, 0);
  const eot = 3;

  it('with a negative similarity the other crop pushes its tokens up, not down', () => {
    // one other crop j, s_ij = −0.5, z_j = (4, 0, 0, 0); mean over m = 1 → o = (−2, 0, 0, 0)
    const o = aggregateLogits([row(4, 0, 0, 0)], aggregationFactors([-0.5], 'mean'));
    const kept = ids(0, 1, 2, 3);
    const step = samplingStep({ processed: target, kept, temperature: 1, eot, aggregate: o });
    // c = (4, 2, 1, 0); softmax(c) = e^c / (e^4 + e^2 + e + 1)
    const denominator = Math.exp(4) + Math.exp(2) + Math.E + 1;
    expect(Array.from(step.calibrated!)).toEqual([4, 2, 1, 0]);
    expect(step.weights[0]).toBeCloseTo(Math.exp(4) / denominator, 12);
    expect(step.weights[1]).toBeCloseTo(Math.exp(2) / denominator, 12);
  });

  it('restores p[eot] from the uncalibrated restricted distribution and leaves the weights unnormalized', () => {
    const o = aggregateLogits([row(4, 0, 0, 0)], aggregationFactors([0.5], 'mean')); // o = (2, 0, 0, 0)
    const kept = ids(0, 1, 2, 3);
    const step = samplingStep({ processed: target, kept, temperature: 1, eot, aggregate: o });
    // c = (0, 2, 1, 0): softmax(c)[eot] = 1 / (1 + e^2 + e + 1)
    const calibratedDenominator = 2 + Math.exp(2) + Math.E;
    // naive = softmax(2, 2, 1, 0): eot = 1 / (2e^2 + e + 1)
    const naiveDenominator = 2 * Math.exp(2) + Math.E + 1;
    expect(step.eotRestored!.calibrated).toBeCloseTo(1 / calibratedDenominator, 12);
    expect(step.eotRestored!.restored).toBeCloseTo(1 / naiveDenominator, 12);
    expect(step.weights[eot]).toBeCloseTo(1 / naiveDenominator, 12);
    expect(step.weights[1]).toBeCloseTo(Math.exp(2) / calibratedDenominator, 12);
    const expectedSum = (1 + Math.exp(2) + Math.E) / calibratedDenominator + 1 / naiveDenominator;
    expect(step.weightSum).toBeCloseTo(expectedSum, 12);
    expect(step.weightSum).not.toBeCloseTo(1, 3);
  });

  it('gives tokens outside the kept set weight 0 even when calibration would favour them', () => {
    // V = top-2 = {0, 1}; the other crop strongly dislikes "circle" but circle stays out.
    const kept = ids(0, 1);
    const o = aggregateLogits([row(0, 0, -10, 0)], aggregationFactors([1], 'mean'), kept);
    const step = samplingStep({ processed: target, kept, temperature: 1, eot, aggregate: o });
    expect(valueAt(step.weights, kept, 2, 0)).toBe(0);
    expect(valueAt(step.calibrated!, kept, 2, -Infinity)).toBe(-Infinity);
    expect(step.eotRestored).toBeNull();
    expect(valueAt(step.weights, kept, 0, 0)).toBeCloseTo(0.5, 12);
  });

  it('plain sampling (no aggregate, the n = 1 and n > 30 fallbacks) draws from the restricted softmax', () => {
    const step = samplingStep({
      processed: target,
      kept: ids(0, 1, 2),
      temperature: 1,
      eot,
      aggregate: null,
    });
    const denominator = 2 * Math.exp(2) + Math.E;
    expect(step.calibrated).toBeNull();
    expect(step.weights[2]).toBeCloseTo(Math.E / denominator, 12);
    expect(step.weightSum).toBeCloseTo(1, 12);
  });

  it('weighted-sum aggregation calibrates with Σ w_ij z_j', () => {
    // s = (0.75, −0.25) → w = (1.5, −0.5); z_j rows → o = 1.5·(1,0,0,0) − 0.5·(0,2,0,0) = (1.5, −1, 0, 0)
    const o = aggregateLogits(
      [row(1, 0, 0, 0), row(0, 2, 0, 0)],
      aggregationFactors([0.75, -0.25], 'weighted-sum'),
      ids(0, 1),
    );
    const step = samplingStep({ processed: target, kept: ids(0, 1), temperature: 1, eot, aggregate: o });
    expect(Array.from(step.calibrated!.slice(0, 2))).toEqual([0.5, 3]);
    expect(step.weights[1]).toBeCloseTo(Math.exp(3) / (Math.exp(3) + Math.exp(0.5)), 12);
  });

  it('temperature divides the calibrated logits', () => {
    const o = row(1, 0); // o on V = {0, 1}: c = (−1, 2)
    const step = samplingStep({
      processed: row(0, 2, 0, 0),
      kept: ids(0, 1),
      temperature: 2,
      eot,
      aggregate: o,
    });
    // weights ∝ e^(−1/2), e^(2/2)
    expect(step.weights[1]).toBeCloseTo(Math.exp(1.5) / (1 + Math.exp(1.5)), 12);
  });

  it('falls back to the naive distribution when the calibrated weights are not a usable distribution', () => {
    // An aggregate of −∞ makes c = +∞ on a kept token: softmax gives NaN, so the sum is not finite (reference: sum ≤ 0
    // → original probabilities).
    const step = samplingStep({
      processed: target,
      kept: ids(0, 1),
      temperature: 1,
      eot,
      aggregate: row(-Infinity, 0),
    });
    expect(step.fellBack).toBe(true);
    expect(step.weights[0]).toBeCloseTo(0.5, 12);
    expect(step.weightSum).toBeCloseTo(1, 12);
  });

  it('draws with one uniform in ascending-id order of V', () => {
    const step = samplingStep({ processed: target, kept: ids(0, 1), temperature: 1, eot, aggregate: null });
    expect(drawToken(step, 0.49)).toBe(0);
    expect(drawToken(step, 0.51)).toBe(1);
  });
});
