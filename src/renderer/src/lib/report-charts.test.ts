import { describe, expect, it } from 'vitest';
import { dosHistogramOption, keptShareOption, lastBin } from './report-charts.ts';

const edges = [0, 1, 2, 3];
const empty = { edges: [], counts: [] };

describe('report charts', () => {
  it('labels the open-ended last bin "≥ edge" and says the axis is clipped when it holds a candidate', () => {
    const histograms = { beam: empty, sampling: empty, dcs: { edges, counts: [1, 2, 1] } };
    expect(lastBin(histograms)).toEqual({
      label: '≥ 2.00',
      clipped: true,
      note: 'axis clipped: the last bin holds every DoS ≥ 2.00, values past 3.0 included',
    });
    const option = dosHistogramOption(histograms, 2.5) as {
      xAxis: { data: string[] };
      series: { markLine?: { data: { xAxis: string }[] } }[];
    };
    expect(option.xAxis.data).toEqual(['0.00', '1.00', '≥ 2.00']);
    // τ inside the last bin still marks it
    expect(option.series[2]!.markLine!.data[0]!.xAxis).toBe('≥ 2.00');
  });

  it('says nothing is clipped when the last bin is empty, and has no last bin without bins', () => {
    expect(lastBin({ beam: empty, sampling: empty, dcs: { edges, counts: [1, 2, 0] } })?.clipped).toBe(false);
    expect(lastBin({ beam: empty, sampling: empty, dcs: empty })).toBeNull();
  });

  it('puts the legend below the plot, away from τ’s label at the top of its line', () => {
    const histograms = { beam: empty, sampling: empty, dcs: { edges, counts: [1, 2, 1] } };
    for (const option of [
      dosHistogramOption(histograms, 1.3),
      keptShareOption([{ name: 'stored', tau: [1, 2], share: [0.5, 0.2] }], 1.3),
    ] as { legend: { top?: number; bottom?: number } }[]) {
      expect(option.legend.top).toBeUndefined();
      expect(option.legend.bottom).toBe(0);
    }
  });
});
