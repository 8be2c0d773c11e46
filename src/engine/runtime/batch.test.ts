import { describe, expect, it } from 'vitest';
import { batchCandidates, pickBatchSize, pickRunBatch, stopMeasuring } from './batch.ts';

describe('choosing a batch size from measurements', () => {
  it('tries 1, 4, 16, 64 … up to the maximum', () => {
    expect(batchCandidates(256)).toEqual([1, 4, 16, 64, 256]);
    expect(batchCandidates(50)).toEqual([1, 4, 16, 50]);
    expect(batchCandidates(1)).toEqual([1]);
  });

  it('picks the fastest per row, the smaller size when two are within 5 %, and B = 1 when batching is slower', () => {
    expect(
      pickBatchSize([
        { batch: 1, msPerRow: 10 },
        { batch: 4, msPerRow: 4 },
        { batch: 16, msPerRow: 3.9 },
        { batch: 64, msPerRow: 3 },
      ]),
    ).toBe(64);
    expect(
      pickBatchSize([
        { batch: 1, msPerRow: 10 },
        { batch: 4, msPerRow: 5 },
        { batch: 16, msPerRow: 4.9 },
      ]),
    ).toBe(4);
    expect(
      pickBatchSize([
        { batch: 1, msPerRow: 598 },
        { batch: 4, msPerRow: 1387 },
      ]),
    ).toBe(1);
    expect(() => pickBatchSize([])).toThrow('no batch-size timings');
  });

  it('stops measuring once a size is 25 % slower per row than the best', () => {
    expect(stopMeasuring([{ batch: 1, msPerRow: 10 }])).toBe(false);
    expect(
      stopMeasuring([
        { batch: 1, msPerRow: 10 },
        { batch: 4, msPerRow: 13 },
      ]),
    ).toBe(true);
  });
});

describe('choosing a prompt batch for a known amount of work', () => {
  it('takes the fewest runs when batching costs no more time: never B = 1 on a flat per-prompt time', () => {
    const flat = [
      { batch: 1, msPerRow: 250 },
      { batch: 4, msPerRow: 251 },
      { batch: 16, msPerRow: 255 },
      { batch: 64, msPerRow: 260 },
    ];
    // the per-row rule keeps the smallest size within 5 %: 1024 runs per 32×32 grid
    expect(pickBatchSize(flat)).toBe(1);
    const choice = pickRunBatch(flat, 1024);
    expect(choice.size).toBe(64);
    expect(choice.predictions.map((p) => p.runs)).toEqual([1024, 256, 64, 16]);
    expect(choice.reason).toContain(
      '16 runs instead of 1024, within 5 % of the fastest total for 1024 prompts',
    );
  });

  it('counts the fixed cost of each run: the fastest total wins', () => {
    // 8 ms of every run is overhead: B = 1 costs 10 ms a prompt, B = 16 2.5 ms
    const timings = [1, 4, 16, 64].map((batch) => ({ batch, msPerRow: 8 / batch + 2 }));
    const choice = pickRunBatch(timings, 64);
    expect(choice.size).toBe(64);
    expect(choice.predictions.find((p) => p.batch === 1)!.totalMs).toBeCloseTo(640);
    expect(choice.predictions.find((p) => p.batch === 64)!.totalMs).toBeCloseTo(136);
    expect(choice.reason).toMatch(/^the fastest total for 64 prompts/);
  });

  it('keeps B = 1 when every batch is over 5 % slower in total, counting whole runs', () => {
    expect(
      pickRunBatch(
        [
          { batch: 1, msPerRow: 598 },
          { batch: 4, msPerRow: 1387 },
        ],
        1024,
      ).size,
    ).toBe(1);
    // 5 prompts: B = 4 needs 2 runs (8 prompt slots, 79.2 ms) against 5 runs of B = 1 (50 ms)
    expect(
      pickRunBatch(
        [
          { batch: 1, msPerRow: 10 },
          { batch: 4, msPerRow: 9.9 },
        ],
        5,
      ).size,
    ).toBe(1);
  });

  it('names the argument it rejects', () => {
    expect(() => pickRunBatch([], 4)).toThrow('no batch-size timings');
    expect(() => pickRunBatch([{ batch: 1, msPerRow: 1 }], 0)).toThrow('total must be an integer ≥ 1, got 0');
  });
});
