/**
 * The inspector's whole-caption heatmap: steps × top tokens, one panel per decoding (naive and DCS of the same crop
 * and random stream), colour = the probability the step sampled the token with. Pure, so it is tested without a DOM.
 *
 * Per step, the columns are the union of each panel's top tokens (by sampling probability) at that step, in one
 * order shared by the panels: the target logits z_i (processed), the order the step's bar charts use. Until the
 * first divergence both panels decode the same prefix, so a column is the same token with the same z_i in both;
 * after it the prefixes differ, the first panel's z_i orders the row and each panel shows its own probabilities.
 */
import type { CaptionTrace, TraceStep } from '../../../shared/caption.ts';
import { tokenLabel } from './token-bars.ts';

/** One cell: a token at a step, in one panel. */
export interface HeatCell {
  id: number;
  label: string;
  /** The sampling probability (final weight / Σ weights); 0 outside V; null when the panel did not record it. */
  p: number | null;
  chosen: boolean;
}

/** One panel's row of a step; null when that decoding had already ended. */
export type HeatRow = { step: number; forced: boolean; cells: HeatCell[] } | null;

/** The heatmap: per step, the shared token order, and each panel's row. */
export interface Heatmap {
  panels: { label: string; text: string; rows: HeatRow[] }[];
  /** Token ids per step, in column order (shared by the panels). */
  columns: number[][];
  /** The widest step's column count. */
  width: number;
}

/** The probability the step sampled each recorded token with (aligned with `step.tokens`; null = not finite). */
export function samplingProbabilities(step: TraceStep): (number | null)[] {
  return step.weights.map((w) =>
    w === null ? 0 : step.weightSum > 0 && Number.isFinite(w) ? w / step.weightSum : null,
  );
}

/** Builds the heatmap of `panels` (traces of the same crop) with the top `topN` tokens of each panel per step. */
export function captionHeatmap(panels: { label: string; trace: CaptionTrace }[], topN: number): Heatmap {
  if (!Number.isInteger(topN) || topN < 1) throw new RangeError(`topN must be an integer ≥ 1, got ${topN}`);
  const steps = Math.max(0, ...panels.map((panel) => panel.trace.steps.length));
  const columns: number[][] = [];
  /** Token texts by id from every panel (a token one panel did not record is still named). */
  const texts = new Map<number, string>();
  for (const { trace } of panels)
    for (const step of trace.steps) for (const token of step.tokens) texts.set(token.id, token.text);
  for (let s = 0; s < steps; s++) {
    const ids = new Set<number>();
    /** z_i per token id, first panel first (the order of the step's charts). */
    const order = new Map<number, number>();
    for (const { trace } of panels) {
      const step = trace.steps[s];
      if (!step) continue;
      const p = samplingProbabilities(step);
      step.tokens
        .map((token, t) => ({ id: token.id, p: p[t] ?? 0 }))
        .filter((entry) => entry.p > 0)
        .sort((a, b) => b.p - a.p || a.id - b.id)
        .slice(0, topN)
        .forEach((entry) => ids.add(entry.id));
      ids.add(step.chosen);
      step.tokens.forEach((token, t) => {
        if (!order.has(token.id)) order.set(token.id, step.processed[t] ?? -Infinity);
      });
    }
    columns.push([...ids].sort((a, b) => (order.get(b) ?? -Infinity) - (order.get(a) ?? -Infinity) || a - b));
  }
  return {
    panels: panels.map(({ label, trace }) => ({
      label,
      text: trace.text,
      rows: columns.map((ids, s): HeatRow => {
        const step = trace.steps[s];
        if (!step) return null;
        const p = samplingProbabilities(step);
        const position = new Map(step.tokens.map((token, t) => [token.id, t]));
        return {
          step: s,
          forced: step.forced,
          cells: ids.map((id) => {
            const t = position.get(id);
            return {
              id,
              label: tokenLabel(texts.get(id) ?? String(id)),
              p: t === undefined ? null : (p[t] ?? null),
              chosen: id === step.chosen,
            };
          }),
        };
      }),
    })),
    columns,
    width: Math.max(0, ...columns.map((ids) => ids.length)),
  };
}

/** Viridis at 9 stops (perceptually uniform, colour-blind safe, dark → bright as the probability grows). */
const VIRIDIS: [number, number, number][] = [
  [68, 1, 84],
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 144, 141],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37],
];

/** The colour of probability `p` on a linear 0–1 scale (clamped); the legend shows the same scale. */
export function heatColour(p: number): string {
  const x = Math.min(1, Math.max(0, p)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const [a, b] = [VIRIDIS[i]!, VIRIDIS[i + 1]!];
  const mix = (k: 0 | 1 | 2) => Math.round(a[k] + (b[k] - a[k]) * f);
  return `rgb(${mix(0)} ${mix(1)} ${mix(2)})`;
}

/** Whether text on `heatColour(p)` should be dark (bright cells) for contrast. */
export function darkText(p: number): boolean {
  return p >= 0.6;
}

/** The legend's CSS gradient: the same stops as {@link heatColour}, left = 0, right = 1. */
export function heatGradient(): string {
  return `linear-gradient(to right, ${VIRIDIS.map(([r, g, b]) => `rgb(${r} ${g} ${b})`).join(', ')})`;
}
