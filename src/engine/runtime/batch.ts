/**
 * Batch sizes that fit the device (per role and provider): chosen from a short measurement of per-row time at a few
 * sizes when a session starts, or fixed by a setting, and recorded in the run's repro record. Never a constant tuned
 * for one machine: on a CPU a batch can be slower per row than B = 1.
 */

/** A measured batch size: the chosen size and the per-row milliseconds it was chosen from. */
export interface BatchChoice {
  size: number;
  /** 'measured' at session start, or 'setting' (a fixed number). */
  source: 'measured' | 'setting';
  timings?: { batch: number; msPerRow: number }[];
}

/** Batch sizes tried by a measurement: 1, 4, 16, 64, 256, … up to `max` (and `max` itself). */
export function batchCandidates(max: number): number[] {
  const out: number[] = [];
  for (let size = 1; size < max; size *= 4) out.push(size);
  out.push(max);
  return out;
}

/**
 * The batch size to use from measured per-row times: the fastest per row, preferring the smaller size when two are
 * within 5 % (less memory, earlier rows out). A CPU may be fastest at B = 1; a GPU at the largest size.
 */
export function pickBatchSize(timings: readonly { batch: number; msPerRow: number }[]): number {
  if (timings.length === 0) throw new RangeError('no batch-size timings to choose from');
  const best = Math.min(...timings.map((t) => t.msPerRow));
  return [...timings].sort((a, b) => a.batch - b.batch).find((t) => t.msPerRow <= best * 1.05)!.batch;
}

/** Stop trying larger batches once the per-row time is 25 % worse than the best so far. */
export function stopMeasuring(timings: readonly { batch: number; msPerRow: number }[]): boolean {
  const best = Math.min(...timings.map((t) => t.msPerRow));
  return timings[timings.length - 1]!.msPerRow > best * 1.25;
}
