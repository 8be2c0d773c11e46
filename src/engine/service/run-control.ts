/**
 * Run control: starts, pauses, resumes and cancels the run over the open project's images, and answers its status.
 * The batch itself is the pipeline's loop (`runBatch` over `processImage`), committing image by image into the
 * project store; a finished image run again with `force` is re-captioned with its current mask set and its review
 * entries of the old revision are dropped (review-store.ts `supersede`).
 *
 * Queued runs (issue 13): `run:start` with `queue` runs the queue's coordinator in this process, the same
 * `runCoordinator` as `pseudo-ris generate --queue`, and forwards its progress (`run:progress` with `queue`) and
 * commits (`run:image`). A project another process coordinates is watched (queue/progress-file.ts: the
 * coordinator's `queue-progress.json` snapshot, trusted while that process holds the project's lock, and the
 * results it appends): its progress and commits are shown the same way, with `coordinator: 'elsewhere'`.
 *
 * Local, paused and queued runs (here or coordinated elsewhere) share one state machine here (`#run`, the project
 * lock, the tiles' status); the runs' bookkeeping (state, resumption, progress and ETA events, re-caption mask sets)
 * is in run-state.ts.
 */
import { dirname } from 'node:path';
import {
  ApiError,
  type ParsedParams,
  type QueueProgress,
  type RequestContext,
  type RunFinished,
  type RunStatus,
  type Settings,
} from '../../shared/api.ts';
import type { ImageResult } from '../../shared/results.ts';
import { keepPolicy } from '../filter/index.ts';
import { inBatchLane } from '../runtime/index.ts';
import {
  checkRedis,
  failedResult,
  parseRedisUrl,
  processImage,
  runBatch,
  runCoordinator,
  watchQueuedProject,
  type QueuedProjectWatch,
  type BatchProgress,
  type ImageEntry,
} from '../pipeline/index.ts';
import type { ReviewStore } from './review-store.ts';
import {
  batchProgressEvent,
  carryOver,
  currentMaskSet,
  externalFinished,
  finalProgress,
  markPaused,
  newActiveRun,
  newExternalRun,
  newMaskIds,
  queuedProgressEvent,
  remainingImages,
  type ActiveRun,
  type ExternalRun,
} from './run-state.ts';
import type { SessionState } from './session-state.ts';
import { imageSummary, parseId } from './views.ts';

/** What run control needs from the rest of the session. */
export interface RunHooks {
  /** `settings:set`: a run's own settings are set (and announced) before it starts. */
  setSettings(params: ParsedParams<'settings:set'>, context: RequestContext): Settings;
}

/** The open project's run: at most one, running or paused. */
export class RunControl {
  #run: ActiveRun | null = null;
  #runSeq = 0;
  #watch: QueuedProjectWatch | null = null;
  #external: ExternalRun | null = null;
  /** Per image id, the revision last sent as a committed `run:image` by a queued run (sent once, by whoever saw it). */
  readonly #shown = new Map<number, number>();

  constructor(
    private readonly session: SessionState,
    private readonly review: ReviewStore,
    private readonly hooks: RunHooks,
  ) {}

  /** Whether a run (running or paused) holds the project. */
  get active(): boolean {
    return this.#run !== null;
  }

  /**
   * Ids of the images the run is processing now: started and not committed yet (none while paused). The images it
   * has not reached are pending, not running (issue 22: after Resume every remaining tile said "running").
   */
  running(): Set<number> {
    const run = this.#run;
    return new Set(run && run.status.state !== 'paused' ? run.inFlight : []);
  }

