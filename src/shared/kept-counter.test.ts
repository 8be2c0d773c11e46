import { describe, expect, it } from 'vitest';
import { decide, reviewMark, type DecisionInput, type KeepPolicy, type ReviewInput } from './decide.ts';
import {
  allKeptAt,
  buildKeptBase,
  imageKeptAt,
  keptAtEach,
  keptCounter,
  projectKeptAt,
  type CounterColumns,
} from './kept-counter.ts';
import { mulberry32 } from './testing/random.ts';

/**
 * Random columns: single- and multi-mask images, ties, NaN DoS, masks not contiguous; and a random review. `scores`
 * keeps each candidate's CoS and DoS both (the columns hold only the one the rule reads), for the reference.
 */
function randomProject(seed: number, images: number) {
  const random = mulberry32(seed);
  const pick = <T>(values: readonly T[]) => values[Math.floor(random() * values.length)];
  const ids: number[] = [];
  const maskCount: number[] = [];
  const start: number[] = [];
  const end: number[] = [];
  const mask: number[] = [];
  const index: number[] = [];
  const cos: number[] = [];
  const dos: number[] = [];
  const score: number[] = [];
  const deletedMasks: string[] = [];
  const review: ReviewInput = { decisions: {}, edits: {}, deletedMasks };
  for (let p = 0; p < images; p++) {
    const id = 3 * p + 7;
    const n = random() < 0.25 ? 1 : 2 + Math.floor(random() * 4);
    ids.push(id);
    maskCount.push(n);
    start.push(mask.length);
    const count = random() < 0.05 ? 0 : 1 + Math.floor(random() * 9);
    for (let k = 0; k < count; k++) {
      const m = Math.floor(random() * n);
      mask.push(m);
      index.push(k);
      cos.push(random() < 0.1 ? Number.NaN : pick([18, 20, 22, 20 + random() * 5]));
      // few distinct values so that ties and τ exactly at a DoS are common
      dos.push(n === 1 || random() < 0.08 ? Number.NaN : pick([0.5, 1, 1.3, 1.3, 2, 0.9 + random() * 1.2]));
      score.push(n === 1 ? cos[cos.length - 1] : dos[dos.length - 1]);
      if (random() < 0.04) review.decisions[`${id}:${m}:${k}`] = pick(['accepted', 'rejected'] as const);
    }
    end.push(mask.length);
    if (random() < 0.03) deletedMasks.push(`${id}:${Math.floor(random() * n)}`);
  }
  const columns: CounterColumns = {
    imageIds: Int32Array.from(ids),
    maskCount: Int32Array.from(maskCount),
    start: Int32Array.from(start),
    end: Int32Array.from(end),
    mask: Uint16Array.from(mask),
    index: Uint16Array.from(index),
    score: Float64Array.from(score),
  };
  return { columns, review, scores: { cos, dos } };
}

/** What `decide` keeps for position `p` from both scores, image by image: the reference the counter must equal. */
function decided(
  { columns, scores }: Pick<ReturnType<typeof randomProject>, 'columns' | 'scores'>,
  p: number,
  policy: KeepPolicy,
  review: ReviewInput | null,
): number {
  const list: DecisionInput[] = [];
  for (let k = columns.start[p]; k < columns.end[p]; k++)
    list.push({
      mask: columns.mask[k],
      index: columns.index[k],
      comparison: false,
      cos: Number.isNaN(scores.cos[k]) ? null : scores.cos[k],
      dos: Number.isNaN(scores.dos[k]) ? null : scores.dos[k],
      review: reviewMark(review, columns.imageIds[p], columns.mask[k], columns.index[k]),
    });
  return decide(list, columns.maskCount[p], policy, columns.imageIds[p]).filter((d) => d.kept).length;
}

/** Hand-made columns with both scores kept for the reference, merged into the rule's score as the store merges them. */
function withScores(
  columns: Omit<CounterColumns, 'score'>,
  cos: number[],
  dos: number[],
): { columns: CounterColumns; scores: { cos: number[]; dos: number[] } } {
  const score = new Float64Array(cos.length);
  for (let p = 0; p < columns.imageIds.length; p++)
    for (let k = columns.start[p]; k < columns.end[p]; k++)
      score[k] = columns.maskCount[p] === 1 ? cos[k] : dos[k];
  return { columns: { ...columns, score }, scores: { cos, dos } };
}

const TAUS = [0, 0.4, 0.5, 0.7, 0.9, 1, 1.15, 1.3, 1.30001, 1.7, 2, 2.1, 5];

