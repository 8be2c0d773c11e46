/**
 * Builds the ECharts option of one per-step token distribution (horizontal bars, largest first), marking the chosen
 * token and whether each token is in the kept set V. Pure, so it can be tested without a DOM.
 */
import type { TraceStep, TraceVector } from '../../../shared/caption.ts';
import { niceScale, tickLabel } from './axis.ts';

/** Colours of the bars: the chosen token, tokens in V, tokens outside V. */
export const BAR_COLOURS = { chosen: '#e69f00', kept: '#56b4e9', dropped: '#59606c' } as const;

/** One bar as shown: the token's label, its value (null = −∞ or missing) and its role. */
export interface TokenBar {
  id: number;
  label: string;
  value: number | null;
  role: keyof typeof BAR_COLOURS;
}

/**
 * Logits further than this below the largest one shown are in the masking-sentinel region (the −200-scale values
 * that stand for "never", and what is computed from them): their bars are clipped to a stub, their labels keep the
 * true value, so the scale stays readable for the values that matter.
 */
export const SENTINEL_GAP = 50;

/**
 * The `limit` largest entries of one of a trace step's vectors (aligned with `step.tokens`; null = −∞, sorted
 * last), tagged as chosen / in V / outside V. With `order` (another vector of the same step, e.g. the target's
 * logits), tokens are ranked by that vector instead, so every chart of a step lists the same tokens in one order. CLIP's word-end marker `</w>` (or the trailing space the trace uses
 * for it) is shown as `·`, so partial-word tokens stay visible.
 */
export function stepBars(
  step: Pick<TraceStep, 'tokens' | 'chosen'>,
  vector: TraceVector,
  limit: number,
  order?: TraceVector,
): TokenBar[] {
  if (vector.length !== step.tokens.length) {
    throw new Error(
      `stepBars: the vector has ${vector.length} values but the step records ${step.tokens.length} tokens`,
    );
  }
  const finite = (v: number | null | undefined) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const rank = order && order.length === step.tokens.length ? order : vector;
  return step.tokens
    .map((token, t) => ({
      bar: {
        id: token.id,
        label: tokenLabel(token.text),
        value: finite(vector[t]),
        role: (token.id === step.chosen ? 'chosen' : token.kept ? 'kept' : 'dropped') as TokenBar['role'],
      },
      key: finite(rank[t]) ?? -Infinity,
    }))
    .sort((a, b) => b.key - a.key || a.bar.id - b.bar.id)
    .slice(0, limit)
    .map(({ bar }) => bar);
}

/** A token's display label: word-end markers become `·`, empty text becomes its quoted form. */
export function tokenLabel(text: string): string {
  const shown = text.replace(/<\/w>$/, '·').replace(/ $/, '·');
  return shown.length ? shown : '""';
}

/** The value range a chart's axis must cover: its bars drawn to scale (sentinel-region logits left out). */
export interface BarDomain {
  low: number;
  high: number;
}

/**
 * The range of the bars drawn to scale: for logits, those within SENTINEL_GAP of the largest (the rest are clipped
 * at the floor); for probabilities and weights, every value and zero. Null when no bar has a finite value.
 */
export function barDomain(bars: TokenBar[], baseline: 'zero' | 'min' = 'zero'): BarDomain | null {
  const finite = bars.map((bar) => bar.value).filter((v): v is number => v !== null);
  if (!finite.length) return null;
  const high = Math.max(...finite);
  if (baseline === 'zero') return { low: Math.min(0, ...finite), high: Math.max(0, high) };
  return { low: Math.min(...finite.filter((v) => v >= high - SENTINEL_GAP)), high };
}

/** The smallest range covering every given one (null ones skipped): the one scale of charts read side by side. */
export function unionDomain(domains: (BarDomain | null)[]): BarDomain | null {
  const present = domains.filter((d): d is BarDomain => d !== null);
  if (!present.length) return null;
  return { low: Math.min(...present.map((d) => d.low)), high: Math.max(...present.map((d) => d.high)) };
}

