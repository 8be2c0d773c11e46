/** ECharts options of the report: DoS histograms per decoding method and kept share vs τ. Pure functions. */
import type { HistogramView } from '../../../shared/api.ts';

const TEXT = { color: '#9aa3b2', fontSize: 11 };
const SPLIT = { lineStyle: { color: '#262b35' } };
/** Okabe–Ito colours per method, fixed so the two charts agree. */
export const METHOD_COLOURS = { beam: '#56b4e9', sampling: '#e69f00', dcs: '#009e73' } as const;
const METHOD_NAMES = { beam: 'beam', sampling: 'plain sampling', dcs: 'DCS' } as const;

/** The legend below the plot, so that τ's label at the top of its line never lands on it. */
const LEGEND = { bottom: 0, textStyle: TEXT };
const GRID = { left: 8, right: 16, top: 28, bottom: 30, containLabel: true };

/**
 * Whether the histogram's last bin is open-ended: the engine puts every DoS past its last edge there, so the bin is
 * labelled "≥ edge" and, when it holds any candidate, the chart says that its axis is clipped. Null without bins.
 */
export function lastBin(
  histograms: Record<'beam' | 'sampling' | 'dcs', HistogramView>,
): { label: string; clipped: boolean; note: string | null } | null {
  const reference = referenceHistogram(histograms);
  const n = reference.edges.length;
  if (n < 2) return null;
  const from = reference.edges[n - 2]!;
  const top = reference.edges[n - 1]!;
  const clipped = (['beam', 'sampling', 'dcs'] as const).some(
    (method) => (histograms[method].counts[n - 2] ?? 0) > 0,
  );
  return {
    label: `≥ ${from.toFixed(2)}`,
    clipped,
    note: clipped
      ? `axis clipped: the last bin holds every DoS ≥ ${from.toFixed(2)}, values past ${top.toFixed(1)} included`
      : null,
  };
}

/**
 * Grouped histogram bars of DoS for beam / plain / DCS candidates, with τ marked. Bins come from the engine; bars
 * are labelled by their lower edge. Counts are turned into shares of each method so that methods with different
 * candidate counts compare.
 */
export function dosHistogramOption(
  histograms: Record<'beam' | 'sampling' | 'dcs', HistogramView>,
  tau: number,
): Record<string, unknown> {
  const reference = referenceHistogram(histograms);
  const labels = reference.edges.slice(0, -1).map((edge) => edge.toFixed(2));
  const last = lastBin(histograms);
  // the open-ended last bin says so on the axis ("≥ 2.90"); τ in it still finds its label
  if (last) labels[labels.length - 1] = last.label;
  const tauLabel = labelOfValue(reference.edges, tau, labels);
  const series = (['beam', 'sampling', 'dcs'] as const).map((method) => {
    const counts = histograms[method].counts;
    const total = counts.reduce((a, b) => a + b, 0);
    return {
      name: METHOD_NAMES[method],
      type: 'bar',
      barGap: 0,
      itemStyle: { color: METHOD_COLOURS[method] },
      data: counts.map((c) => (total > 0 ? c / total : 0)),
      ...(method === 'dcs' && tauLabel !== null
        ? {
            markLine: {
              symbol: 'none',
              lineStyle: { color: '#e0645c', type: 'dashed' },
              label: { formatter: `τ = ${tau.toFixed(2)}`, color: '#e0645c' },
              data: [{ xAxis: tauLabel }],
            },
          }
        : {}),
    };
  });
  return {
    animation: false,
    legend: LEGEND,
    grid: GRID,
    tooltip: {
      trigger: 'axis',
      valueFormatter: (v: unknown) => (typeof v === 'number' ? `${(v * 100).toFixed(1)} %` : ''),
    },
    xAxis: { type: 'category', data: labels, name: 'DoS', nameTextStyle: TEXT, axisLabel: TEXT },
    yAxis: {
      type: 'value',
      name: 'share',
      nameTextStyle: TEXT,
      axisLabel: { ...TEXT, formatter: (v: number) => `${Math.round(v * 100)}%` },
      splitLine: SPLIT,
    },
    series,
  };
}

/** Kept share vs τ: the engine's curve and the one computed in the page from stored scores, τ marked. */
export function keptShareOption(
  curves: { name: string; tau: number[]; share: number[] }[],
  tau: number,
): Record<string, unknown> {
  return {
    animation: false,
    legend: LEGEND,
    grid: GRID,
    tooltip: {
      trigger: 'axis',
      valueFormatter: (v: unknown) => (typeof v === 'number' ? `${(v * 100).toFixed(1)} %` : ''),
    },
    xAxis: { type: 'value', name: 'τ', nameTextStyle: TEXT, axisLabel: TEXT, splitLine: SPLIT, min: 0 },
    yAxis: {
      type: 'value',
      name: 'kept',
      min: 0,
      max: 1,
      nameTextStyle: TEXT,
      axisLabel: { ...TEXT, formatter: (v: number) => `${Math.round(v * 100)}%` },
      splitLine: SPLIT,
    },
    series: curves.map((curve, i) => ({
      name: curve.name,
      type: 'line',
      showSymbol: false,
      lineStyle: i === 0 ? { width: 2 } : { width: 1, type: 'dashed' },
      data: curve.tau.map((t, k) => [t, curve.share[k]]),
      ...(i === 0
        ? {
            markLine: {
              symbol: 'none',
              lineStyle: { color: '#e0645c', type: 'dashed' },
              label: { formatter: `τ = ${tau.toFixed(2)}`, color: '#e0645c' },
              data: [{ xAxis: tau }],
            },
          }
        : {}),
    })),
  };
}

// The category label of the bin holding `value`, or null when it is outside the edges.
function labelOfValue(edges: number[], value: number, labels: string[]): string | null {
  for (let i = 0; i + 1 < edges.length; i++) if (value >= edges[i] && value < edges[i + 1]) return labels[i]!;
  return null;
}

// The histogram whose bins label the axis: DCS's, else beam's, else plain sampling's.
function referenceHistogram(histograms: Record<'beam' | 'sampling' | 'dcs', HistogramView>): HistogramView {
  return histograms.dcs.edges.length
    ? histograms.dcs
    : histograms.beam.edges.length
      ? histograms.beam
      : histograms.sampling;
}
