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
 * The `limit` largest entries of one of a trace step's vectors (aligned with `step.tokens`; null = −∞, sorted
 * last), tagged as chosen / in V / outside V. CLIP's word-end marker `</w>` (or the trailing space the trace uses
 * for it) is shown as `·`, so partial-word tokens stay visible.
 */
export function stepBars(step: Pick<TraceStep, 'tokens' | 'chosen'>, vector: TraceVector, limit: number): TokenBar[] {
  if (vector.length !== step.tokens.length) {
    throw new Error(`stepBars: the vector has ${vector.length} values but the step records ${step.tokens.length} tokens`);
  }
  const finite = (v: number | null | undefined) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  return step.tokens
    .map((token, t) => ({
      id: token.id,
      label: tokenLabel(token.text),
      value: finite(vector[t]),
      role: (token.id === step.chosen ? 'chosen' : token.kept ? 'kept' : 'dropped') as TokenBar['role'],
    }))
    .sort((a, b) => (b.value ?? -Infinity) - (a.value ?? -Infinity))
    .slice(0, limit);
}

/** A token's display label: word-end markers become `·`, empty text becomes its quoted form. */
export function tokenLabel(text: string): string {
  const shown = text.replace(/<\/w>$/, '·').replace(/ $/, '·');
  return shown.length ? shown : '""';
}

/** The ECharts option for a list of bars; the largest bar is drawn at the top. */
export function tokenBarsOption(bars: TokenBar[], options: { title: string; decimals: number }): Record<string, unknown> {
  const reversed = [...bars].reverse();
  return {
    animation: false,
    title: { text: options.title, left: 0, top: 0, textStyle: { color: '#c9d1dd', fontSize: 12, fontWeight: 600 } },
    grid: { left: 8, right: 48, top: 22, bottom: 4, containLabel: true },
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v: unknown) => (typeof v === 'number' ? v.toFixed(options.decimals) : '−∞') },
    xAxis: { type: 'value', axisLabel: { color: '#9aa3b2', fontSize: 10 }, splitLine: { lineStyle: { color: '#262b35' } }, scale: true },
    yAxis: { type: 'category', data: reversed.map((bar) => bar.label), axisLabel: { color: '#c9d1dd', fontSize: 11, fontFamily: 'monospace' }, axisTick: { show: false } },
    series: [
      {
        type: 'bar',
        barMaxWidth: 12,
        data: reversed.map((bar) => ({ value: bar.value ?? '-', itemStyle: { color: BAR_COLOURS[bar.role] } })),
        label: { show: true, position: 'right', color: '#9aa3b2', fontSize: 10, formatter: (p: { value: unknown }) => (typeof p.value === 'number' ? p.value.toFixed(options.decimals) : '−∞') },
      },
    ],
  };
}