/**
 * The ECharts option for a list of bars; the largest bar is drawn at the top, on a value axis with round ticks.
 *
 * `baseline: 'zero'` suits probabilities and weights. Logits are often all negative and close together (−0.01 vs
 * −4.39), where bars grown from zero would make the smallest value the longest bar; `baseline: 'min'` grows bars
 * from the axis floor instead (a round value at or below the smallest logit drawn to scale), and the ticks name
 * true values, so a bar's length reads against the axis. Sentinel-scale logits (−200, "never") sit below the floor:
 * they are drawn at it, the floor gets a labelled line ("≤ −5"), and their labels keep the true value. `domain`
 * widens the axis to a range shared with other charts (one scale for the logits of a step).
 */
export function tokenBarsOption(
  bars: TokenBar[],
  options: { title: string; decimals: number; baseline?: 'zero' | 'min'; domain?: BarDomain | null },
): Record<string, unknown> {
  const baseline = options.baseline ?? 'zero';
  const reversed = [...bars].reverse();
  const own = barDomain(bars, baseline);
  const range = unionDomain([own, options.domain ?? null]) ?? { low: 0, high: 1 };
  const scale = niceScale(range.low, range.high);
  const base = scale.floor;
  const clipped = (v: number | null) => v !== null && v < base;
  const anyClipped = reversed.some((bar) => clipped(bar.value));
  const floorText = `≤ ${tickLabel(base, scale.step)}`;
  const format = (v: number | null) =>
    v === null ? '−∞' : clipped(v) ? `${v.toFixed(options.decimals)} ✂` : v.toFixed(options.decimals);
  return {
    animation: false,
    title: {
      text: options.title,
      left: 0,
      top: 0,
      textStyle: { color: '#c9d1dd', fontSize: 12, fontWeight: 600 },
    },
    grid: { left: 8, right: 52, top: options.title ? 22 : 6, bottom: 4, containLabel: true },
    tooltip: {
      trigger: 'axis',
      axisPointer: { type: 'shadow' },
      formatter: (params: { dataIndex: number }[]) => {
        const bar = reversed[params[0]?.dataIndex ?? 0];
        return bar
          ? `${bar.label}: ${format(bar.value)}${clipped(bar.value) ? ` (below the floor, drawn at ${floorText})` : ''} (${bar.role === 'chosen' ? 'chosen' : bar.role === 'kept' ? 'in V' : 'outside V'})`
          : '';
      },
    },
    // the axis runs over the bar lengths (value − floor); its labels add the floor back, so ticks name true values
    xAxis: {
      type: 'value',
      min: 0,
      max: scale.ceiling - base,
      interval: scale.step,
      axisLabel: {
        show: true,
        color: '#9aa3b2',
        fontSize: 10,
        hideOverlap: true,
        formatter: (v: number) => tickLabel(v + base, scale.step),
      },
      splitLine: { lineStyle: { color: '#262b35' } },
    },
    yAxis: {
      type: 'category',
      data: reversed.map((bar) => bar.label),
      axisLabel: { color: '#c9d1dd', fontSize: 11, fontFamily: 'monospace' },
      axisTick: { show: false },
    },
    series: [
      {
        type: 'bar',
        barMaxWidth: 12,
        data: reversed.map((bar) => ({
          value: bar.value === null || clipped(bar.value) ? 0 : bar.value - base,
          itemStyle: { color: BAR_COLOURS[bar.role] },
        })),
        label: {
          show: true,
          position: 'right',
          color: '#9aa3b2',
          fontSize: 10,
          formatter: (p: { dataIndex: number }) => format(reversed[p.dataIndex].value),
        },
        markLine: anyClipped
          ? {
              silent: true,
              symbol: 'none',
              lineStyle: { color: '#d55e00', type: 'dashed', width: 1.5 },
              label: { formatter: floorText, position: 'insideEndTop', color: '#f0a35e', fontSize: 10 },
              data: [{ xAxis: 0 }],
            }
          : undefined,
      },
    ],
    /** Read by tests and the e2e (data-floor): the axis and the clipped floor's label, when bars are clipped. */
    axis: { ...scale, clippedLabel: anyClipped ? floorText : null },
  };
}
