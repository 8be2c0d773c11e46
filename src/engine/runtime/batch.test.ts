import { describe, expect, it } from 'vitest';
import { batchCandidates, pickBatchSize, stopMeasuring } from './batch.ts';

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
