/**
 * The one batch loop of the engine, shared by the CLI (`runProject`) and the app's run control: images one at a time
 * through a per-image job, each result handed to `commit`, with one meaning for pause and cancel, one ETA formula and
 * one progress event shape.
 *
 * - **Pause** (`control.paused()` turns true): the image in flight finishes and is committed, then the loop stops with
 *   outcome `paused`; the images not reached stay pending.
 * - **Cancel** (`control.signal` aborts): the image in flight stops at its next check (every stage throws the
 *   runtime's `CancelledError`), nothing of it is committed, and the loop stops with outcome `cancelled`. A cancelled
 *   image is never recorded as failed, so a resumed run computes it again.
 * - A failing image is handed to `onFailure` (which answers the record to commit, or null to commit nothing); a fatal
 *   error (a broken model pack) stops the batch and is rethrown.
 * - Progress: images done/failed/skipped, the stage of the image in flight, the in-image step count (`within`,
 *   throttled to at most {@link WITHIN_PER_SECOND} events a second), the rate over the images computed in this batch
 *   (images per minute) and ETA = images left ÷ rate.
 */
import { isCancellation } from '../runtime/index.ts';
import type { ImageResult, RunProgress, StepProgress } from '../../shared/results.ts';
import type { ImageEntry } from './store/index.ts';

/** At most this many `within` progress events a second. */
export const WITHIN_PER_SECOND = 4;

/** What the per-image job is handed besides its entry. */
export interface JobContext {
  /** Aborts on cancel: the job throws `CancelledError` at its next check. */
  signal: AbortSignal;
  /** The job entered a stage. */
  onStage(stage: RunProgress['stage']): void;
  /** Work done inside the current stage (throttled by the runner). */
  onWithin(step: StepProgress): void;
}

/** Stop requests of a batch. */
export interface BatchControl {
  /** Cancel: stops the image in flight without committing it. */
  signal?: AbortSignal;
  /** Pause: checked between images; the image in flight is committed first. */
  paused?: () => boolean;
}

/** Options of {@link runBatch}. */
export interface BatchOptions {
  /** The images to compute, in order. */
  entries: readonly ImageEntry[];
  /** Counts of the images already committed before this batch (a resume), for the progress totals. */
  already?: { done: number; failed: number };
  /** The per-image job (e.g. `processImage` over a pack's stages). */
  job(entry: ImageEntry, context: JobContext): Promise<ImageResult>;
  /** The record to commit for a failed image, or null to commit nothing (default: rethrow nothing, commit nothing). */
  onFailure?(entry: ImageEntry, error: unknown): ImageResult | null;
  /** Stores a result (the project store is the single writer). */
  commit(entry: ImageEntry, result: ImageResult): void;
  /** An image starts (before its first stage). */
  onImageStart?(entry: ImageEntry): void;
  /** An image ends without a commit (cancelled, or a failure `onFailure` answered null for). */
  onImageDropped?(entry: ImageEntry, reason: 'cancelled' | 'failed', error?: unknown): void;
  onProgress?(progress: BatchProgress): void;
  control?: BatchControl;
  /** Errors that fail every image and so stop the batch (default: `ModelPackError`). */
  isFatal?(error: unknown): boolean;
}

/** Progress of a batch: the engine's `RunProgress` plus the image id in flight and the elapsed seconds. */
export interface BatchProgress extends RunProgress {
  imageId: number | null;
  elapsedSeconds: number;
}

/** How a batch ended. */
export interface BatchOutcome {
  outcome: 'completed' | 'paused' | 'cancelled';
  /** Images committed by this batch. */
  committed: number;
  /** Images this batch recorded as failed, or dropped as failed. */
  failed: number;
  progress: BatchProgress;
  seconds: number;
}

/** Images per minute over `computed` images in `elapsedSeconds`, and seconds left for `left` images at that rate. */
export function rateAndEta(
  computed: number,
  elapsedSeconds: number,
  left: number,
): { rate: number; etaSeconds: number | null } {
  const rate = elapsedSeconds > 0 ? (computed / elapsedSeconds) * 60 : 0;
  return { rate, etaSeconds: rate > 0 ? (left / rate) * 60 : null };
}

/** How many recent images the ETA averages over: follows a run that speeds up or slows down, not one outlier. */
export const RECENT_IMAGES = 5;

