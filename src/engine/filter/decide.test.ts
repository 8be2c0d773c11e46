import { describe, expect, it } from 'vitest';
import { parseSettings } from '../../shared/settings.ts';
import { decide, type ScoredCandidate } from './decide.ts';

function candidate(mask: number, index: number, dos: number | null, cos = 20, comparison = false): ScoredCandidate {
  return { mask, index, comparison, scores: { dos, cos } };
}
const filter = (overrides: object = {}) => parseSettings({ filter: overrides }).filter;

describe('decide', () => {
  const image = [candidate(0, 0, 1.5), candidate(0, 1, 1.3), candidate(0, 2, 1.2), candidate(1, 0, 0.9), candidate(1, 1, null)];

  it('keeps DoS strictly above τ = 1.3', () => {
    const kept = decide(image, 2, filter()).map((d) => d.kept);
    expect(kept).toEqual([true, false, false, false, false]);
  });
  it('re-filters at another τ from the same scores', () => {
    expect(decide(image, 2, filter({ tau: 1.0 })).map((d) => d.kept)).toEqual([true, true, true, false, false]);
  });
  it('keeps the best candidate of a mask left empty with keep-best', () => {
    const decisions = decide(image, 2, filter({ emptyMask: 'keep-best' }));
    expect(decisions[3]).toEqual({ mask: 1, candidate: 0, kept: true, reason: 'best-of-empty-mask' });
    expect(decisions[4].kept).toBe(false);
  });
  it('never keeps comparison candidates', () => {
    const decisions = decide([candidate(0, 0, 9, 20, true), candidate(1, 0, 2)], 2, filter());
    expect(decisions.map((d) => [d.kept, d.reason])).toEqual([[false, 'comparison'], [true, 'dos-above-tau']]);
  });

  describe('single-mask images', () => {
    const single = [candidate(0, 0, null, 25), candidate(0, 1, null, 30), candidate(0, 2, null, 30), candidate(0, 3, null, 10)];
    it('keeps all with keep-all (the default)', () => {
      expect(decide(single, 1, filter()).every((d) => d.kept && d.reason === 'single-mask')).toBe(true);
    });
    it('drops all with drop', () => {
      expect(decide(single, 1, filter({ singleMask: 'drop' })).some((d) => d.kept)).toBe(false);
    });
    it('keeps the top half by CoS with keep-by-cos-rank, ties broken by index', () => {
      const decisions = decide(single, 1, filter({ singleMask: 'keep-by-cos-rank' }));
      expect(decisions.map((d) => d.kept)).toEqual([false, true, true, false]);
      const third = decide(single, 1, filter({ singleMask: 'keep-by-cos-rank', singleMaskShare: 0.25 }));
      expect(third.map((d) => d.kept)).toEqual([false, true, false, false]);
    });
  });

  it('rejects a non-finite τ', () => {
    expect(() => decide(image, 2, { ...filter(), tau: Number.NaN })).toThrow('tau must be a finite number');
  });
});
