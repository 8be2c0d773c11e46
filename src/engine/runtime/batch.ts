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
  /** Why this size, in words (printed by `masks` and `doctor`). */
  reason?: string;
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

/** A batch size chosen for a known amount of work, with the predicted cost of each measured size. */
export interface RunBatchChoice {
  size: number;
  /** Per measured size: runs needed for the work and the predicted total milliseconds (runs × measured run time). */
  predictions: { batch: number; runs: number; totalMs: number }[];
  reason: string;
}

/**
 * The batch size for `total` items from measured per-run times: the fewest runs whose predicted total time is within
 * 5 % of the fastest total.
 *
 * `msPerRow` must come from the whole run's wall time (feeds, `session.run`, reading the outputs) divided by the batch,
 * so the fixed cost each run pays is counted: the total for B is ⌈total / B⌉ runs × B × msPerRow(B). So B = 1 is kept
 * only when every batch is over 5 % slower in total; a batch that costs no more time but saves runs is taken (the
 * per-row rule of {@link pickBatchSize} picked B = 1 for SAM on a CPU, 1024 runs per image, whenever batching gained
 * under 5 %).
 */
export function pickRunBatch(
  timings: readonly { batch: number; msPerRow: number }[],
  total: number,
): RunBatchChoice {
  if (timings.length === 0) throw new RangeError('no batch-size timings to choose from');
  if (!Number.isInteger(total) || total < 1)
    throw new RangeError(`total must be an integer ≥ 1, got ${total}`);
  const predictions = [...timings]
    .sort((a, b) => a.batch - b.batch)
    .map((t) => {
      // a batch larger than the work runs once, at the size it is given
      const runs = Math.ceil(total / t.batch);
      return { batch: t.batch, runs, totalMs: runs * t.batch * t.msPerRow };
    });
  const best = Math.min(...predictions.map((p) => p.totalMs));
  const near = predictions.filter((p) => p.totalMs <= best * 1.05);
  const chosen = near.reduce((a, b) => (b.runs < a.runs || (b.runs === a.runs && b.batch < a.batch) ? b : a));
  const fastest = predictions.find((p) => p.totalMs === best)!;
  const runs = (n: number) => `${n} run${n === 1 ? '' : 's'}`;
  const figures = predictions.map((p) => `${p.batch}: ${runs(p.runs)} ${formatMs(p.totalMs)}`).join(', ');
  const why =
    chosen.batch === fastest.batch
      ? 'the fastest total'
      : `${runs(chosen.runs)} instead of ${fastest.runs}, within 5 % of the fastest total`;
  return {
    size: chosen.batch,
    predictions,
    reason: `${why} for ${total} prompts (predicted ${figures})`,
  };
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(ms >= 10 ? 0 : 1)} ms`;
}