/**
 * Seconds left for `left` images, one of which has been in flight for `inFlightSeconds` (null: none is), from the
 * mean of the last {@link RECENT_IMAGES} image durations; null before the first image. Recomputed at every progress
 * event, so it counts down between images instead of standing still (issue 22: "709 s left" for two minutes).
 */
export function recentEta(
  durations: readonly number[],
  left: number,
  inFlightSeconds: number | null,
): number | null {
  if (left <= 0) return 0;
  if (durations.length === 0) return null;
  const recent = durations.slice(-RECENT_IMAGES);
  const mean = recent.reduce((sum, d) => sum + d, 0) / recent.length;
  if (inFlightSeconds === null) return left * mean;
  // the image in flight needs what is left of a mean image (at least nothing), the others a whole one each
  return (left - 1) * mean + Math.max(0, mean - inFlightSeconds);
}

/** Runs `entries` through `job` one at a time, committing each result (see the module comment). */
export async function runBatch(options: BatchOptions): Promise<BatchOutcome> {
  const started = performance.now();
  const signal = options.control?.signal ?? new AbortController().signal;
  const paused = options.control?.paused ?? (() => false);
  const fatal = options.isFatal ?? ((e: unknown) => e instanceof Error && e.name === 'ModelPackError');
  const already = options.already ?? { done: 0, failed: 0 };
  const progress: BatchProgress = {
    imagesDone: already.done,
    imagesTotal: already.done + options.entries.length,
    imagesSkipped: already.done,
    imagesFailed: already.failed,
    stage: 'start',
    rate: 0,
    etaSeconds: null,
    imageId: null,
    elapsedSeconds: 0,
  };
  let computed = 0;
  let failed = 0;
  let lastWithin = 0;
  const durations: number[] = [];
  let imageStarted: number | null = null;
  const emit = () => {
    const now = performance.now();
    progress.elapsedSeconds = (now - started) / 1000;
    const eta = recentEta(
      durations,
      progress.imagesTotal - progress.imagesDone,
      imageStarted === null ? null : (now - imageStarted) / 1000,
    );
    if (eta !== null) progress.etaSeconds = eta;
    options.onProgress?.({ ...progress, ...(progress.within ? { within: { ...progress.within } } : {}) });
  };
  emit();
  let outcome: BatchOutcome['outcome'] = 'completed';
  for (const entry of options.entries) {
    if (signal.aborted) {
      outcome = 'cancelled';
      break;
    }
    if (paused()) {
      outcome = 'paused';
      break;
    }
    progress.image = entry.name;
    progress.imageId = entry.id;
    progress.within = undefined;
    imageStarted = performance.now();
    options.onImageStart?.(entry);
    let result: ImageResult | null;
    try {
      result = await options.job(entry, {
        signal,
        onStage(stage) {
          progress.stage = stage;
          progress.within = undefined;
          emit();
        },
        onWithin(step) {
          progress.within = step;
          const now = performance.now();
          if (now - lastWithin < 1000 / WITHIN_PER_SECOND) return;
          lastWithin = now;
          emit();
        },
      });
    } catch (error) {
      if (signal.aborted || isCancellation(error)) {
        // cancelled inside the image: nothing is committed, the image stays pending
        options.onImageDropped?.(entry, 'cancelled', error);
        outcome = 'cancelled';
        break;
      }
      if (fatal(error)) throw error;
      result = options.onFailure ? options.onFailure(entry, error) : null;
      if (!result) {
        failed++;
        progress.imagesFailed++;
        options.onImageDropped?.(entry, 'failed', error);
        imageStarted = null;
        continue;
      }
    }
    options.commit(entry, result);
    durations.push((performance.now() - imageStarted) / 1000);
    imageStarted = null;
    computed++;
    progress.imagesDone++;
    if (result.status === 'failed') {
      failed++;
      progress.imagesFailed++;
    }
    progress.stage = 'commit';
    progress.within = undefined;
    Object.assign(
      progress,
      rateAndEta(computed, (performance.now() - started) / 1000, progress.imagesTotal - progress.imagesDone),
    );
    emit();
  }
  imageStarted = null;
  progress.stage = outcome === 'completed' ? 'done' : outcome;
  progress.image = undefined;
  progress.imageId = null;
  progress.within = undefined;
  emit();
  return { outcome, committed: computed, failed, progress, seconds: (performance.now() - started) / 1000 };
}
