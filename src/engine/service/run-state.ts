/**
 * The bookkeeping of a run (run-control.ts drives it): the state of a run here or of a queued run another process
 * coordinates, a paused run's resumption, the `run:progress` events with their rate and ETA, and the mask sets of
 * re-captioned images with their old → new mask ids.
 */
import {
  ApiError,
  type QueueProgress,
  type RequestContext,
  type RunFinished,
  type RunProgress,
  type RunStatus,
} from '../../shared/api.ts';
import type { ImageResult } from '../../shared/results.ts';
import type { ReviewState } from '../../shared/review.ts';
import { decodeRle } from '../image/index.ts';
import type { BatchProgress, StageMasks } from '../pipeline/index.ts';
import { maskId, userMaskId } from './views.ts';

/** The mask set a re-caption runs on, with the id each of its masks had (deleted ones map to null). */
export type RecaptionSet = StageMasks & { previousIds: Record<string, number | null> };

/** The open project's run here (running, paused or cancelling). */
export interface ActiveRun {
  status: RunStatus;
  controller: AbortController;
  imageIds: number[];
  /** `run:start` with `force`: finished images are re-captioned (resume keeps it). */
  force: boolean;
  /**
   * Images re-captioned by this run, each with the mask set taken when the run started and the id each of its masks
   * had then (stored `image:k` or prompted `image:u<k>`; deleted ones map to null).
   */
  recaption: Map<number, StageMasks & { previousIds: Record<string, number | null> }>;
  /** Images this run has committed. */
  committed: Set<number>;
  /** The images in flight now (started, not committed or dropped yet): the tiles that say "running". */
  inFlight: Set<number>;
  started: number;
  done: Promise<void>;
  /** Pause requested: the batch stops once the image in flight is committed. */
  pausing: boolean;
  /** Emits `run:finished`. */
  finish(outcome: RunFinished['outcome'], error: string | null): void;
  /** A queued run this engine coordinates (it does not pause). */
  queued: boolean;
}

/** A run just started over `pending`, its `finish` emitting `run:finished` with the status' counts. */
export function newActiveRun(
  status: RunStatus,
  pending: readonly { id: number }[],
  kind: Pick<ActiveRun, 'force' | 'recaption' | 'queued'>,
  context: RequestContext,
): ActiveRun {
  const run: ActiveRun = {
    ...kind,
    status,
    controller: new AbortController(),
    imageIds: pending.map((e) => e.id),
    committed: new Set(),
    inFlight: new Set(),
    started: performance.now(),
    done: Promise.resolve(),
    pausing: false,
    finish: (outcome, error) =>
      context.emit('run:finished', {
        runId: status.runId,
        outcome,
        imagesDone: status.imagesDone,
        imagesFailed: status.imagesFailed,
        seconds: (performance.now() - run.started) / 1000,
        error,
      }),
  };
  return run;
}

/** A queued run another process coordinates, as this engine shows it. */

/**
 * A paused run's state carried into the run that resumes it: its clock and the re-caption mask sets taken when it
 * started (its id, total and counts travel in its status).
 */
export function carryOver(resumed: ActiveRun, run: ActiveRun): void {
  run.started = resumed.started;
  for (const [id, masks] of resumed.recaption) if (!run.recaption.has(id)) run.recaption.set(id, masks);
}

/** The images a paused run has not committed yet: what Resume runs. */
export function remainingImages(run: ActiveRun): string[] {
  return run.imageIds.filter((id) => !run.committed.has(id)).map(String);
}

/** A run that stopped at a pause: it stays, resumable, with no `run:finished` until it completes or is cancelled. */
export function markPaused(run: ActiveRun): void {
  run.status.state = 'paused';
  run.pausing = false;
}

/** A queued run another process coordinates, as this engine shows it. */
export interface ExternalRun {
  status: RunStatus;
  started: number;
}

/** The run another process coordinates, as first seen in its progress snapshot. */
export function newExternalRun(progress: QueueProgress): ExternalRun {
  return {
    started: performance.now(),
    status: {
      runId: `queue-${progress.coordinator.pid}@${progress.coordinator.host}`,
      state: 'running',
      imagesDone: 0,
      imagesFailed: 0,
      imagesTotal: 0,
      coordinator: 'elsewhere',
    },
  };
}

/** The `run:finished` of a run another process coordinated, from how its watch saw it end and its last snapshot. */
export function externalFinished(
  external: ExternalRun,
  how: 'done' | 'cancelled' | 'stopped',
  last: QueueProgress,
): RunFinished {
  return {
    runId: external.status.runId,
    outcome: how === 'done' ? 'completed' : how === 'cancelled' ? 'cancelled' : 'failed',
    imagesDone: last.done,
    imagesFailed: last.failed,
    seconds: (performance.now() - external.started) / 1000,
    error:
      how === 'stopped'
        ? `the coordinator (process ${last.coordinator.pid} on ${last.coordinator.host}, queue ${last.url}) stopped without finishing: ${last.done} of ${last.total} images are committed; run the same command again to resume`
        : null,
  };
}

