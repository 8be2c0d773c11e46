import { describe, expect, it } from 'vitest';
import { cacheKey, gatherRows, planStep, rowsToDrop } from './cache.ts';

const SOT = 100;

describe('cache-row bookkeeping of the cached decoder', () => {
  it('gathers rows by beam origin: two new beams of one origin read the same row, an unused origin is dropped', () => {
    // Step 2 beams: [sot,1] and [sot,2]. Step 3: both surviving beams continue beam [sot,2].
    const cached = new Map([
      [cacheKey([SOT, 1], 0), 2],
      [cacheKey([SOT, 2], 0), 2],
    ]);
    const plan = planStep(
      [
        { prefix: [SOT, 2, 7], image: 0 },
        { prefix: [SOT, 2, 8], image: 0 },
      ],
      cached,
    );
    expect(plan.rows.map((row) => row.parent)).toEqual([cacheKey([SOT, 2], 0), cacheKey([SOT, 2], 0)]);
    expect(plan.rows.map((row) => row.token)).toEqual([7, 8]);
    expect(plan.missing).toEqual([]);
    const read = new Set(plan.rows.map((row) => row.parent!));
    expect(rowsToDrop(cached, read, 3)).toEqual([cacheKey([SOT, 2], 0)]);
    // [sot,1] was not continued; it stays one more call (a second call of the same step may read it), then goes.
    expect(rowsToDrop(new Map([...cached, [cacheKey([SOT, 2, 7], 0), 3]]), new Set(), 4)).toEqual([
      cacheKey([SOT, 1], 0),
      cacheKey([SOT, 2], 0),
    ]);
  });

  it('keeps one row per (target sample, other crop) pair for DCS, each on the target prefix', () => {
    const prefix = [SOT, 5, 6];
    const cached = new Set([0, 1, 2].map((image) => cacheKey([SOT, 5], image)));
    const plan = planStep(
      [0, 1, 2].map((image) => ({ prefix, image })),
      cached,
    );
    expect(plan.rows).toHaveLength(3);
    expect(plan.rows.map((row) => row.parent)).toEqual([0, 1, 2].map((image) => cacheKey([SOT, 5], image)));
    expect(plan.rows.map((row) => row.image)).toEqual([0, 1, 2]);
    expect(new Set(plan.rows.map((row) => row.key)).size).toBe(3);
  });

  it('shares one row between identical pairs when deduplicating and keeps them apart otherwise', () => {
    const pairs = [
      { prefix: [SOT, 4], image: 1 },
      { prefix: [SOT, 4], image: 1 },
      { prefix: [SOT, 4], image: 0 },
    ];
    const cached = new Set([cacheKey([SOT], 1), cacheKey([SOT], 0)]);
    expect(planStep(pairs, cached).rowOfPair).toEqual([0, 0, 1]);
    expect(planStep(pairs, cached, false).rowOfPair).toEqual([0, 1, 2]);
  });

  it('removes finished rows: a row nobody continues is dropped after the next step', () => {
    const lengths = new Map([
      [cacheKey([SOT, 3], 0), 2], // finished (eot chosen): not asked for at step 3
      [cacheKey([SOT, 4], 0), 2],
    ]);
    const afterStep3 = rowsToDrop(lengths, new Set([cacheKey([SOT, 4], 0)]), 3);
    expect(afterStep3).toEqual([cacheKey([SOT, 4], 0)]);
    const afterStep4 = rowsToDrop(new Map([[cacheKey([SOT, 3], 0), 2]]), new Set(), 4);
    expect(afterStep4).toEqual([cacheKey([SOT, 3], 0)]);
    // a caller that starts over at a shorter prefix: longer rows can never be read again
    expect(rowsToDrop(new Map([[cacheKey([SOT, 4, 5, 6], 0), 4]]), new Set(), 1)).toEqual([
      cacheKey([SOT, 4, 5, 6], 0),
    ]);
  });

  it('starts a one-token prefix from an empty past and lists parents that are not cached', () => {
    const first = planStep([{ prefix: [SOT], image: 2 }], new Set());
    expect(first.rows[0]).toEqual({ key: cacheKey([SOT], 2), parent: null, token: SOT, image: 2 });
    const skipped = planStep([{ prefix: [SOT, 1, 2], image: 0 }], new Set());
    expect(skipped.missing).toEqual([{ prefix: [SOT, 1], image: 0 }]);
  });

  it('refuses a step whose prefixes differ in length, or an empty prefix', () => {
    expect(() =>
      planStep(
        [
          { prefix: [SOT], image: 0 },
          { prefix: [SOT, 1], image: 0 },
        ],
        new Set(),
      ),
    ).toThrow("pair 1 has prefix length 2, the step's is 1");
    expect(() => planStep([{ prefix: [], image: 0 }], new Set())).toThrow('pair 0 has an empty prefix');
  });

  it('gathers per-row arrays into one batch in the requested order', () => {
    const a = Float32Array.from([1, 2]);
    const b = Float32Array.from([3, 4]);
    expect(Array.from(gatherRows([b, a, b], 2))).toEqual([3, 4, 1, 2, 3, 4]);
    expect(gatherRows([null, null], 0)).toHaveLength(0);
    expect(() => gatherRows([a, Float32Array.from([1])], 2)).toThrow(
      'cache row 1 holds 1 values, expected 2',
    );
  });
});
