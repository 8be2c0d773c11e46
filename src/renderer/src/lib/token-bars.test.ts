import { describe, expect, it } from 'vitest';
import { BAR_COLOURS, stepBars, tokenBarsOption, tokenLabel } from './token-bars.ts';

const step = {
  chosen: 4,
  tokens: [
    { id: 1, text: 'a ', kept: false },
    { id: 2, text: 'red ', kept: true },
    { id: 3, text: 'circ', kept: false },
    { id: 4, text: 'blue</w>', kept: true },
  ],
};

describe('inspector token bars', () => {
  it('orders tokens by value, puts −∞ (null) last and marks the chosen token and the kept set', () => {
    const bars = stepBars(step, [1.5, 3, null, 2], 3);
    expect(bars.map((bar) => bar.label)).toEqual(['red·', 'blue·', 'a·']);
    expect(bars.map((bar) => bar.role)).toEqual(['kept', 'chosen', 'dropped']);
  });

  it('shows −∞ entries as missing values', () => {
    const bars = stepBars(step, [1, null, 0, 2], 10);
    expect(bars[3]).toEqual({ id: 2, label: 'red·', value: null, role: 'kept' });
  });

  it('refuses a vector that is not aligned with the step tokens', () => {
    expect(() => stepBars(step, [1, 2], 5)).toThrow(
      'stepBars: the vector has 2 values but the step records 4 tokens',
    );
  });

  it('labels word ends and empty tokens visibly', () => {
    expect(tokenLabel('circ')).toBe('circ');
    expect(tokenLabel('')).toBe('""');
  });

  it('draws the largest bar at the top with its role colour', () => {
    const option = tokenBarsOption(stepBars(step, [0, 3, 0, 2], 2), { title: 'target', decimals: 2 }) as {
      yAxis: { data: string[] };
      series: { data: { itemStyle: { color: string } }[] }[];
    };
    expect(option.yAxis.data).toEqual(['blue·', 'red·']);
    expect(option.series[0].data[0].itemStyle.color).toBe(BAR_COLOURS.chosen);
  });

  it('grows logit bars from just below the smallest value so that the largest logit is the longest bar', () => {
    const option = tokenBarsOption(stepBars(step, [-0.01, -199.8, -4.36, null], 4), {
      title: '',
      decimals: 2,
      baseline: 'min',
    }) as {
      series: { data: { value: number }[]; label: { formatter: (p: { dataIndex: number }) => string } }[];
    };
    // reversed order: −∞ (drawn empty), −199.8, −4.36, −0.01
    const values = option.series[0].data.map((d) => d.value);
    expect(values[0]).toBe(0);
    expect(values[3]).toBeGreaterThan(values[2]);
    expect(values[2]).toBeGreaterThan(values[1]);
    expect(values[1]).toBeGreaterThan(0);
    // the sentinel-scale value is clipped to a stub but keeps its true value in the label
    expect(option.series[0].label.formatter({ dataIndex: 1 })).toBe('-199.80 ✂');
    expect(option.series[0].label.formatter({ dataIndex: 0 })).toBe('−∞');
  });

  it('scales logit bars to the values that matter, not to the −200 sentinel', () => {
    type Bars = { series: { data: { value: number }[] }[] };
    const option = tokenBarsOption(stepBars(step, [-0.66, -1.89, -199.79, -199.79], 4), {
      title: '',
      decimals: 2,
      baseline: 'min',
    }) as Bars;
    // reversed: −199.79, −199.79, −1.89, −0.66
    const [s1, s2, low, high] = option.series[0].data.map((d) => d.value);
    expect(high / low).toBeGreaterThan(5);
    expect(s1).toBeCloseTo(s2, 9);
    expect(s1).toBeLessThan(low);
  });

  it('ranks every chart of a step by one vector, so tokens keep their rows across charts', () => {
    const byTarget = [-0.01, -4.0, -2.0, -0.5];
    const weights = [0.1, 0.6, 0.0, 0.3];
    expect(stepBars(step, weights, 4, byTarget).map((b) => b.id)).toEqual([1, 4, 3, 2]);
    expect(stepBars(step, byTarget, 4, byTarget).map((b) => b.id)).toEqual([1, 4, 3, 2]);
    expect(stepBars(step, weights, 4).map((b) => b.id)).toEqual([2, 4, 1, 3]);
  });
});
