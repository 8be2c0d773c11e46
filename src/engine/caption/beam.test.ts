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

  it('records a hand-checked trace: beams and their running scores per step, every hypothesis, the winner', async () => {
    const { trace, ...result } = await beamSearch(model, { ...base, trace: true });
    expect(result.tokenIds).toEqual([SOT, X, EOT]);
    const t = trace!;
    expect(t.steps.map((s) => s.step)).toEqual([0, 1, 2]);
    // Step 0 from [sot]: x (2) and y (1.9) become the beams; the pairs are ranked best first.
    const [g0] = t.steps[0]!.groups;
    expect(g0!.beams.map((b) => b.tokenIds)).toEqual([
      [SOT, X],
      [SOT, Y],
    ]);
    expect(g0!.beams.map((b) => b.score)).toEqual([2, 1.9]);
    expect(g0!.beams[0]!.normalized).toBeCloseTo(1, 12);
    const lse = (values: number[]) => Math.log(values.reduce((sum, v) => sum + Math.exp(v), 0));
    const logPX = 2 - lse([-10, 2.0, 1.9, -5, -10, -10]);
    expect(g0!.beams[0]!.logProb).toBeCloseTo(logPX, 12);
    expect(g0!.pairs.map((p) => [p.token, p.outcome])).toEqual([
      [X, 'beam'],
      [Y, 'beam'],
      [_Z, 'unused'],
      [PAD, 'unused'],
    ]);
    // Step 1: eot after x (2 + 3.1) ranks first and closes [sot x] at 5.1 / 2; x and y after x become the beams.
    const [g1] = t.steps[1]!.groups;
    expect(g1!.pairs.slice(0, 3).map((p) => [p.beam, p.token, p.outcome])).toEqual([
      [0, EOT, 'hypothesis'],
      [0, X, 'beam'],
      [0, Y, 'beam'],
    ]);
    expect(g1!.beams.map((b) => [b.tokenIds, b.score, b.parent])).toEqual([
      [[SOT, X, X], 5, 0],
      [[SOT, X, Y], 5, 0],
    ]);
    expect(g1!.beams[1]!.normalized).toBeCloseTo(5 / 3, 12);
    expect(g1!.doneAfter).toBe(false);
    // Step 2: both beams close at 5 / 3. [sot x x] fills the list (capacity 2, worst now 5/3); [sot x y] ties the
    // worst, and a full list admits only a strictly better score. The group is done (5/3 ≥ best next 5 / 4).
    expect(t.steps[2]!.groups[0]!.doneAfter).toBe(true);
    expect(t.hypotheses.map((h) => [h.step, h.tokenIds, h.admitted, h.kept])).toEqual([
      [1, [SOT, X], true, true],
      [2, [SOT, X, X], true, true],
      [2, [SOT, X, Y], false, false],
    ]);
    expect(t.hypotheses[0]!.sum).toBeCloseTo(5.1, 12);
    expect(t.hypotheses[0]!.score).toBeCloseTo(2.55, 12);
    expect(t.hypotheses[0]!.logProb).toBeCloseTo(logPX + 3.1 - lse([-10, 3, 3, 3, 3.1, -10]), 12);
    expect(t.winner).toBe(0);
    expect(t.hypotheses[t.winner]!.score).toBe(result.score);
  });

  it('records group-size beams per group per step and a padded step for each group already done', async () => {
    const { trace } = await beamSearch(model, { ...base, beams: 6, groups: 3, maxLength: 6, trace: true });
    for (const step of trace!.steps) {
      expect(step.groups.map((g) => g.group)).toEqual([0, 1, 2]);
      for (const group of step.groups) expect(group.beams.length).toBe(group.done ? 0 : 2);
    }
    // Finalize offers nothing: every group finished with eot hypotheses.
    expect(trace!.hypotheses.every((h) => h.step !== null)).toBe(true);
    expect(trace!.hypotheses.filter((h) => h.kept)).toHaveLength(6);
  });

  it('records the open beams that finalize offers when the search runs to the maximum length', async () => {
    const neverEnd = table({}, [-10, 1, 0.5, 0, -100, -10]);
    const { trace, tokenIds } = await beamSearch(neverEnd, { ...base, maxLength: 4, trace: true });
    expect(trace!.hypotheses.map((h) => [h.step, h.tokenIds])).toEqual([
      [null, [SOT, X, X, X]],
      [null, [SOT, X, X, Y]],
    ]);
    expect(trace!.hypotheses[trace!.winner]!.tokenIds).toEqual(tokenIds);
  });

  it('decodes the same with and without tracing, for every scoring and grouping', async () => {
    const variants: Partial<BeamSearchOptions>[] = [
      {},
      { scoring: 'log-prob' },
      { beams: 6, groups: 3 },
      { minLength: 3 },
      { beams: 6, groups: 3, maxLength: 6, sharedHypotheses: true },
    ];
    for (const variant of variants) {
      const plain = await beamSearch(model, { ...base, ...variant });
      const { trace, ...traced } = await beamSearch(model, { ...base, ...variant, trace: true });
      expect(traced).toEqual(plain);
      expect(trace!.hypotheses[trace!.winner]!.score).toBe(plain.score);
    }
  });

  it('rejects groups that do not divide the beams', async () => {
    await expect(beamSearch(model, { ...base, beams: 6, groups: 4 })).rejects.toThrow(
      'groups must divide beams (6), got 4',
    );
  });
});