  /**
   * Starts a run over the images not done yet, or with `force` also over finished ones: a finished image is then
   * re-captioned with its current mask set (stored masks minus deleted ones, plus prompted ones, in that order), and
   * its new result supersedes the old one in the store (revision + 1). A failed image is simply run again.
   */
  async startRun(
    params: ParsedParams<'run:start'>,
    context: RequestContext,
    resumed?: ActiveRun,
  ): Promise<RunStatus> {
    const { settings, imageIds, force, queue } = params;
    const project = this.session.require();
    this.#refuseWhileCoordinatedElsewhere();
    if (this.#run && this.#run.status.state !== 'paused')
      throw new ApiError('busy', 'a run is already going: pause or cancel it first');
    if (queue) return this.#startQueued(queue, params, context);
    if (settings) this.hooks.setSettings({ settings }, context);
    const wanted = imageIds ? new Set(imageIds.map((id) => parseId(id, 'image').image)) : null;
    for (const id of wanted ?? []) this.session.entry(String(id));
    const catalog = project.catalog;
    const pending = project.file.images.filter(
      (entry) => (force || !catalog.has(entry.id)) && (!wanted || wanted.has(entry.id)),
    );
    // The mask sets are taken now; mask and candidate edits of these images are refused until each commits, so
    // nothing the user does during the run is lost when the review state of the old revision is dropped.
    const recaption: ActiveRun['recaption'] = new Map();
    const hardCap = project.file.settings.masks.hardCap;
    for (const entry of pending) {
      // only finished images are decoded (a forced run over a large project reads its results one at a time)
      if (catalog.status(entry.id) !== 'done') continue;
      const result = this.session.results.get(entry.id);
      if (result?.status === 'done')
        recaption.set(entry.id, currentMaskSet(result, this.review.state, hardCap));
    }
    const status: RunStatus = resumed
      ? { ...resumed.status, state: 'running' }
      : {
          runId: `run-${++this.#runSeq}`,
          state: 'running',
          imagesDone: 0,
          imagesFailed: 0,
          imagesTotal: pending.length,
        };
    const run = newActiveRun(status, pending, { force, recaption, queued: false }, context);
    if (resumed) carryOver(resumed, run);
    this.#run = run;
    // the batch's model calls yield to the user's requests (runtime/lanes.ts)
    run.done = inBatchLane(() => this.#execute(run, pending, context));
    return { ...status };
  }

  /**
   * Starts a queued run: this engine becomes the coordinator of the Redis queue (`runCoordinator`, as
   * `pseudo-ris generate --queue`) over every image not committed yet; `pseudo-ris worker` processes compute them.
   * The URL is checked (form, then one PING) before anything starts, so a typo is an error here, not a failed run.
   */
  async #startQueued(
    queue: NonNullable<ParsedParams<'run:start'>['queue']>,
    { settings, imageIds, force }: ParsedParams<'run:start'>,
    context: RequestContext,
  ): Promise<RunStatus> {
    if (imageIds || force)
      throw new ApiError(
        'invalid-params',
        'a queued run takes every image not done yet: imageIds and force are for runs here (leave queue out)',
      );
    if (this.#run)
      throw new ApiError('busy', 'a paused run holds the project: resume or cancel it before a queued run');
    try {
      parseRedisUrl(queue.url);
    } catch (error) {
      throw new ApiError('invalid-params', `queue.url: ${(error as Error).message.replace(/^--queue /, '')}`);
    }
    try {
      await checkRedis(queue.url);
    } catch (error) {
      throw new ApiError('not-found', (error as Error).message);
    }
    // checked again: another start may have come in while Redis answered
    this.#refuseWhileCoordinatedElsewhere();
    if (this.#run) throw new ApiError('busy', 'a run is already going: pause or cancel it first');
    if (settings) this.hooks.setSettings({ settings }, context);
    const project = this.session.require();
    const catalog = project.catalog;
    const pending = project.file.images.filter((entry) => !catalog.has(entry.id));
    const status: RunStatus = {
      runId: `run-${++this.#runSeq}`,
      state: 'running',
      imagesDone: project.file.images.length - pending.length,
      imagesFailed: catalog.counts().failed,
      imagesTotal: project.file.images.length,
      coordinator: 'here',
    };
    const run = newActiveRun(status, pending, { force: false, recaption: new Map(), queued: true }, context);
    this.#run = run;
    run.done = this.#executeQueued(run, queue, context);
    return { ...status };
  }

  /** The queued run: the coordinator in this process, its progress and commits forwarded as events. */
  async #executeQueued(
    run: ActiveRun,
    queue: NonNullable<ParsedParams<'run:start'>['queue']>,
    context: RequestContext,
  ): Promise<void> {
    const project = this.session.require();
    const policy = keepPolicy(project.file.settings);
    let last: QueueProgress | null = null;
    let outcome: RunFinished['outcome'] = 'completed';
    let error: string | null = null;
    try {
      const stages = await this.session.stages();
      const summary = await runCoordinator({
        project: project.dir,
        settings: project.file.settings,
        pack: stages.packInfo,
        redisUrl: queue.url,
        queueName: queue.name,
        shipImages: queue.shipImages,
        signal: run.controller.signal,
        onProgress: (progress) => {
          last = progress;
          if (progress.stage === 'start' || progress.stage === 'running')
            context.emit('run:progress', queuedProgressEvent(run.status, run.started, progress));
        },
        onCommit: (result) => {
          const entry = project.image(result.image.id);
          this.session.results.committed(result);
          this.#shown.set(entry.id, result.revision ?? 0);
          run.committed.add(entry.id);
          context.emit(
            'run:image',
            imageSummary(entry, result, policy, false, dirname(entry.path), this.review.state),
          );
        },
        // Redis outages: the coordinator's connection retries and the run goes on when Redis is back
        onWarning: () => {},
      });
      if (summary.cancelled) outcome = 'cancelled';
    } catch (caught) {
      outcome = run.controller.signal.aborted ? 'cancelled' : 'failed';
      error = outcome === 'failed' ? (caught as Error).message : null;
    } finally {
      project.close();
    }
    if (last) context.emit('run:progress', queuedProgressEvent(run.status, run.started, last, outcome));
    this.#run = null;
    run.finish(outcome, error);
  }

  /**
   * Watches the open project for a queued run another process coordinates (`pseudo-ris generate --queue`): while it
   * runs, its progress and commits are emitted as this engine's own would be, and `run:status` answers it. Called
   * when a project is opened; the previous project's watch ends.
   */
  watchProject(dir: string, context: RequestContext): void {
    this.#watch?.stop();
    this.#external = null;
    this.#shown.clear();
    this.#watch = watchQueuedProject(
      dir,
      {
        progress: (progress) => {
          if (this.#run) return; // this engine runs the project itself (it took the lock after the snapshot)
          this.#external ??= newExternalRun(progress);
          context.emit(
            'run:progress',
            queuedProgressEvent(this.#external.status, this.#external.started, progress),
          );
        },
        results: (results) => {
          const project = this.session.project;
          if (!project || project.dir !== dir) return;
          const policy = keepPolicy(project.file.settings);
          const catalog = project.catalog;
          for (const result of results) {
            const id = result.image.id;
            const revision = result.revision ?? 0;
            // superseded already, or shown already (this engine's own queued run says its commits itself)
            if (revision < catalog.revision(id) || (this.#shown.get(id) ?? -1) >= revision) continue;
            let entry: ImageEntry;
            try {
              entry = project.image(id);
            } catch {
              continue; // an image added by the coordinator after this project was read: shown on the next open
            }
            this.session.results.committed(result);
            this.#shown.set(id, revision);
            context.emit(
              'run:image',
              imageSummary(entry, result, policy, false, dirname(entry.path), this.review.state),
            );
          }
        },
        end: (how, last) => {
          const external = this.#external;
          if (!external) return;
          const finished = externalFinished(external, how, last);
          context.emit(
            'run:progress',
            queuedProgressEvent(external.status, external.started, last, finished.outcome),
          );
          this.#external = null;
          context.emit('run:finished', finished);
        },
      },
      // the results already in the log are the catalog's: only new commits are shown as they land
      { resultsFromEnd: true },
    );
  }

  /** Refuses to start or control a run while another process coordinates the project's queued run. */
  #refuseWhileCoordinatedElsewhere(): void {
    const external = this.#external;
    if (!external) return;
    throw new ApiError(
      'busy',
      `this project is being run through a queue by another process (${external.status.runId.replace(/^queue-/, 'pid ')}); this app shows its progress: stop it where it runs (Ctrl-C), or wait for it to finish`,
    );
  }

  /**
   * Pauses the run: the image in flight finishes and is committed, then the run stops with state `paused` (answered
   * once it has stopped; null when the run completed meanwhile). Resume continues with the images not committed.
   */
  async pause(): Promise<RunStatus | null> {
    this.#refuseWhileCoordinatedElsewhere();
    const run = this.#run;
    if (!run) return null;
    if (run.queued)
      throw new ApiError(
        'unsupported',
        'a queued run does not pause: Cancel stops the coordinator (queued jobs stay in Redis and the workers go on); a new queued run collects them',
      );
    if (run.status.state === 'running') run.pausing = true;
    await run.done;
    return this.#run === run ? { ...run.status } : null;
  }

  async resume(context: RequestContext): Promise<RunStatus | null> {
    this.#refuseWhileCoordinatedElsewhere();
    const run = this.#run;
    if (!run || run.status.state !== 'paused') return run ? { ...run.status } : null;
    const remaining = remainingImages(run);
    this.#run = null;
    if (remaining.length === 0) return null;
    // the same run goes on: its id, its total and the images it has done so far stay (not 0/5 after 3/8)
    return this.startRun({ imageIds: remaining, force: run.force }, context, run);
  }

  /** Cancels the run: the image in flight stops without being committed (it stays pending). */
  async cancel(): Promise<RunStatus | null> {
    this.#refuseWhileCoordinatedElsewhere();
    const run = this.#run;
    if (!run) return null;
    const wasPaused = run.status.state === 'paused';
    run.status.state = 'cancelling';
    run.controller.abort();
    await run.done;
    this.#run = null;
    // a paused run has stopped already: it ends now, as cancelled
    if (wasPaused) run.finish('cancelled', null);
    return { ...run.status };
  }

  status(): RunStatus | null {
    const run = this.#run ?? this.#external;
    return run ? { ...run.status } : null;
  }

  /** The run's batch: the pipeline's batch loop over `processImage`, committing into the project store. */
  async #execute(run: ActiveRun, pending: ImageEntry[], context: RequestContext): Promise<void> {
    const project = this.session.require();
    const settings = project.file.settings;
    const signal = run.controller.signal;
    let outcome: 'completed' | 'paused' | 'cancelled' | 'failed';
    let error: string | null = null;
    const recaptionErrors: string[] = [];
    const summary = (entry: ImageEntry, result: ImageResult | undefined, running = false) =>
      // the tile's counts apply the review as `project:images` and the top bar do (one keep rule)
      imageSummary(entry, result, keepPolicy(settings), running, dirname(entry.path), this.review.state);
    let last: BatchProgress | null = null;
    const progress = (p: BatchProgress) => {
      last = p;
      context.emit('run:progress', batchProgressEvent(run.status, p));
    };
    try {
      const stages = await this.session.stages();
      const batch = await runBatch({
        entries: pending,
        control: { signal, paused: () => run.pausing },
        job: (entry, jobContext) =>
          processImage(stages, entry, settings, { ...jobContext, fixedMasks: run.recaption.get(entry.id) }),
        onImageStart: (entry) => {
          run.inFlight.add(entry.id);
          context.emit('run:image', summary(entry, undefined, true));
        },
        onFailure: (entry, caught) => {
          const previous = this.session.results.get(entry.id);
          // A failed re-caption commits nothing: a failed record would supersede the image's good result.
          if (previous?.status !== 'done') return failedResult(entry, caught);
          recaptionErrors.push(`image ${entry.name}: ${(caught as Error).message}`);
          run.status.imagesFailed++;
          return null;
        },
        // cancelled inside the image, or a failed re-caption: nothing is committed, so it stays pending for the next
        // run (a re-captioned image keeps its previous revision)
        onImageDropped: (entry) => {
          run.inFlight.delete(entry.id);
          context.emit('run:image', summary(entry, this.session.results.get(entry.id)));
        },
        commit: (entry, computed) => {
          const previous = this.session.results.get(entry.id);
          const result = previous ? { ...computed, revision: (previous.revision ?? 0) + 1 } : computed;
          project.commit(result);
          this.session.results.committed(result);
          run.committed.add(entry.id);
          run.inFlight.delete(entry.id);
          if (previous && this.review.supersede(entry.id, result.revision ?? 0)) this.review.save();
          run.status.imagesDone++;
          if (result.status === 'failed') run.status.imagesFailed++;
          const recaptioned = run.recaption.get(entry.id);
          context.emit('run:image', {
            ...summary(entry, result),
            ...(recaptioned && result.status === 'done'
              ? { maskIds: newMaskIds(entry.id, recaptioned.previousIds, result) }
              : {}),
          });
        },
        onProgress: (p) => {
          // the last event goes out below, with the run's final state
          if (p.stage !== 'done' && p.stage !== 'paused' && p.stage !== 'cancelled') progress(p);
          else last = p;
        },
      });
      outcome = batch.outcome;
      if (outcome === 'completed' && recaptionErrors.length > 0) {
        outcome = 'failed';
        error = `re-caption failed for ${recaptionErrors.join('; ')}`;
      }
    } catch (caught) {
      outcome = signal.aborted ? 'cancelled' : 'failed';
      error = outcome === 'failed' ? (caught as Error).message : null;
    } finally {
      project.close();
    }
    if (outcome === 'paused') {
      // Paused, not finished: the run stays, resumable; no `run:finished` until it completes or is cancelled.
      markPaused(run);
      progress(finalProgress(last, 'paused', pending.length, run.started));
      return;
    }
    progress(
      finalProgress(last, outcome === 'cancelled' ? 'cancelled' : 'done', pending.length, run.started),
    );
    this.#run = null;
    run.finish(outcome, error);
  }

  /** Mask and candidate edits of an image being re-captioned are refused until its new revision commits. */
  refuseWhileRecaptioning(imageId: number): void {
    const run = this.#run;
    if (run?.recaption.has(imageId) && !run.committed.has(imageId))
      throw new ApiError(
        'busy',
        `image ${imageId} is being re-captioned: wait for it to finish (or cancel the run) before editing its masks or candidates`,
      );
  }

  /** Stops the run (the image in flight is not committed) and waits for it. */
  async dispose(): Promise<void> {
    this.#watch?.stop();
    this.#watch = null;
    this.#run?.controller.abort();
    await this.#run?.done;
  }
}
