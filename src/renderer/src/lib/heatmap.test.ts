import { describe, expect, it } from 'vitest';
import type { CaptionTrace, TraceStep } from '../../../shared/caption.ts';
import { captionHeatmap, darkText, heatColour, heatGradient, samplingProbabilities } from './heatmap.ts';

const text = ['', 'a ', 'red ', 'blue ', 'ball ', '</w>'];

/** A step over tokens 1..5: `z` are the processed logits, `w` the final weights (0 outside V). */
function step(index: number, z: number[], w: number[], chosen: number): TraceStep {
  const ids = [1, 2, 3, 4, 5];
  const sum = w.reduce((a, b) => a + b, 0);
  return {
    step: index,
    tokens: ids.map((id, t) => ({ id, text: text[id]!, kept: w[t]! > 0 })),
    keptCount: w.filter((x) => x > 0).length,
    raw: z,
    processed: z,
    filtered: z,
    naive: w.map((x) => x / sum),
    weights: w,
    weightSum: sum,
    forced: false,
    chosen,
    chosenText: text[chosen]!,
  };
}

function trace(steps: TraceStep[], words: string): CaptionTrace {
  return { steps, text: words } as unknown as CaptionTrace;
}

describe('the whole-caption heatmap', () => {
  it('gives the sampling probability of each token: final weight / Σ weights, 0 outside V', () => {
    expect(samplingProbabilities(step(0, [5, 4, 3, 2, 1], [2, 1, 1, 0, 0], 1))).toEqual([
      0.5, 0.25, 0.25, 0, 0,
    ]);
  });

  it('takes the union of each panel’s top tokens per step, ordered by z_i, with the chosen token marked', () => {
    // naive: "a" then "red"; DCS: "blue" (its top-2 at step 0 is blue, red), then "ball"
    const naive = trace(
      [step(0, [5, 4, 3, 2, 1], [6, 3, 1, 0, 0], 1), step(1, [1, 5, 4, 3, 2], [0, 7, 2, 1, 0], 2)],
      'a red',
    );
    const dcs = trace(
      [step(0, [5, 4, 3, 2, 1], [1, 3, 6, 0, 0], 3), step(1, [1, 2, 3, 5, 4], [0, 0, 1, 8, 1], 4)],
      'blue ball',
    );
    const map = captionHeatmap(
      [
        { label: 'naive', trace: naive },
        { label: 'DCS', trace: dcs },
      ],
      2,
    );
    // step 0: naive top-2 {a, red} ∪ DCS top-2 {blue, red}, in z_i order a (5), red (4), blue (3)
    expect(map.columns[0]).toEqual([1, 2, 3]);
    // step 1: naive top-2 {red, blue} ∪ DCS top-2 {ball, blue} (blue and </w> tie at 1: the lower id); the
    // prefixes differ now, and the first panel's z_i orders the row: red 5, blue 4, ball 3
    expect(map.columns[1]).toEqual([2, 3, 4]);
    expect(map.width).toBe(3);
    const [n, d] = map.panels;
    expect(n!.rows[0]!.cells.map((c) => [c.label, c.p, c.chosen])).toEqual([
      ['a·', 0.6, true],
      ['red·', 0.3, false],
      ['blue·', 0.1, false],
    ]);
    expect(d!.rows[1]!.cells.map((c) => [c.label, c.p, c.chosen])).toEqual([
      ['red·', 0, false],
      ['blue·', 0.1, false],
      ['ball·', 0.8, true],
    ]);
  });

  it('leaves a panel’s rows empty after its caption ended and marks tokens it did not record', () => {
    const long = trace(
      [step(0, [5, 4, 3, 2, 1], [1, 1, 0, 0, 2], 1), step(1, [5, 4, 3, 2, 1], [1, 0, 0, 0, 0], 1)],
      'a a',
    );
    const short = trace([step(0, [5, 4, 3, 2, 1], [1, 1, 0, 0, 0], 2)], 'red');
    short.steps[0]!.tokens = short.steps[0]!.tokens.slice(0, 4);
    for (const key of ['raw', 'processed', 'filtered', 'naive', 'weights'] as const)
      short.steps[0]![key] = short.steps[0]![key].slice(0, 4);
    const map = captionHeatmap(
      [
        { label: 'naive', trace: long },
        { label: 'DCS', trace: short },
      ],
      5,
    );
    expect(map.panels[1]!.rows[1]).toBeNull();
    expect(map.panels[0]!.rows[1]!.cells.map((c) => c.id)).toEqual([1]);
    // token 5 (</w>, the long panel's top token at step 0) is not recorded by the short panel: no probability there,
    // but it is still named, with the other panel's text
    expect(map.columns[0]).toEqual([1, 2, 5]);
    expect(map.panels[1]!.rows[0]!.cells.map((c) => [c.label, c.p])).toEqual([
      ['a·', 0.5],
      ['red·', 0.5],
      ['·', null],
    ]);
    expect(map.panels[0]!.rows[0]!.cells[2]!.p).toBe(0.5);
    // top 1: </w> at step 0, and the chosen token is always a column
    expect(captionHeatmap([{ label: 'x', trace: long }], 1).columns).toEqual([[1, 5], [1]]);
    expect(() => captionHeatmap([], 0)).toThrow('topN must be an integer ≥ 1, got 0');
  });

  it('colours on one linear 0–1 scale: dark at 0, bright at 1, the legend with the same stops', () => {
    expect(heatColour(0)).toBe('rgb(68 1 84)');
    expect(heatColour(1)).toBe('rgb(253 231 37)');
    expect(heatColour(2)).toBe(heatColour(1));
    expect(heatColour(0.5)).toBe('rgb(33 144 141)');
    expect(darkText(0.9)).toBe(true);
    expect(darkText(0.1)).toBe(false);
    expect(heatGradient()).toMatch(/^linear-gradient\(to right, rgb\(68 1 84\), .* rgb\(253 231 37\)\)$/);
  });
});