describe('the columnar kept counter', () => {
  for (const emptyMask of ['drop', 'keep-best', 'random'] as const)
    for (const singleMask of ['keep-all', 'keep-by-cos-rank', 'drop'] as const)
      it(`counts as decide does, image by image and in total (${emptyMask}, ${singleMask})`, () => {
        for (const seed of [1, 2, 3]) {
          const world = randomProject(seed * 31 + emptyMask.length, 300);
          const { columns, review } = world;
          const policy = { singleMask, singleMaskShare: 0.5, emptyMask, seed: 7 } as const;
          const base = buildKeptBase(columns, policy);
          for (const marks of [null, review]) {
            const counter = keptCounter(base, marks);
            for (const tau of TAUS) {
              const expected = Array.from(columns.imageIds, (_, p) =>
                decided(world, p, { ...policy, tau }, marks),
              );
              const perImage = Array.from(columns.imageIds, (_, p) => imageKeptAt(counter, p, tau));
              expect(perImage).toEqual(expected);
              expect(Array.from(allKeptAt(counter, tau))).toEqual(expected);
              expect(projectKeptAt(counter, tau)).toBe(expected.reduce((s, v) => s + v, 0));
            }
          }
        }
      });

  it('counts a list of τ in one pass as the counter does at each (unsorted, repeated, on and between ratios)', () => {
    const taus = [2, 0.5, 1.3, 1.3, 0, 1.30001, 5, -1, 0.9];
    for (const emptyMask of ['drop', 'keep-best', 'random'] as const)
      for (const singleMask of ['keep-all', 'keep-by-cos-rank'] as const) {
        const { columns, review } = randomProject(emptyMask.length * 7 + singleMask.length, 300);
        const policy = { singleMask, singleMaskShare: 0.5, emptyMask, seed: 3 } as const;
        for (const marks of [null, review]) {
          const counter = keptCounter(buildKeptBase(columns, policy), marks);
          expect(keptAtEach(columns, policy, marks, taus)).toEqual(
            taus.map((t) => projectKeptAt(counter, t)),
          );
        }
      }
    expect(() =>
      keptAtEach(
        randomProject(1, 3).columns,
        { singleMask: 'drop', singleMaskShare: 0.5, emptyMask: 'drop', seed: 0 },
        null,
        [Number.POSITIVE_INFINITY],
      ),
    ).toThrow('tau must be a finite number');
  });

  describe('on hand-made columns', () => {
    // image 10: two masks, ties at 1.3, one accepted; image 11: one mask (policy-decided), one rejected; image 12: a
    // mask with nothing above τ and one at +∞; image 13: two masks, no exportable candidate
    const world = withScores(
      {
        imageIds: [10, 11, 12, 13],
        maskCount: [2, 1, 2, 2],
        start: [0, 4, 7, 10],
        end: [4, 7, 10, 10],
        mask: [0, 0, 1, 1, 0, 0, 0, 0, 0, 1],
        index: [0, 1, 2, 3, 0, 1, 2, 0, 1, 2],
      },
      [20, 20, 20, 20, 30, 10, 20, 20, 20, 20],
      [1.3, 1.3, 2, 0.5, NaN, NaN, NaN, 0.9, 1.0, Number.POSITIVE_INFINITY],
    );
    const { columns } = world;
    const review: ReviewInput = {
      decisions: { '10:0:1': 'accepted', '11:0:2': 'rejected' },
      edits: {},
      deletedMasks: [],
    };
    const taus = [-5, 0, 0.5, 0.9, 0.95, 1.0, 1.3, 1.31, 2, 9];

    it("counts what decide keeps at every τ, steps included, per image and in total (the tiles sum to the top bar's count)", () => {
      for (const emptyMask of ['drop', 'keep-best'] as const) {
        const policy = { singleMask: 'keep-all', singleMaskShare: 0.5, emptyMask, seed: 0 } as const;
        const counter = keptCounter(buildKeptBase(columns, policy), review);
        for (const tau of taus) {
          const expected = [0, 1, 2, 3].map((p) => decided(world, p, { ...policy, tau }, review));
          const perImage = [0, 1, 2, 3].map((p) => imageKeptAt(counter, p, tau));
          expect([emptyMask, tau, perImage]).toEqual([emptyMask, tau, expected]);
          expect(projectKeptAt(counter, tau)).toBe(expected.reduce((a, b) => a + b, 0));
        }
      }
    });

    it("draws emptyMask 'random' from the image id and the run's seed, as decide does", () => {
      // image 4: mask 0 has one candidate above τ = 1.3, mask 1 none (three open candidates, one rejected)
      const image4 = withScores(
        {
          imageIds: [4],
          maskCount: [2],
          start: [0],
          end: [6],
          mask: [0, 0, 1, 1, 1, 1],
          index: [0, 1, 2, 3, 4, 5],
        },
        [0.3, 0.3, 0.3, 0.3, 0.3, 0.3],
        [1.5, 1.0, 1.1, 0.9, 1.2, 1.0],
      );
      const marks: ReviewInput = { decisions: { '4:1:3': 'rejected' }, edits: {}, deletedMasks: [] };
      const policy = { singleMask: 'keep-all', singleMaskShare: 0.5, emptyMask: 'random', seed: 7 } as const;
      const counter = keptCounter(buildKeptBase(image4.columns, policy), marks);
      for (const tau of [0.5, 1.05, 1.3, 2])
        expect(projectKeptAt(counter, tau)).toBe(decided(image4, 0, { ...policy, tau }, marks));
    });
  });

  it('counts every exportable candidate once and finds images by id', () => {
    const { columns } = randomProject(5, 50);
    const base = buildKeptBase(columns, {
      singleMask: 'keep-all',
      singleMaskShare: 0.5,
      emptyMask: 'drop',
      seed: 0,
    });
    expect(base.total).toBe(columns.mask.length);
    expect(base.position.get(columns.imageIds[10])).toBe(10);
  });

  it('refuses a τ that is not a finite number', () => {
    const { columns } = randomProject(6, 5);
    const counter = keptCounter(
      buildKeptBase(columns, { singleMask: 'keep-all', singleMaskShare: 0.5, emptyMask: 'drop', seed: 0 }),
      null,
    );
    expect(() => projectKeptAt(counter, Number.NaN)).toThrow('tau must be a finite number');
  });
});
