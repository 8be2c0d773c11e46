import { describe, expect, it } from 'vitest';
import { beamSearch, type BeamSearchOptions, type StepFunction } from './beam.ts';

// Tiny vocabulary: 0 pad, 1 "x", 2 "y", 3 "z", 4 eot, 5 sot.
const [PAD, X, Y, _Z, EOT, SOT] = [0, 1, 2, 3, 4, 5];

/** A fixed next-token table: the logits depend only on the prefix. */
function table(entries: Record<string, number[]>, fallback: number[]): StepFunction {
  return async (prefixes) =>
    prefixes.map((prefix) => Float64Array.from(entries[prefix.join(',')] ?? fallback));
}

// After sot: x 2.0, y 1.9. After x: everything high and flat (eot 3.1). After y: eot 2.0 and nothing else.
// Raw-logit sums favour "x" (2 + 3.1 = 5.1 over length 2 → 2.55) against "y" (1.9 + 2 = 3.9 → 1.95, and it falls
// out of the top-4 anyway); log-probabilities favour "y" (log p ≈ −0.745 vs −1.957).
const model = table(
  {
    [`${SOT}`]: [-10, 2.0, 1.9, -5, -10, -10],
    [`${SOT},${X}`]: [-10, 3, 3, 3, 3.1, -10],
    [`${SOT},${Y}`]: [-10, -10, -10, -10, 2.0, -10],
  },
  [-10, -10, -10, -10, 0, -10],
);

const base: BeamSearchOptions = {
  beams: 2,
  groups: 1,
  scoring: 'raw-logits',
  minLength: 1,
  maxLength: 4,
  repetitionPenalty: 1,
  sot: SOT,
  eot: EOT,
  pad: PAD,
};

describe('beam search', () => {
  it('sums raw logits as the reference does and picks "x" (score 5.1 / 2)', async () => {
    const result = await beamSearch(model, base);
    expect(result.tokenIds).toEqual([SOT, X, EOT]);
    expect(result.score).toBeCloseTo(2.55, 12);
    expect(result.finished).toBe(true);
  });

  it('with log-probability scoring picks "y" instead', async () => {
    const result = await beamSearch(model, { ...base, scoring: 'log-prob' });
    expect(result.tokenIds).toEqual([SOT, Y, EOT]);
    // log p(y | sot) = 1.9 − log(e^2 + e^1.9 + e^−5 + 3e^−10); log p(eot | y) ≈ −5e^−12; length 2.
    const logPY = 1.9 - Math.log(Math.exp(2) + Math.exp(1.9) + Math.exp(-5) + 3 * Math.exp(-10));
    const logPEot = 2 - Math.log(Math.exp(2) + 5 * Math.exp(-10));
    expect(result.score).toBeCloseTo((logPY + logPEot) / 2, 10);
  });

  it('gives the same caption with 6 beams in 3 groups: without a diversity penalty the groups are independent copies', async () => {
    const result = await beamSearch(model, { ...base, beams: 6, groups: 3 });
    expect(result.tokenIds).toEqual([SOT, X, EOT]);
    expect(result.score).toBeCloseTo(2.55, 12);
  });

  it('respects the minimum length: eot cannot close a hypothesis before it', async () => {
    // minLength 3: eot after "x" (prefix length 2) is −∞. Beams become [sot x x] and [sot x y] (5 each); both close
    // with eot (+0) at 5 / 3, the group is done (worst 5/3 ≥ 5/4) and the tie goes to the later hypothesis, as
    // Python's stable sort + pop() does.
    const result = await beamSearch(model, { ...base, minLength: 3 });
    expect(result.tokenIds).toEqual([SOT, X, Y, EOT]);
    expect(result.score).toBeCloseTo(5 / 3, 12);
    expect(result.steps).toBe(3);
  });

  it('returns an unfinished caption without eot when every beam runs to the maximum length', async () => {
    // eot is never attractive: the best open beam is finalized at length maxLength (sot + 3 tokens).
    const neverEnd = table({}, [-10, 1, 0.5, 0, -100, -10]);
    const result = await beamSearch(neverEnd, { ...base, maxLength: 4 });
    expect(result.tokenIds).toEqual([SOT, X, X, X]);
    expect(result.finished).toBe(false);
    expect(result.score).toBeCloseTo(3 / 4, 12);
    expect(result.steps).toBe(3);
  });

  it("can reproduce the pinned versions' shared-hypotheses quirk: groups 1 and 2 never finish, so decoding runs to the maximum length", async () => {
    const independent = await beamSearch(model, { ...base, beams: 6, groups: 3, maxLength: 6 });
    const shared = await beamSearch(model, {
      ...base,
      beams: 6,
      groups: 3,
      maxLength: 6,
      sharedHypotheses: true,
    });
    // Independent groups are all done after 3 steps; with one shared list only group 0 can be marked done, the other
    // groups are padded from then on and the loop stops at maxLength (5 steps). The best hypothesis is the same.
    expect(independent.steps).toBe(3);
    expect(shared.steps).toBe(5);
    expect(shared.tokenIds).toEqual([SOT, X, EOT]);
    expect(shared.score).toBeCloseTo(2.55, 12);
  });

  it('rejects groups that do not divide the beams', async () => {
    await expect(beamSearch(model, { ...base, beams: 6, groups: 4 })).rejects.toThrow(
      'groups must divide beams (6), got 4',
    );
  });
});
