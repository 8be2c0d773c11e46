import { describe, expect, it } from 'vitest';
import { scoreRows, togglePick } from './compare.ts';

const pick = (id: string) => ({ candidate: { id } });

describe('comparing two candidates', () => {
  it('adds picks up to two, dropping the oldest, and removes a pick toggled again', () => {
    let picks = togglePick([], pick('a'));
    picks = togglePick(picks, pick('b'));
    expect(picks.map((p) => p.candidate.id)).toEqual(['a', 'b']);
    picks = togglePick(picks, pick('c'));
    expect(picks.map((p) => p.candidate.id)).toEqual(['b', 'c']);
    picks = togglePick(picks, pick('b'));
    expect(picks.map((p) => p.candidate.id)).toEqual(['c']);
  });

  it('shows each score and the difference B − A with its sign', () => {
    const rows = scoreRows({ uos: 1.2, cos: 25, dos: 1.4 }, { uos: 1.05, cos: 27.5, dos: null });
    expect(rows).toEqual([
      { name: 'UoS', a: '1.200', b: '1.050', difference: '−0.150' },
      { name: 'CoS', a: '25.00', b: '27.50', difference: '+2.50' },
      { name: 'DoS', a: '1.400', b: '–', difference: '–' },
    ]);
  });
});
