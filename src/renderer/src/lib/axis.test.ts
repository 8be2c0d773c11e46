import { describe, expect, it } from 'vitest';
import { niceScale, tickLabel } from './axis.ts';

describe('nice value axes', () => {
  it('covers −4.39 … −0.01 with whole-number ticks from −5 to 0', () => {
    const scale = niceScale(-4.39, -0.01);
    expect(scale).toEqual({ floor: -5, ceiling: 0, step: 1, ticks: [-5, -4, -3, -2, -1, 0] });
  });

  it('uses a 0.2 step for −0.86 … 0, so the two values do not look nearly equal', () => {
    const scale = niceScale(-0.86, 0);
    expect(scale.step).toBeCloseTo(0.2);
    expect(scale.floor).toBeCloseTo(-1);
    expect(scale.ticks).toEqual([-1, -0.8, -0.6, -0.4, -0.2, 0]);
  });

  it('spans probabilities from 0 with a 0.1 step', () => {
    expect(niceScale(0, 0.38)).toEqual({ floor: 0, ceiling: 0.4, step: 0.1, ticks: [0, 0.1, 0.2, 0.3, 0.4] });
  });

  it('gives a single value a step on either side, and a single zero one step above', () => {
    expect(niceScale(-3, -3)).toMatchObject({ floor: -4, ceiling: -2 });
    expect(niceScale(0, 0)).toMatchObject({ floor: 0, ceiling: 1 });
  });

  it('refuses non-finite or reversed bounds and a bad tick count', () => {
    expect(() => niceScale(-Infinity, 0)).toThrow('niceScale: low and high must be finite numbers');
    expect(() => niceScale(1, 0)).toThrow('niceScale: low (1) must not exceed high (0)');
    expect(() => niceScale(0, 1, 0)).toThrow('niceScale: count must be a positive integer, got 0');
  });

  it('labels ticks with the decimals the step needs and a true minus sign', () => {
    expect(tickLabel(-5, 1)).toBe('−5');
    expect(tickLabel(-0.8, 0.2)).toBe('−0.8');
    expect(tickLabel(0.25, 0.05)).toBe('0.25');
    expect(tickLabel(-0, 1)).toBe('0');
    expect(tickLabel(-50, 10)).toBe('−50');
  });
});
