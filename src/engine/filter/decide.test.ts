import { describe, expect, it } from 'vitest';
import { decideViews, type ReviewInput } from '../../shared/decide.ts';
import { buildKeptBase, keptCounter, projectKeptAt, type CounterColumns } from '../../shared/kept-counter.ts';
import type { CandidateResult, ImageResult } from '../../shared/results.ts';
import { parseSettings } from '../../shared/settings.ts';
import { candidateViews, emptyReview } from '../service/views.ts';
import { decide, decideResult, keepPolicy, reviewedText, type ScoredCandidate } from './decide.ts';
import { mulberry32 } from '../../shared/testing/random.ts';
import { ruleScore } from '../pipeline/store/columns.ts';

function candidate(
  mask: number,
  index: number,
  dos: number | null,
  cos = 20,
  comparison = false,
): ScoredCandidate {
  return { mask, index, comparison, scores: { dos, cos } };
}
const filter = (overrides: object = {}) => keepPolicy(parseSettings({ filter: overrides }));

describe('decide', () => {
  const image = [
    candidate(0, 0, 1.5),
    candidate(0, 1, 1.3),
    candidate(0, 2, 1.2),
    candidate(1, 0, 0.9),
    candidate(1, 1, null),
  ];

  it('keeps DoS strictly above τ = 1.3', () => {
    const kept = decide(image, 2, filter()).map((d) => d.kept);
    expect(kept).toEqual([true, false, false, false, false]);
  });
  it('re-filters at another τ from the same scores', () => {
    expect(decide(image, 2, filter({ tau: 1.0 })).map((d) => d.kept)).toEqual([
      true,
      true,
      true,
      false,
      false,
    ]);
  });
  it('keeps the best candidate of a mask left empty with keep-best', () => {
    const decisions = decide(image, 2, filter({ emptyMask: 'keep-best' }));
    expect(decisions[3]).toEqual({ mask: 1, candidate: 0, kept: true, reason: 'best-of-empty-mask' });
    expect(decisions[4].kept).toBe(false);
  });
  it('never keeps comparison candidates', () => {
    const decisions = decide([candidate(0, 0, 9, 20, true), candidate(1, 0, 2)], 2, filter());
    expect(decisions.map((d) => [d.kept, d.reason])).toEqual([
      [false, 'comparison'],
      [true, 'dos-above-tau'],
    ]);
  });

  describe('single-mask images', () => {
    const single = [
      candidate(0, 0, null, 25),
      candidate(0, 1, null, 30),
      candidate(0, 2, null, 30),
      candidate(0, 3, null, 10),
    ];
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

/** Random finished results: one-mask images, masks with nothing above τ, tied DoS/CoS values, comparison candidates, and a random review. */
function randomProject(seed: number): { results: ImageResult[]; review: ReturnType<typeof emptyReview> } {
  const rand = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const review = emptyReview();
  const results: ImageResult[] = [];
  const imageCount = 2 + Math.floor(rand() * 6);
  for (let id = 1; id <= imageCount; id++) {
    const maskCount = pick([1, 1, 2, 3, 5]);
    const candidates: CandidateResult[] = [];
    for (let mask = 0; mask < maskCount; mask++) {
      // a "low" mask has every DoS at or below 1.3, so only keep-best or an acceptance keeps anything of it
      const low = rand() < 0.3;
      const count = 1 + Math.floor(rand() * 8);
      for (let index = 0; index < count; index++) {
        const dos =
          maskCount === 1
            ? null
            : low
              ? pick([0.4, 0.9, 1.3, 1.3])
              : pick([0.8, 1.3, 1.3, 1.5, 2.0, 2.0, Number.POSITIVE_INFINITY]);
        const comparison = rand() < 0.2;
        candidates.push({
          index,
          mask,
          crop: { kind: 'masked' },
          cropKey: 'masked',
          setting: { kind: 'beam', beams: 6, groups: 3, scoring: 'raw-logits' },
          settingKey: 'beam',
          method: 'beam',
          text: `caption ${id}:${mask}:${index}`,
          tokens: [],
          seed: 0,
          comparison,
          scores: {
            theta: 20,
            cos: pick([10, 20, 20, 30]),
            uos: dos,
            dos,
            confusedWith: null,
            headNoun: 'circle',
            nounPrompt: 'a photo of a circle',
          },
        });
        const roll = rand();
        if (roll < 0.12) review.decisions[`${id}:${mask}:${index}`] = 'accepted';
        else if (roll < 0.24) review.decisions[`${id}:${mask}:${index}`] = 'rejected';
      }
      if (rand() < 0.1) review.deletedMasks.push(`${id}:${mask}`);
    }
    results.push({
      version: 1,
      image: { id, path: `/x/${id}.png`, name: `${id}.png`, sha256: '', width: 8, height: 8 },
      status: 'done',
      masks: Array.from({ length: maskCount }, (_, index) => ({
        index,
        rle: { size: [8, 8], counts: '' },
        area: 1,
        bbox: [0, 0, 1, 1],
        score: 1,
        source: 'generated' as const,
      })),
      candidates,
      decisions: [],
    });
  }
  return { results, review };
}

/** Results' exportable candidates as the counter's columns: what `catalogColumns` reads from a project's store. */
function counterColumns(results: readonly ImageResult[]): CounterColumns {
  const columns = {
    imageIds: results.map((r) => r.image.id),
    maskCount: results.map((r) => r.masks.length),
    start: [] as number[],
    end: [] as number[],
    mask: [] as number[],
    index: [] as number[],
    score: [] as number[],
  };
  for (const result of results) {
    columns.start.push(columns.mask.length);
    for (const c of result.candidates) {
      if (c.comparison) continue;
      columns.mask.push(c.mask);
      columns.index.push(c.index);
      columns.score.push(ruleScore(c.scores, result.masks.length));
    }
    columns.end.push(columns.mask.length);
  }
  return columns;
}

describe('engine and page agree', () => {
  const policies = (['keep-all', 'keep-by-cos-rank', 'drop'] as const).flatMap((singleMask) =>
    (['drop', 'keep-best', 'random'] as const).flatMap((emptyMask) =>
      [0.25, 0.5].map((singleMaskShare) => ({ singleMask, emptyMask, singleMaskShare })),
    ),
  );
  const taus = [0, 0.9, 1.0, 1.3, 1.31, 1.5, 2.0, 5];

  it('gives identical kept sets from the engine path and the page path on random projects, every policy, several τ', () => {
    let checked = 0;
    for (let projectSeed = 1; projectSeed <= 25; projectSeed++) {
      const { results, review } = randomProject(projectSeed);
      for (const policy of policies) {
        // the run's seed drives `emptyMask: 'random'`: a different one per project
        const base = { ...policy, seed: 1000 + projectSeed };
        // slider and tiles: the columnar counter the engine answers `filter:counts` with, built once per policy
        const counter = keptCounter(buildKeptBase(counterColumns(results), base), review);
        for (const tau of taus) {
          const filter = { ...base, tau };
          let engineKept = 0;
          for (const result of results) {
            // engine: exports, report and gallery decide whole images with the review applied
            const engine = decideResult(result, filter, review);
            const keptSet = new Set(
              engine.filter((d) => d.kept).map((d) => `${result.image.id}:${d.mask}:${d.candidate}`),
            );
            engineKept += keptSet.size;
            // page, candidates table: one mask's views at a time (deleted masks are not shown)
            for (const mask of result.masks) {
              if (review.deletedMasks.includes(`${result.image.id}:${mask.index}`)) continue;
              const views = candidateViews(result, review, mask.index);
              const pageKept = new Set(
                views.filter((_, k) => decideViews(views, filter)[k]).map((v) => v.id),
              );
              const engineOfMask = new Set(
                [...keptSet].filter((id) => id.startsWith(`${result.image.id}:${mask.index}:`)),
              );
              expect({ projectSeed, ...filter, mask: mask.index, kept: [...pageKept].sort() }).toEqual({
                projectSeed,
                ...filter,
                mask: mask.index,
                kept: [...engineOfMask].sort(),
              });
            }
          }
          expect({ projectSeed, ...filter, kept: projectKeptAt(counter, tau) }).toEqual({
            projectSeed,
            ...filter,
            kept: engineKept,
          });
          checked++;
        }
      }
    }
    expect(checked).toBe(25 * policies.length * taus.length);
  });

  it('keeps an accepted candidate below τ, drops a rejected one above τ, and keeps an edited text with its scores', () => {
    const { results } = randomProject(3);
    const result = results.find(
      (r) =>
        r.masks.length > 1 &&
        r.candidates.some((c) => !c.comparison && c.scores.dos !== null && c.scores.dos <= 1.3) &&
        r.candidates.some((c) => !c.comparison && (c.scores.dos ?? 0) > 1.3),
    )!;
    const below = result.candidates.find(
      (c) => !c.comparison && c.scores.dos !== null && c.scores.dos <= 1.3,
    )!;
    const above = result.candidates.find((c) => !c.comparison && (c.scores.dos ?? 0) > 1.3)!;
    const review: ReviewInput = {
      decisions: {
        [`${result.image.id}:${below.mask}:${below.index}`]: 'accepted',
        [`${result.image.id}:${above.mask}:${above.index}`]: 'rejected',
      },
      edits: { [`${result.image.id}:${below.mask}:${below.index}`]: 'the left one' },
      deletedMasks: [],
    };
    const filter = keepPolicy(parseSettings({}));
    const of = (decisions: ReturnType<typeof decideResult>, c: CandidateResult) =>
      decisions.find((d) => d.mask === c.mask && d.candidate === c.index)!;
    expect([
      of(decideResult(result, filter), below).kept,
      of(decideResult(result, filter), above).kept,
    ]).toEqual([false, true]);
    expect([
      of(decideResult(result, filter, review), below).reason,
      of(decideResult(result, filter, review), above).reason,
    ]).toEqual(['accepted', 'rejected']);
    expect(reviewedText(result.image.id, below, review)).toEqual({ text: 'the left one', edited: true });
    expect(reviewedText(result.image.id, above, review)).toEqual({ text: above.text, edited: false });
  });
});
