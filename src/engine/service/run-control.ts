/**
 * Run control: starts, pauses, resumes and cancels the run over the open project's images, and answers its status.
 * The batch itself is the pipeline's loop (`runBatch` over `processImage`), committing image by image into the
 * project store; a finished image run again with `force` is re-captioned with its current mask set and its review
 * entries of the old revision are dropped (review-store.ts `supersede`).
 */
import { dirname } from 'node:path';
import {
  ApiError,
  type ParsedParams,
  type RequestContext,
  type RunFinished,
  type RunStatus,
  type Settings,
} from '../../shared/api.ts';
import type { ImageResult } from '../../shared/results.ts';
import { keepPolicy } from '../filter/index.ts';
import { decodeRle } from '../image/index.ts';
import {
  failedResult,
  processImage,
  runBatch,
  type BatchProgress,
  type ImageEntry,
  type StageMasks,
} from '../pipeline/index.ts';
import type { ReviewStore } from './review-store.ts';
import type { SessionState } from './session-state.ts';
import { imageSummary, maskId, parseId, userMaskId } from './views.ts';

interface ActiveRun {
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
  started: number;
  done: Promise<void>;
  /** Pause requested: the batch stops once the image in flight is committed. */
  pausing: boolean;
  /** Emits `run:finished`. */
  finish(outcome: RunFinished['outcome'], error: string | null): void;
}

/** What run control needs from the rest of the session. */
export interface RunHooks {
  /** `settings:set`: a run's own settings are set (and announced) before it starts. */
  setSettings(params: ParsedParams<'settings:set'>, context: RequestContext): Settings;
}

/** The open project's run: at most one, running or paused. */
export class RunControl {
  #run: ActiveRun | null = null;
  #runSeq = 0;

  constructor(
    private readonly session: SessionState,
    private readonly review: ReviewStore,
    private readonly hooks: RunHooks,
  ) {}

  /** Whether a run (running or paused) holds the project. */
  get active(): boolean {
    return this.#run !== null;
  }

  /** Ids of the images the run is processing now (not committed yet; none while paused). */
  running(): Set<number> {
    const run = this.#run;
    return new Set(
      run && run.status.state !== 'paused' ? run.imageIds.filter((id) => !run.committed.has(id)) : [],
    );
  }

