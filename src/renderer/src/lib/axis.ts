/**
 * Value axes with round ticks: the chart's floor and ceiling snap to a 1-2-5 step, so every chart of the inspector
 * reads on one linear scale whose ticks name true values. Pure, so it is tested without a DOM.
 */

/** A linear axis: its floor, ceiling, tick step and the ticks (floor to ceiling inclusive). */
export interface NiceScale {
  floor: number;
  ceiling: number;
  step: number;
  ticks: number[];
}

/**
 * The round axis that covers [low, high] with about `count` intervals: step 1, 2 or 5 × 10ⁿ, floor and ceiling
 * multiples of the step (floor ≤ low, ceiling ≥ high).
 *
 * A single value (low = high) gets one step on either side, so its bar still has a length to read.
 */
export function niceScale(low: number, high: number, count = 4): NiceScale {
  if (!Number.isFinite(low) || !Number.isFinite(high)) {
    throw new Error(`niceScale: low and high must be finite numbers, got ${low} and ${high}`);
  }
  if (low > high) throw new Error(`niceScale: low (${low}) must not exceed high (${high})`);
  if (!Number.isInteger(count) || count < 1) {
    throw new Error(`niceScale: count must be a positive integer, got ${count}`);
  }
  const step = high > low ? niceStep((high - low) / count) : niceStep(Math.max(Math.abs(low), 1));
  let floor = Math.floor(low / step) * step;
  let ceiling = Math.ceil(high / step) * step;
  if (ceiling === floor) {
    floor -= low === 0 ? 0 : step;
    ceiling += step;
  }
  const ticks: number[] = [];
  // integer tick indices avoid the drift of repeated float additions (0.1 + 0.2)
  for (let i = 0; floor + i * step <= ceiling + step / 2; i++) ticks.push(roundTo(floor + i * step, step));
  return { floor: roundTo(floor, step), ceiling: roundTo(ceiling, step), step, ticks };
}

/** A tick's text with as many decimals as the step needs (−5, −2.5, 0.25) and a true minus sign. */
export function tickLabel(value: number, step: number): string {
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const text = (Object.is(value, -0) ? 0 : value).toFixed(Math.min(decimals + 1, 6));
  const trimmed = text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
  return trimmed.replace(/^-/, '−');
}

/** The 1-2-5 × 10ⁿ step nearest to `raw` (on a log scale: the thresholds are √2, √10, √50, as d3's ticks). */
function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  const nice =
    fraction >= Math.sqrt(50) ? 10 : fraction >= Math.sqrt(10) ? 5 : fraction >= Math.SQRT2 ? 2 : 1;
  return nice * power;
}

/** `value` rounded to the step's decimals (so −4.999999 prints and compares as −5). */
function roundTo(value: number, step: number): number {
  const decimals = Math.max(0, -Math.floor(Math.log10(step)) + 2);
  const rounded = Number(value.toFixed(decimals));
  return Object.is(rounded, -0) ? 0 : rounded;
}
