/**
 * Builds the ECharts option of one per-step token distribution (horizontal bars, largest first), marking the chosen
 * token and whether each token is in the kept set V. Pure, so it can be tested without a DOM.
 */
import type { TraceStep, TraceVector } from '../../../shared/caption.ts';

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

/**
 * The ECharts option for a list of bars; the largest bar is drawn at the top.
 *
 * `baseline: 'zero'` suits probabilities and weights. Logits are often all negative and close together (−0.01 vs
 * −199.8), where bars grown from zero would make the smallest value the longest bar; `baseline: 'min'` grows bars
 * from just below the smallest value shown instead, and every bar carries its true value as a label.
 */
export function tokenBarsOption(
  bars: TokenBar[],
  options: { title: string; decimals: number; baseline?: 'zero' | 'min' },
): Record<string, unknown> {
  const reversed = [...bars].reverse();
  const finite = bars.map((bar) => bar.value).filter((v): v is number => v !== null);
  let base = 0;
  /** Values below this are drawn as clipped stubs (sentinel region); −∞ when nothing is clipped. */
  let clipBelow = -Infinity;
  if (options.baseline === 'min' && finite.length) {
    const max = Math.max(...finite);
    clipBelow = max - SENTINEL_GAP;
    const shown = finite.filter((v) => v >= clipBelow);
    const min = Math.min(...shown);
    base = min - (max > min ? (max - min) * 0.05 : 1);
  }
  const clipped = (v: number | null) => v !== null && v < clipBelow;
  // a clipped bar is a short stub: 2 % of the longest bar drawn to scale
  const stub = finite.length ? (Math.max(...finite) - base) * 0.02 : 0;
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
          ? `${bar.label}: ${format(bar.value)} (${bar.role === 'chosen' ? 'chosen' : bar.role === 'kept' ? 'in V' : 'outside V'})`
          : '';
      },
    },
    xAxis: {
      type: 'value',
      min: 0,
      axisLabel: { show: options.baseline !== 'min', color: '#9aa3b2', fontSize: 10 },
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
          value: bar.value === null ? 0 : clipped(bar.value) ? stub : bar.value - base,
          itemStyle: clipped(bar.value)
            ? { color: BAR_COLOURS.dropped, opacity: 0.6 }
            : { color: BAR_COLOURS[bar.role] },
        })),
        label: {
          show: true,
          position: 'right',
          color: '#9aa3b2',
          fontSize: 10,
          formatter: (p: { dataIndex: number }) => format(reversed[p.dataIndex].value),
        },
      },
    ],
  };
}