  /**
   * Starts a run over the images not done yet, or with `force` also over finished ones: a finished image is then
   * re-captioned with its current mask set (stored masks minus deleted ones, plus prompted ones, in that order), and
   * its new result supersedes the old one in the store (revision + 1). A failed image is simply run again.
   */
  startRun({ settings, imageIds, force }: ParsedParams<'run:start'>, context: RequestContext): RunStatus {
    const project = this.session.require();
    if (this.#run && this.#run.status.state !== 'paused')
      throw new ApiError('busy', 'a run is already going: pause or cancel it first');
    if (settings) this.hooks.setSettings({ settings }, context);
    const wanted = imageIds ? new Set(imageIds.map((id) => parseId(id, 'image').image)) : null;
    for (const id of wanted ?? []) this.session.entry(String(id));
    const pending = project.file.images.filter(
      (entry) => (force || !this.session.results.has(entry.id)) && (!wanted || wanted.has(entry.id)),
    );
    // The mask sets are taken now; mask and candidate edits of these images are refused until each commits, so
    // nothing the user does during the run is lost when the review state of the old revision is dropped.
    const recaption: ActiveRun['recaption'] = new Map();
    for (const entry of pending) {
      const result = this.session.results.get(entry.id);
      if (result?.status === 'done') recaption.set(entry.id, this.#currentMaskSet(result));
    }
    const status: RunStatus = {
      runId: `run-${++this.#runSeq}`,
      state: 'running',
      imagesDone: 0,
      imagesFailed: 0,
      imagesTotal: pending.length,
    };
    const controller = new AbortController();
    const run: ActiveRun = {
      status,
      controller,
      imageIds: pending.map((e) => e.id),
      force,
      recaption,
      committed: new Set(),
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
    this.#run = run;
    run.done = this.#execute(run, pending, context);
    return { ...status };
  }

  /**
   * Pauses the run: the image in flight finishes and is committed, then the run stops with state `paused` (answered
   * once it has stopped; null when the run completed meanwhile). Resume continues with the images not committed.
   */
  async pause(): Promise<RunStatus | null> {
    const run = this.#run;
    if (!run) return null;
    if (run.status.state === 'running') run.pausing = true;
    await run.done;
    return this.#run === run ? { ...run.status } : null;
  }

  async resume(context: RequestContext): Promise<RunStatus | null> {
    const run = this.#run;
    if (!run || run.status.state !== 'paused') return run ? { ...run.status } : null;
    const remaining = run.imageIds.filter((id) => !run.committed.has(id)).map(String);
    this.#run = null;
    if (remaining.length === 0) return null;
    return this.startRun({ imageIds: remaining, force: run.force }, context);
  }

  /** Cancels the run: the image in flight stops without being committed (it stays pending). */
  async cancel(): Promise<RunStatus | null> {
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
    return this.#run ? { ...this.#run.status } : null;
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
      imageSummary(entry, result, keepPolicy(settings), running, dirname(entry.path));
    let last: BatchProgress | null = null;
    const progress = (p: BatchProgress) => {
      last = p;
      context.emit('run:progress', {
        ...run.status,
        imageId: p.imageId === null ? null : String(p.imageId),
        stage: p.stage,
        within: p.within ?? null,
        imagesSkipped: 0,
        rate: p.rate,
        etaSeconds: p.etaSeconds,
        elapsedSeconds: p.elapsedSeconds,
      });
    };
    try {
      const stages = await this.session.stages();
      const batch = await runBatch({
        entries: pending,
        control: { signal, paused: () => run.pausing },
        job: (entry, jobContext) =>
          processImage(stages, entry, settings, { ...jobContext, fixedMasks: run.recaption.get(entry.id) }),
        onImageStart: (entry) => context.emit('run:image', summary(entry, undefined, true)),
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
        onImageDropped: (entry) =>
          context.emit('run:image', summary(entry, this.session.results.get(entry.id))),
        commit: (entry, computed) => {
          const previous = this.session.results.get(entry.id);
          const result = previous ? { ...computed, revision: (previous.revision ?? 0) + 1 } : computed;
          project.commit(result);
          this.session.results.set(entry.id, result);
          run.committed.add(entry.id);
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
    const final: BatchProgress = last ?? {
      imagesDone: 0,
      imagesTotal: pending.length,
      imagesSkipped: 0,
      imagesFailed: 0,
      rate: 0,
      etaSeconds: null,
      elapsedSeconds: (performance.now() - run.started) / 1000,
      stage: 'start',
      imageId: null,
    };
    if (outcome === 'paused') {
      // Paused, not finished: the run stays, resumable; no `run:finished` until it completes or is cancelled.
      run.status.state = 'paused';
      run.pausing = false;
      progress({ ...final, stage: 'paused', image: undefined, imageId: null, within: undefined });
      return;
    }
    progress({
      ...final,
      stage: outcome === 'cancelled' ? 'cancelled' : 'done',
      image: undefined,
      imageId: null,
      within: undefined,
    });
    this.#run = null;
    run.finish(outcome, error);
  }

  /**
   * The mask set a re-caption of `result`'s image uses: its stored masks minus deleted ones, then the masks added
   * with prompts (not deleted), as the workspace lists them. Prompted masks carry predicted IoU × stability as their
   * score, like generated ones.
   */
  #currentMaskSet(result: ImageResult): StageMasks & { previousIds: Record<string, number | null> } {
    const imageId = result.image.id;
    const deleted = new Set(this.review.state.deletedMasks);
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
    (this.review.state.userMasks[String(imageId)] ?? []).forEach((mask, k) => {
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
    const cap = this.session.require().file.settings.masks.hardCap;
    if (set.masks.length > cap)
      throw new ApiError(
        'invalid-params',
        `image ${imageId} has ${set.masks.length} masks; at most ${cap} (settings.masks.hardCap) are captioned together: delete some`,
      );
    return { ...set, previousIds };
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
    this.#run?.controller.abort();
    await this.#run?.done;
  }
}

/**
 * Old → new mask ids of a committed re-caption: each id of the previous revision's mask set (stored `image:k`,
 * prompted `image:u<k>`) → the id of the same mask in the new revision, or null where it was deleted (or dropped by
 * the masks stage).
 */
function newMaskIds(
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
