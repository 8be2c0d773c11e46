/**
 * The one cancellation error of the engine. Every stage that checks an `AbortSignal` throws it (through
 * {@link throwIfCancelled}), and the batch runner recognises it with {@link isCancellation}: a cancelled image is left
 * pending (nothing is committed), never recorded as failed, so a resumed run computes it again.
 */

/** A stage stopped because its run was cancelled. Named `AbortError`, as the platform's own aborts are. */
export class CancelledError extends Error {
  override readonly name = 'AbortError';
  constructor(what = 'the work') {
    super(`${what} was cancelled`);
  }
}

/** Throws a {@link CancelledError} naming `what` when `signal` is aborted. */
export function throwIfCancelled(signal: AbortSignal | undefined, what?: string): void {
  if (signal?.aborted) throw new CancelledError(what);
}

/** Whether `error` is a cancellation: ours, or the platform's `AbortError` (e.g. `signal.throwIfAborted()`). */
export function isCancellation(error: unknown): boolean {
  return (
    error instanceof CancelledError ||
    (typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AbortError')
  );
}
