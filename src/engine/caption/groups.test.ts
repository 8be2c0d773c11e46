import { describe, expect, it } from 'vitest';
import { cropBlocks, planGroupedRuns } from './groups.ts';

describe('planGroupedRuns', () => {
  it('groups every crop with R = the most rows any crop has, padding the others, in ascending crop order', () => {
    const runs = planGroupedRuns(
      new Map([
        [2, [0, 1]],
        [0, [2]],
      ]),
      8,
    );
    expect(runs).toEqual([{ crops: [0, 2], rowsPerCrop: 2, slots: [2, null, 0, 1] }]);
  });

  it('splits by the batch size: whole groups per run, a crop with more rows than the batch in several groups', () => {
    const runs = planGroupedRuns(
      new Map([
        [0, [0, 1, 2]],
        [1, [3]],
      ]),
      2,
    );
    expect(runs).toEqual([
      { crops: [0], rowsPerCrop: 2, slots: [0, 1] },
      { crops: [0], rowsPerCrop: 2, slots: [2, null] },
      { crops: [1], rowsPerCrop: 2, slots: [3, null] },
    ]);
  });

  it('plans nothing for no rows and refuses a batch below 1', () => {
    expect(planGroupedRuns(new Map(), 4)).toEqual([]);
    expect(() => planGroupedRuns(new Map([[0, [0]]]), 0)).toThrow('batch must be an integer ≥ 1, got 0');
  });
});

describe('cropBlocks', () => {
  const all = Float32Array.from([0, 0, 1, 1, 2, 2]);

  it('returns a view for consecutive crops and a gathered copy otherwise', () => {
    const view = cropBlocks(all, 2, [1, 2]);
    expect([...view]).toEqual([1, 1, 2, 2]);
    expect(view.buffer).toBe(all.buffer);
    const gathered = cropBlocks(all, 2, [2, 0, 0]);
    expect([...gathered]).toEqual([2, 2, 0, 0, 0, 0]);
    expect(gathered.buffer).not.toBe(all.buffer);
  });

  it('refuses a crop outside the output', () => {
    expect(() => cropBlocks(all, 2, [3])).toThrow('crop 3 is outside the cross output (3 crops)');
  });
});