/** The `run:progress` of a run here: the run's status with the batch's stage, rate and ETA. */
export function batchProgressEvent(status: RunStatus, p: BatchProgress): RunProgress {
  return {
    ...status,
    imageId: p.imageId === null ? null : String(p.imageId),
    stage: p.stage,
    within: p.within ?? null,
    imagesSkipped: 0,
    rate: p.rate,
    etaSeconds: p.etaSeconds,
    elapsedSeconds: p.elapsedSeconds,
  };
}

/**
 * The batch's last progress with the run's final stage (`paused`, `cancelled` or `done`); a run that stopped before
 * its first progress reports nothing done.
 */
export function finalProgress(
  last: BatchProgress | null,
  stage: 'paused' | 'cancelled' | 'done',
  pending: number,
  started: number,
): BatchProgress {
  const final: BatchProgress = last ?? {
    imagesDone: 0,
    imagesTotal: pending,
    imagesSkipped: 0,
    imagesFailed: 0,
    rate: 0,
    etaSeconds: null,
    elapsedSeconds: (performance.now() - started) / 1000,
    stage: 'start',
    imageId: null,
  };
  return { ...final, stage, image: undefined, imageId: null, within: undefined };
}

/**
 * The `run:progress` of a queued run: `status` is set to mirror the queue's counts (the project's images); `ended`
 * gives the final event.
 */

export function queuedProgressEvent(
  status: RunStatus,
  started: number,
  queue: QueueProgress,
  ended?: RunFinished['outcome'],
): RunProgress {
  status.imagesDone = queue.done;
  status.imagesFailed = queue.failed;
  status.imagesTotal = queue.total;
  return {
    ...status,
    imageId: null,
    stage: ended === undefined ? 'start' : ended === 'cancelled' ? 'cancelled' : 'done',
    within: null,
    imagesSkipped: queue.skipped,
    rate: queue.rate,
    etaSeconds: ended === undefined ? queue.etaSeconds : null,
    elapsedSeconds: (performance.now() - started) / 1000,
    queue,
  };
}

/**
 * The mask set a re-caption of `result`'s image uses: its stored masks minus deleted ones, then the masks added
 * with prompts (not deleted), as the workspace lists them. Prompted masks carry predicted IoU × stability as their
 * score, like generated ones. At most `hardCap` masks (settings.masks.hardCap).
 */
export function currentMaskSet(result: ImageResult, review: ReviewState, hardCap: number): RecaptionSet {
  const imageId = result.image.id;
  const deleted = new Set(review.deletedMasks);
  // old mask id → its position in the set (= its index in the new revision: the set's masks are never empty)
  const previousIds: Record<string, number | null> = {};
  const set: Required<Omit<StageMasks, 'source'>> & Pick<StageMasks, 'source'> = {
    masks: [],
    scores: [],
    sources: [],
    importedIds: [],
    predictedIous: [],
    stabilities: [],
    source: 'generated',
  };
  for (const mask of result.masks) {
    const id = maskId(imageId, mask.index);
    previousIds[id] = deleted.has(id) ? null : set.masks.length;
    if (deleted.has(id)) continue;
    set.masks.push(decodeRle(mask.rle));
    set.scores.push(mask.score);
    set.sources.push(mask.source);
    set.importedIds.push(mask.importedId);
    set.predictedIous.push(mask.predictedIou);
    set.stabilities.push(mask.stability);
  }
  (review.userMasks[String(imageId)] ?? []).forEach((mask, k) => {
    const id = userMaskId(imageId, k);
    previousIds[id] = deleted.has(id) ? null : set.masks.length;
    if (deleted.has(id)) return;
    set.masks.push(decodeRle(mask.rle));
    set.scores.push(mask.predictedIou * mask.stability);
    set.sources.push('prompt');
    set.importedIds.push(undefined);
    set.predictedIous.push(mask.predictedIou);
    set.stabilities.push(mask.stability);
  });
  if (set.masks.length === 0)
    throw new ApiError(
      'invalid-params',
      `image ${imageId} has no masks left to caption: add one with a prompt`,
    );
  if (set.masks.length > hardCap)
    throw new ApiError(
      'invalid-params',
      `image ${imageId} has ${set.masks.length} masks; at most ${hardCap} (settings.masks.hardCap) are captioned together: delete some`,
    );
  return { ...set, previousIds };
}

/**
 * Old → new mask ids of a committed re-caption: each id of the previous revision's mask set (stored `image:k`,
 * prompted `image:u<k>`) → the id of the same mask in the new revision, or null where it was deleted (or dropped by
 * the masks stage).
 */
export function newMaskIds(
  imageId: number,
  previousIds: Record<string, number | null>,
  result: ImageResult,
): Record<string, string | null> {
  const count = result.masks.length;
  return Object.fromEntries(
    Object.entries(previousIds).map(([id, index]) => [
      id,
      index !== null && index < count ? maskId(imageId, result.masks[index].index) : null,
    ]),
  );
}
