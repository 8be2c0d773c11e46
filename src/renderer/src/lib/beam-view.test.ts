import { describe, expect, it } from 'vitest';
import type { BeamTrace } from '../../../shared/caption.ts';
import { beamRows, beamText, beamTies, hypothesisRows } from './beam-view.ts';

// 0 pad, 1 "a", 2 "red", 3 "ball", 4 eot, 5 sot; one group of 2 beams.
const trace = {
  version: 1,
  config: {
    setting: { kind: 'beam', beams: 2, groups: 1, scoring: 'raw-logits' },
    settingKey: 'beam-2x1',
    minLength: 1,
    maxLength: 5,
    repetitionPenalty: 1,
    specialTokens: { sot: 5, eot: 4, pad: 0 },
  },
  target: { maskIndex: 0, crop: { kind: 'masked' } },
  steps: [
    {
      step: 0,
      groups: [
        {
          group: 0,
          done: false,
          beams: [
            { tokenIds: [5, 1], score: -0.1, normalized: -0.05, logProb: -0.1, parent: 0 },
            { tokenIds: [5, 2], score: -2, normalized: -1, logProb: -2, parent: 0 },
          ],
          pairs: [],
          doneAfter: false,
        },
      ],
    },
    {
      step: 1,
      groups: [
        {
          group: 0,
          done: false,
          beams: [
            { tokenIds: [5, 1, 2], score: -0.5, normalized: -0.5 / 3, logProb: -0.5, parent: 0 },
            { tokenIds: [5, 2, 3], score: -2.5, normalized: -2.5 / 3, logProb: -2.5, parent: 1 },
          ],
          pairs: [],
          doneAfter: true,
        },
      ],
    },
  ],
  hypotheses: [
    {
      group: 0,
      step: 1,
      tokenIds: [5, 1],
      sum: -1.2,
      score: -0.6,
      logProb: -1.2,
      admitted: true,
      kept: true,
    },
    {
      group: 0,
      step: null,
      tokenIds: [5, 1, 2],
      sum: -0.9,
      score: -0.3,
      logProb: -0.9,
      admitted: true,
      kept: true,
    },
  ],
  winner: 1,
  tokenIds: [5, 1, 2, 4],
  text: 'a red',
  score: -0.3,
  finished: true,
  tokenTexts: { 0: '', 1: 'a</w>', 2: 'red</w>', 3: 'ball</w>', 4: '<end_of_text>', 5: '<start_of_text>' },
} as unknown as BeamTrace;

describe('the beam view rows', () => {
  it('spells token ids without sot, eot and pad', () => {
    expect(beamText(trace, [5, 1, 2, 4, 0])).toBe('a red');
  });

  it('lists each group’s beams per step with their running and length-normalised scores, and the winner’s path', () => {
    const rows = beamRows(trace);
    expect(rows).toHaveLength(2);
    const cells = rows.map((row) =>
      row.groups[0]!.beams.map((b) => [b.token, b.text, b.score, b.onWinnerPath]),
    );
    expect(cells).toEqual([
      [
        ['a·', 'a', -0.1, true],
        ['red·', 'red', -2, false],
      ],
      [
        ['red·', 'a red', -0.5, true],
        ['ball·', 'red ball', -2.5, false],
      ],
    ]);
    expect(rows[1]!.groups[0]!.beams[1]!.parent).toBe(1);
    // the hypothesis closed at step 1 sits in that step's row; the finalized one in none
    expect(rows[1]!.groups[0]!.closed.map((h) => [h.text, h.score, h.winner])).toEqual([['a', -0.6, false]]);
    expect(rows[0]!.groups[0]!.closed).toEqual([]);
  });

  it('lists every hypothesis with when it finished, its length, final score and the winner', () => {
    expect(hypothesisRows(trace).map((h) => [h.step, h.text, h.length, h.score, h.winner])).toEqual([
      [1, 'a', 2, -0.6, false],
      [null, 'a red', 3, -0.3, true],
    ]);
  });

  it('finds no tie and no repeated group when one group wins on score alone', () => {
    expect(beamTies(trace)).toEqual({ tied: [], identicalGroups: [] });
  });

  it('names three groups that ran the same search and the three-way tie the later group wins', () => {
    // three copies of the one group: the same beams every step, the same hypotheses, the last one the winner
    const copies = [0, 1, 2];
    const tripled = {
      ...trace,
      steps: trace.steps.map((step) => ({
        ...step,
        groups: copies.map((g) => ({ ...step.groups[0]!, group: g })),
      })),
      hypotheses: copies.flatMap((g) => trace.hypotheses.map((h) => ({ ...h, group: g }))),
      winner: 5,
    } as BeamTrace;
    expect(beamTies(tripled)).toEqual({ tied: [1, 3, 5], identicalGroups: [[0, 1, 2]] });
  });
});
