/**
 * Two lanes for the model calls of one thread: the **batch** lane (a run's images) and the **interactive** lane (what
 * a user waits for: a read, a prompt, an inspector replay). onnxruntime-node runs a graph synchronously on the
 * calling thread, so a read that arrives during a run waits for every graph run queued before it; with lanes, a
 * batch call waits before it starts while any interactive work is in flight, and the interactive work gets the
 * thread and the cores between two of the batch's graph runs (issue 22: 9–27 s → the length of one graph run).
 *
 * The lane travels with the async context (`AsyncLocalStorage`), so every graph run made on behalf of a request —
 * however deep in the decoder — is in its lane without passing a flag. Code in no lane (the CLI, the benches, the
 * tests) is never held.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

type Lane = 'batch' | 'interactive';

const lane = new AsyncLocalStorage<Lane>();
let interactiveInFlight = 0;
let waiting: (() => void)[] = [];

/**
 * Runs `work` in the interactive lane: from now until it settles, batch model calls wait at {@link modelTurn}.
 */
export async function interactive<T>(work: () => Promise<T>): Promise<T> {
  interactiveInFlight++;
  try {
    return await lane.run('interactive', work);
  } finally {
    interactiveInFlight--;
    if (interactiveInFlight === 0) {
      const resume = waiting;
      waiting = [];
      for (const wake of resume) wake();
    }
  }
}

/** Runs `work` in the batch lane: its model calls yield to interactive work (see {@link modelTurn}). */
export function inBatchLane<T>(work: () => Promise<T>): Promise<T> {
  return lane.run('batch', work);
}

/**
 * Awaited before every graph run (runtime/pack.ts `Session.run`): a call in the batch lane waits here while any
 * interactive work is in flight; any other call passes at once. Answers how long it waited, in milliseconds.
 */
export async function modelTurn(): Promise<number> {
  if (lane.getStore() !== 'batch' || interactiveInFlight === 0) return 0;
  const start = performance.now();
  await new Promise<void>((wake) => {
    const timer = setTimeout(wake, MAX_HOLD_MS);
    waiting.push(() => {
      clearTimeout(timer);
      wake();
    });
  });
  return performance.now() - start;
}

/**
 * The longest one batch call is held: after it the call runs anyway (one graph run, then it may be held again). It
 * bounds two things a plain wait would not: a request that awaits work the batch lane started (a session both lanes
 * share, opened by the run) cannot deadlock, and a stream of requests cannot starve the run.
 */
const MAX_HOLD_MS = 1000;

/**
 * How long one of the batch's graph runs may take, in milliseconds, where the caller sizes its runs (the automatic
 * masks' prompt chunks): {@link BATCH_RUN_MS} in the batch lane, unbounded elsewhere (the CLI keeps its throughput
 * batches). A graph run cannot be interrupted, so a user's prompt that arrives during one waits for it: on 2 busy
 * cores a 64-prompt chunk of the demo pack took 6–8 s.
 */
export function batchRunBudget(): number {
  return lane.getStore() === 'batch' ? BATCH_RUN_MS : Number.POSITIVE_INFINITY;
}

/** 250 ms: a prompt waits at most about this long for the batch (issue 22's goal: a point prompt in ≤ 2 s). */
const BATCH_RUN_MS = 250;

/** How many interactive requests are in flight now (the bench and tests read it). */
export function interactiveCount(): number {
  return interactiveInFlight;
}

/**
 * A yield point for long synchronous work (a batch's mask post-processing): call the answer between two pieces of
 * work; once the work has held the thread for `sliceMs` it answers a promise that resolves on the loop's next turn
 * (so a read that arrived meanwhile is answered first), else null and the work goes on at once. Only the timing
 * changes, never the order of the work or its results.
 */
export function timeSlicer(sliceMs = SLICE_MS): () => Promise<void> | null {
  let since = performance.now();
  return () => {
    if (performance.now() - since < sliceMs) return null;
    return new Promise((resolve) =>
      setImmediate(() => {
        since = performance.now();
        resolve();
      }),
    );
  };
}

/** 10 ms: a read waits at most about this long for the batch's synchronous work, and a yield costs microseconds. */
const SLICE_MS = 10;
