/** Number formatting for dense tables: fixed decimals, a dash for missing values, ∞ spelled out. */

/** A score with fixed decimals; `null`/`undefined`/NaN print as an en dash so columns stay aligned. */
export function fixed(value: number | null | undefined, decimals = 2): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  if (value === Infinity) return '∞';
  if (value === -Infinity) return '−∞';
  return value.toFixed(decimals);
}

/** A share in [0, 1] as a percentage with one decimal. */
export function percent(share: number | null | undefined): string {
  if (share === null || share === undefined || Number.isNaN(share)) return '–';
  return `${(share * 100).toFixed(1)} %`;
}

/** A count with thin-space thousands separators (10 000), locale-independent so screenshots are stable. */
export function count(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, '\u2009');
}

/** Milliseconds as a short human duration. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}
