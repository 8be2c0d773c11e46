import { describe, expect, it } from 'vitest';
import { BAR_COLOURS, barDomain, stepBars, tokenBarsOption, tokenLabel, unionDomain } from './token-bars.ts';

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

  it('grows logit bars from a round floor, with ticks naming true values and the clipped floor labelled', () => {
    type Option = {
      xAxis: { max: number; interval: number; axisLabel: { formatter: (v: number) => string } };
      series: {
        data: { value: number }[];
        label: { formatter: (p: { dataIndex: number }) => string };
        markLine?: { label: { formatter: string } };
      }[];
      axis: { floor: number; ticks: number[]; clippedLabel: string | null };
    };
    const option = tokenBarsOption(stepBars(step, [-0.01, -199.8, -4.36, null], 4), {
      title: '',
      decimals: 2,
      baseline: 'min',
    }) as unknown as Option;
    // reversed order: −∞ (drawn empty), −199.8 (clipped at the floor), −4.36, −0.01
    const values = option.series[0].data.map((d) => d.value);
    expect(values[0]).toBe(0);
    expect(values[1]).toBe(0);
    expect(values[2]).toBeCloseTo(0.64);
    expect(values[3]).toBeCloseTo(4.99);
    expect(option.axis.floor).toBe(-5);
    expect(option.xAxis.max).toBe(5);
    expect(option.xAxis.axisLabel.formatter(0)).toBe('−5');
    expect(option.xAxis.axisLabel.formatter(4)).toBe('−1');
    expect(option.axis.clippedLabel).toBe('≤ −5');
    expect(option.series[0].markLine?.label.formatter).toBe('≤ −5');
    // the sentinel-scale value keeps its true value in the label
    expect(option.series[0].label.formatter({ dataIndex: 1 })).toBe('-199.80 ✂');
    expect(option.series[0].label.formatter({ dataIndex: 0 })).toBe('−∞');
  });

  it('draws no floor line when nothing is clipped, and widens the axis to a shared domain', () => {
    type Option = { series: { markLine?: unknown }[]; axis: { floor: number; ceiling: number } };
    const bars = stepBars(step, [-0.01, -0.86, -0.5, -0.3], 4);
    const own = tokenBarsOption(bars, { title: '', decimals: 2, baseline: 'min' }) as unknown as Option;
    expect(own.series[0].markLine).toBeUndefined();
    expect(own.axis).toMatchObject({ floor: -1, ceiling: 0 });
    const shared = unionDomain([barDomain(bars, 'min'), { low: -4.39, high: 1.2 }]);
    expect(shared).toEqual({ low: -4.39, high: 1.2 });
    const wide = tokenBarsOption(bars, {
      title: '',
      decimals: 2,
      baseline: 'min',
      domain: shared,
    }) as unknown as Option;
    expect(wide.axis).toMatchObject({ floor: -5, ceiling: 2 });
  });

  it('spans probabilities from zero and leaves sentinel logits out of a logit domain', () => {
    expect(barDomain(stepBars(step, [0.1, 0.6, 0, 0.3], 4))).toEqual({ low: 0, high: 0.6 });
    expect(barDomain(stepBars(step, [-0.5, -199.8, -2, null], 4), 'min')).toEqual({ low: -2, high: -0.5 });
    expect(barDomain(stepBars(step, [null, null, null, null], 4), 'min')).toBeNull();
    expect(unionDomain([null, null])).toBeNull();
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
