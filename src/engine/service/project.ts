/**
 * The facade's project-level work: open/create projects (the pipeline's store), image lists, runs (the pipeline's
 * per-image job, committed image by image), masks by prompt, candidates and their review, τ re-filtering from
 * stored scores, traces, report and export. Logic stays in the engine modules; this file keeps the session state
 * and checks every file path against the allowed folders.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import {
  ApiError,
  mergeSettings,
  type DosScores,
  type ExportResult,
  type ImageBytes,
  type ImageSummary,
  type InspectorRerun,
  type InspectorTrace,
  type KeptCounts,
  type MaskPreview,
  type MaskView,
  type ParsedParams,
  type ProjectInfo,
  type ReportView,
  type RequestContext,
  type RunFinished,
  type RunStatus,
} from '../../shared/api.ts';
import { settingKey, type CaptionTrace, type SamplingSetting } from '../../shared/caption.ts';
import type { ImageResult } from '../../shared/results.ts';
import type { ProviderInfo } from '../../shared/models.ts';
import { generationKey, type FilterSettings, type Settings } from '../../shared/settings.ts';
import { compareTraces } from '../caption/index.ts';
import { exportProject, evaluateResults, readGroundTruth, buildReport } from '../dataset/index.ts';
import { decisionColumns } from '../filter/index.ts';
import { ensureDemoPack, generateScenes } from '../demo/index.ts';
import { loadImage, decodeRle, encodeRle, type RgbImage } from '../image/index.ts';
import {
  openStages,
  type PackStages,
  decodeWithTrace,
  type DecodeTweaks,
  failedResult,
  processImage,
  runBatch,
  type BatchProgress,
  type StageMasks,
  listImages,
  Project,
  writeFileAtomic,
  type ImageEntry,
} from '../pipeline/index.ts';
import { SegmentSession, promptMask } from '../segment/index.ts';
import { REVIEW_FILE } from '../../shared/formats.ts';
import { FileScope } from './paths.ts';
import {
  candidateView,
  candidateViews,
  emptyReview,
  imageSummary,
  keptFlags,
  maskId,
  maskViews,
  parseId,
  userMaskId,
  type ReviewState,
} from './views.ts';

export { REVIEW_FILE } from '../../shared/formats.ts';
/** Demo scenes are generated into this sub-folder of a demo project. */
export const DEMO_SCENES = 'scenes';

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

type Undo =
  | { kind: 'decision'; id: string; before: 'accepted' | 'rejected' | undefined }
  | { kind: 'edit'; id: string; before: string | undefined };

/** Hooks the project service needs from the facade. */
export interface ProjectServiceOptions {
  /** Checks a user-named folder against the served mode's roots; answers its real path. */
  checkUserPath(path: string, what: string): Promise<string>;
  /** The model pack to run (the active one, else the demo pack). */
  packDir(): Promise<string>;
  /** Settings of new projects. */
  newSettings(): Settings;
}

/** State and handlers of the open project. */
export class ProjectService {
  #project: Project | null = null;
  #review: ReviewState = emptyReview();
  #undo: Undo[] = [];
  #results = new Map<number, ImageResult>();
  #scope = new FileScope();
  #stages: { dir: string; stages: Promise<PackStages> } | null = null;
  #run: ActiveRun | null = null;
  #runSeq = 0;
  #segmentSessions = new Map<number, Promise<SegmentSession>>();

  constructor(private readonly options: ProjectServiceOptions) {}

  // ---------------------------------------------------------------------------------------------------------------
  // projects

  async create(
    { dir, name, images }: ParsedParams<'project:create'>,
    context: RequestContext,
  ): Promise<ProjectInfo> {
    const real = await this.options.checkUserPath(dir, 'project folder');
    if (existsSync(join(real, 'project.json')))
      throw new ApiError('invalid-params', `${real} already holds a project: open it instead`);
    // The image folder is read first: a missing or unreadable folder is an error and leaves no empty project.
    let paths: string[] = [];
    if (images) {
      const folder = await this.options.checkUserPath(images, 'image folder');
      try {
        paths = listImages(folder);
      } catch (error) {
        throw new ApiError('not-found', (error as Error).message);
      }
    }
    const packInfo = (await this.stages()).packInfo;
    const project = await Project.create(real, {
      images: paths,
      settings: this.options.newSettings(),
      pack: packInfo,
    });
    if (name) project.file.versions = { ...project.file.versions, projectName: name };
    project.save();
    return this.#adopt(project, context);
  }

  async open({ dir }: ParsedParams<'project:open'>, context: RequestContext): Promise<ProjectInfo> {
    const real = await this.options.checkUserPath(dir, 'project folder');
    let project: Project;
    try {
      project = Project.open(real);
    } catch (error) {
      throw new ApiError('not-found', (error as Error).message);
    }
    for (const entry of project.file.images)
      await this.options.checkUserPath(dirname(entry.path), 'image folder of the project');
    return this.#adopt(project, context);
  }

  async openDemo(
    { dir, count, seed }: ParsedParams<'project:openDemo'>,
    context: RequestContext,
  ): Promise<ProjectInfo> {
    const real = await this.options.checkUserPath(dir, 'demo project folder');
    if (existsSync(join(real, 'project.json'))) return this.open({ dir: real }, context);
    const scenes = join(real, DEMO_SCENES);
    await generateScenes({ count, seed, outDir: scenes });
    const packInfo = (await this.stages()).packInfo;
    const project = await Project.create(real, {
      images: listImages(scenes),
      settings: this.options.newSettings(),
      pack: packInfo,
    });
    return this.#adopt(project, context);
  }

  current(): ProjectInfo | null {
    return this.#project ? this.#info() : null;
  }

  async addImages(
    { folder }: ParsedParams<'project:addImages'>,
    context: RequestContext,
  ): Promise<{ added: number; skipped: number; project: ProjectInfo }> {
    const project = this.#require();
    const real = await this.options.checkUserPath(folder, 'image folder');
    let paths: string[];
    try {
      paths = listImages(real);
    } catch (error) {
      throw new ApiError('not-found', (error as Error).message);
    }
    const before = project.file.images.length;
    const reopened = await Project.create(project.dir, {
      images: paths,
      settings: project.file.settings,
      pack: project.file.pack,
    });
    this.#project = reopened;
    await this.#scope.allow(real);
    const added = reopened.file.images.length - before;
    const info = this.#info();
    context.emit('project:changed', info);
    return { added, skipped: paths.length - added, project: info };
  }

  images(): ImageSummary[] {
    const project = this.#require();
    const filter = project.file.settings.filter;
    const run = this.#run;
    // a paused run's images not reached yet are pending, not running
    const running = new Set(
      run && run.status.state !== 'paused' ? run.imageIds.filter((id) => !run.committed.has(id)) : [],
    );
    return project.file.images.map((entry) =>
      // an image being re-captioned shows as running, as its `run:image` event does, not with its old result
      imageSummary(
        entry,
        running.has(entry.id) ? undefined : this.#results.get(entry.id),
        filter,
        running.has(entry.id),
        dirname(entry.path),
        this.#review,
      ),
    );
  }

  // ---------------------------------------------------------------------------------------------------------------
  // settings

  settings(): Settings {
    return this.#require().file.settings;
  }

  setSettings({ settings }: ParsedParams<'settings:set'>, context: RequestContext): Settings {
    const project = this.#require();
    const merged = mergeSettings(project.file.settings, settings);
    if (this.#results.size > 0 && generationKey(merged) !== generationKey(project.file.settings)) {
      throw new ApiError(
        'invalid-params',
        'this project already has results made with other generation settings; only τ and the filter policies can change (use a new project for new generation settings)',
      );
    }
    project.file.settings = merged;
    project.save();
    context.emit('project:changed', this.#info());
    return merged;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // runs

  /**
   * Starts a run over the images not done yet, or with `force` also over finished ones: a finished image is then
   * re-captioned with its current mask set (stored masks minus deleted ones, plus prompted ones, in that order), and
   * its new result supersedes the old one in the store (revision + 1). A failed image is simply run again.
   */
  startRun({ settings, imageIds, force }: ParsedParams<'run:start'>, context: RequestContext): RunStatus {
    const project = this.#require();
    if (this.#run && this.#run.status.state !== 'paused')
      throw new ApiError('busy', 'a run is already going: pause or cancel it first');
    if (settings) this.setSettings({ settings }, context);
    const wanted = imageIds ? new Set(imageIds.map((id) => parseId(id, 'image').image)) : null;
    for (const id of wanted ?? []) this.#entry(String(id));
    const pending = project.file.images.filter(
      (entry) => (force || !this.#results.has(entry.id)) && (!wanted || wanted.has(entry.id)),
    );
    // The mask sets are taken now; mask and candidate edits of these images are refused until each commits, so
    // nothing the user does during the run is lost when the review state of the old revision is dropped.
    const recaption: ActiveRun['recaption'] = new Map();
    for (const entry of pending) {
      const result = this.#results.get(entry.id);
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
    const project = this.#require();
    const settings = project.file.settings;
    const signal = run.controller.signal;
    let outcome: 'completed' | 'paused' | 'cancelled' | 'failed';
    let error: string | null = null;
    const recaptionErrors: string[] = [];
    const summary = (entry: ImageEntry, result: ImageResult | undefined, running = false) =>
      imageSummary(entry, result, settings.filter, running, dirname(entry.path));
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
      const stages = await this.stages();
      const batch = await runBatch({
        entries: pending,
        control: { signal, paused: () => run.pausing },
        job: (entry, jobContext) =>
          processImage(stages, entry, settings, { ...jobContext, fixedMasks: run.recaption.get(entry.id) }),
        onImageStart: (entry) => context.emit('run:image', summary(entry, undefined, true)),
        onFailure: (entry, caught) => {
          const previous = this.#results.get(entry.id);
          // A failed re-caption commits nothing: a failed record would supersede the image's good result.
          if (previous?.status !== 'done') return failedResult(entry, caught);
          recaptionErrors.push(`image ${entry.name}: ${(caught as Error).message}`);
          run.status.imagesFailed++;
          return null;
        },
        // cancelled inside the image, or a failed re-caption: nothing is committed, so it stays pending for the next
        // run (a re-captioned image keeps its previous revision)
        onImageDropped: (entry) => context.emit('run:image', summary(entry, this.#results.get(entry.id))),
        commit: (entry, computed) => {
          const previous = this.#results.get(entry.id);
          const result = previous ? { ...computed, revision: (previous.revision ?? 0) + 1 } : computed;
          project.commit(result);
          this.#results.set(entry.id, result);
          run.committed.add(entry.id);
          if (previous && this.#supersedeReview(entry.id, result.revision ?? 0)) this.#saveReview();
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

  // ---------------------------------------------------------------------------------------------------------------
  // images and masks

  async image({ imageId, maxSide }: ParsedParams<'image:get'>): Promise<ImageBytes> {
    const entry = this.#entry(imageId);
    const path = await this.#scope.check(entry.path, 'image');
    const settings = this.#require().file.settings;
    let image: RgbImage;
    try {
      image = await loadImage(path, { maxPixels: settings.maxPixels });
    } catch (error) {
      throw new ApiError('invalid-params', `image ${entry.name}: ${(error as Error).message}`);
    }
    let pipeline = sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), {
      raw: { width: image.width, height: image.height, channels: 3 },
    });
    let { width, height } = image;
    if (maxSide && Math.max(width, height) > maxSide) {
      const scale = maxSide / Math.max(width, height);
      width = Math.max(1, Math.round(width * scale));
      height = Math.max(1, Math.round(height * scale));
      pipeline = pipeline.resize(width, height);
    }
    const bytes = await pipeline.png().toBuffer();
    return {
      width,
      height,
      mime: 'image/png',
      bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    };
  }

  masks({ imageId }: ParsedParams<'image:masks'>): MaskView[] {
    const entry = this.#entry(imageId);
    return maskViews(
      this.#results.get(entry.id),
      entry.id,
      this.#review,
      this.#require().file.settings.filter,
    );
  }

  async predict({ imageId, prompt }: ParsedParams<'mask:predict'>): Promise<MaskPreview> {
    const entry = this.#entry(imageId);
    const session = await this.#segmentSession(entry);
    const predicted = await promptMask(session, prompt);
    if (predicted.area === 0)
      throw new ApiError('invalid-params', 'the prompt selects no pixels: click inside an object');
    return {
      imageId,
      bbox: predicted.bbox,
      area: predicted.area,
      rle: encodeRle(predicted.mask),
      predictedIou: predicted.predictedIou,
      stability: predicted.stability,
    };
  }

  async addMask({ imageId, prompt }: ParsedParams<'mask:add'>): Promise<MaskView> {
    this.#refuseWhileRecaptioning(parseId(imageId, 'image').image);
    const preview = await this.predict({ imageId, prompt });
    const list = (this.#review.userMasks[imageId] ??= []);
    list.push({
      rle: preview.rle,
      bbox: preview.bbox,
      area: preview.area,
      predictedIou: preview.predictedIou,
      stability: preview.stability,
    });
    this.#saveReview();
    const id = userMaskId(imageId, list.length - 1);
    return this.masks({ imageId }).find((m) => m.id === id)!;
  }

  async refineMask({ maskId, prompt }: ParsedParams<'mask:refine'>): Promise<MaskView> {
    const { image } = parseId(maskId, 'mask');
    this.#refuseWhileRecaptioning(image);
    const imageId = String(image);
    const preview = await this.predict({ imageId, prompt });
    const list = (this.#review.userMasks[imageId] ??= []);
    list.push({
      rle: preview.rle,
      bbox: preview.bbox,
      area: preview.area,
      predictedIou: preview.predictedIou,
      stability: preview.stability,
    });
    // The refined mask replaces the old one: the old one is marked deleted (stored results are append-only).
    if (!this.#review.deletedMasks.includes(maskId)) this.#review.deletedMasks.push(maskId);
    this.#saveReview();
    const id = userMaskId(imageId, list.length - 1);
    return this.masks({ imageId }).find((m) => m.id === id)!;
  }

  deleteMask({ maskId }: ParsedParams<'mask:delete'>): { deleted: string } {
    const { image } = parseId(maskId, 'mask');
    this.#refuseWhileRecaptioning(image);
    if (!this.masks({ imageId: String(image) }).some((m) => m.id === maskId))
      throw new ApiError('not-found', `no mask with id "${maskId}"`);
    this.#review.deletedMasks.push(maskId);
    this.#saveReview();
    return { deleted: maskId };
  }

  /** Undoes `deleteMask` (or a refine's replacement): the mask is no longer marked deleted. */
  restoreMask({ maskId }: ParsedParams<'mask:restore'>): { restored: string } {
    const { image } = parseId(maskId, 'mask');
    this.#refuseWhileRecaptioning(image);
    if (!this.#review.deletedMasks.includes(maskId))
      throw new ApiError('not-found', `mask "${maskId}" is not deleted`);
    this.#review.deletedMasks = this.#review.deletedMasks.filter((id) => id !== maskId);
    this.#saveReview();
    return { restored: maskId };
  }

  // ---------------------------------------------------------------------------------------------------------------
  // candidates and review

  candidates({ imageId, maskId }: ParsedParams<'candidates:list'>) {
    const entry = this.#entry(imageId);
    const result = this.#results.get(entry.id);
    if (!result || result.status !== 'done') return [];
    const mask = maskId === undefined ? undefined : parseId(maskId, 'mask');
    if (mask && mask.image !== entry.id)
      throw new ApiError('not-found', `mask ${maskId} is not a mask of image ${imageId}`);
    if (mask?.user !== undefined) return [];
    return candidateViews(result, this.#review, mask?.mask);
  }

  decide({ candidateId, decision }: ParsedParams<'candidates:decide'>) {
    const found = this.#candidate(candidateId);
    this.#refuseWhileRecaptioning(found.result.image.id);
    this.#undo.push({ kind: 'decision', id: candidateId, before: this.#review.decisions[candidateId] });
    if (decision === 'none') delete this.#review.decisions[candidateId];
    else this.#review.decisions[candidateId] = decision;
    this.#saveReview();
    return candidateView(found.result.image.id, found.candidate, found.result.masks.length, this.#review);
  }

  edit({ candidateId, text }: ParsedParams<'candidates:edit'>) {
    const found = this.#candidate(candidateId);
    this.#refuseWhileRecaptioning(found.result.image.id);
    this.#undo.push({ kind: 'edit', id: candidateId, before: this.#review.edits[candidateId] });
    this.#review.edits[candidateId] = text;
    this.#saveReview();
    return candidateView(found.result.image.id, found.candidate, found.result.masks.length, this.#review);
  }

  undo() {
    const next = this.#undo.at(-1);
    if (next) this.#refuseWhileRecaptioning(parseId(next.id, 'candidate').image);
    const last = this.#undo.pop();
    if (!last) return { candidate: null };
    const table = last.kind === 'decision' ? this.#review.decisions : this.#review.edits;
    if (last.before === undefined) delete table[last.id];
    else (table as Record<string, string>)[last.id] = last.before;
    this.#saveReview();
    const found = this.#candidate(last.id);
    return {
      candidate: candidateView(
        found.result.image.id,
        found.candidate,
        found.result.masks.length,
        this.#review,
      ),
    };
  }

  // ---------------------------------------------------------------------------------------------------------------
  // τ re-filtering, report, export

  /** The page's τ columns (scores, masks, review marks) of every finished image: see shared/decide.ts `buildKeptIndex`. */
  dosScores(): DosScores {
    const project = this.#require();
    const done = this.#doneResults();
    const columns = decisionColumns(done, this.#review);
    return {
      tau: project.file.settings.filter.tau,
      dos: columns.dos,
      imageIndex: columns.image,
      imageIds: columns.imageIds.map(String),
      mask: columns.mask,
      cos: columns.cos,
      review: columns.review,
      maskCounts: columns.maskCounts,
    };
  }

  keptCounts({ tau }: ParsedParams<'filter:counts'>): KeptCounts {
    const filter: FilterSettings = { ...this.#require().file.settings.filter, tau };
    const counts: KeptCounts = { tau, candidates: 0, kept: 0, masks: 0, masksWithKept: 0, perImage: {} };
    for (const result of this.#doneResults()) {
      const kept = keptFlags(result, filter, this.#review);
      const exportable = result.candidates.filter((c) => !c.comparison).length;
      const keptCount = kept.filter(Boolean).length;
      counts.candidates += exportable;
      counts.kept += keptCount;
      counts.masks += result.masks.length;
      counts.masksWithKept += new Set(result.candidates.filter((_, k) => kept[k]).map((c) => c.mask)).size;
      counts.perImage[String(result.image.id)] = { candidates: exportable, kept: keptCount };
    }
    return counts;
  }

  report({ tau }: ParsedParams<'report:get'>): ReportView {
    const project = this.#require();
    const filter: FilterSettings = {
      ...project.file.settings.filter,
      tau: tau ?? project.file.settings.filter.tau,
    };
    const results = [...this.#results.values()];
    const truthPath = join(project.dir, DEMO_SCENES, 'ground-truth.json');
    const report = existsSync(truthPath)
      ? evaluateResults(results, readGroundTruth(truthPath), filter, this.#review)
      : buildReport(results, filter, this.#review);
    const kept = report.oracle?.kept;
    return {
      tau: report.tau,
      images: report.images,
      imagesFailed: report.imagesFailed,
      masks: report.masks,
      candidates: report.candidates,
      kept: report.kept,
      keptShare: report.keptShare ?? 0,
      means: report.means,
      dosHistogram: report.dosHistogram,
      keptShareVsTau: {
        tau: report.keptShareVsTau.tau,
        share: report.keptShareVsTau.share.map((s) => s ?? 0),
      },
      vocabularySize: report.vocabularySize,
      oracle: kept ? { identified: kept.identified, total: kept.total, rate: kept.rate ?? 0 } : null,
      demo: project.file.pack?.demo ?? false,
    };
  }

  async export(
    { formats, dest, tau, split }: ParsedParams<'export:run'>,
    context: RequestContext,
  ): Promise<ExportResult> {
    const project = this.#require();
    const out = dest
      ? await this.options.checkUserPath(dest, 'export destination')
      : join(project.dir, 'exports');
    const files: string[] = [];
    let expressions = 0;
    for (const format of formats) {
      if (format === 'repro') continue; // every export writes the reproducibility record beside its files
      context.signal.throwIfAborted();
      // the format sub-folder gets the path policy too (it may be a symlink out), and every write re-checks it
      const folder = dest
        ? await this.options.checkUserPath(join(out, format), 'export folder')
        : join(out, format);
      // the review (accept keeps whatever τ says, reject and deleted masks drop, edits' texts) is applied by the
      // exporters through the shared keep rule, as the page counts and the report apply it
      const summary = await exportProject(project.dir, {
        format,
        out: folder,
        tau,
        split,
        review: this.#review,
        within: dest ? out : project.dir,
        onProgress: (done, total) => context.emit('export:progress', { format, done, total }),
      });
      files.push(...summary.files.map((file) => join(folder, file)));
      expressions = Math.max(expressions, summary.expressions);
    }
    return { dest: out, files, expressions };
  }

  // ---------------------------------------------------------------------------------------------------------------
  // inspector

  async trace({ candidateId }: ParsedParams<'inspector:trace'>): Promise<InspectorTrace> {
    const { result, candidate } = this.#candidate(candidateId);
    if (candidate.setting.kind === 'beam')
      throw new ApiError(
        'unsupported',
        'beam-search candidates have no sampling trace: open a sampled (DCS or plain) candidate',
      );
    const traced = await this.#decodeOne(result, candidate.mask, candidate.crop, candidate.setting, {});
    return { candidateId, maskIds: result.masks.map((m) => maskId(result.image.id, m.index)), trace: traced };
  }

  async rerun({ candidateId, overrides }: ParsedParams<'inspector:rerun'>): Promise<InspectorRerun> {
    const { result, candidate } = this.#candidate(candidateId);
    const base: SamplingSetting =
      candidate.setting.kind === 'beam' ? { kind: 'top-k', k: 5, distinctive: true } : candidate.setting;
    let setting: SamplingSetting = base;
    if (overrides.topK !== undefined) setting = { kind: 'top-k', k: overrides.topK, distinctive: true };
    else if (overrides.topP !== undefined) setting = { kind: 'top-p', p: overrides.topP, distinctive: true };
    const tweaks = {
      temperature: overrides.temperature,
      seed: overrides.seed,
      aggregation: overrides.aggregation,
    };
    const dcs = await this.#decodeOne(
      result,
      candidate.mask,
      candidate.crop,
      { ...setting, distinctive: true },
      tweaks,
    );
    const naive = await this.#decodeOne(
      result,
      candidate.mask,
      candidate.crop,
      { ...setting, distinctive: false },
      tweaks,
    );
    return {
      candidateId,
      maskIds: result.masks.map((m) => maskId(result.image.id, m.index)),
      naive,
      dcs,
      comparison: compareTraces(naive, dcs),
    };
  }

  /** Loads a stored image from the confined folders and decodes one setting with a trace (`decodeWithTrace`). */
  async #decodeOne(
    result: ImageResult,
    mask: number,
    crop: ImageResult['candidates'][number]['crop'],
    setting: SamplingSetting,
    tweaks: DecodeTweaks,
  ): Promise<CaptionTrace> {
    const settings = this.#require().file.settings;
    const stages = await this.stages();
    const path = await this.#scope.check(result.image.path, 'image');
    const image = await stages.load(path, settings.maxPixels);
    const trace = await decodeWithTrace({ image, result, settings, stages, mask, crop, setting, tweaks });
    if (!trace)
      throw new ApiError('engine', `no trace was recorded for mask ${mask} (${settingKey(setting)})`);
    return trace;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // internals

  /** The pipeline's stages over the current pack (opened once, reopened when the pack changes). */
  async stages(): Promise<PackStages> {
    const dir = await this.options.packDir();
    if (this.#stages?.dir !== dir) {
      const previous = this.#stages;
      this.#stages = { dir, stages: openStages(dir, { contains: (real) => this.#scope.contains(real) }) };
      this.#stages.stages.catch(() => (this.#stages = null));
      this.#segmentSessions.clear();
      if (previous) void previous.stages.then((s) => s.dispose()).catch(() => {});
    }
    return this.#stages.stages;
  }

  /**
   * The pack the pipeline runs on and the provider of each session it opened so far (what runs actually used), or
   * null before the stages are opened.
   */
  async runProviders(): Promise<{ name: string; demo: boolean; roles: ProviderInfo[] } | null> {
    const stages = this.#stages ? await this.#stages.stages.catch(() => null) : null;
    return stages
      ? { name: stages.packInfo.name, demo: stages.packInfo.demo, roles: stages.pack.providers() }
      : null;
  }

  /** Releases the sessions. */
  async dispose(): Promise<void> {
    this.#run?.controller.abort();
    await this.#run?.done;
    if (this.#stages) await (await this.#stages.stages.catch(() => null))?.dispose();
  }

  async #adopt(project: Project, context: RequestContext): Promise<ProjectInfo> {
    if (this.#run) throw new ApiError('busy', 'a run is going: cancel it before opening another project');
    this.#project?.close();
    this.#project = project;
    this.#results = new Map(project.results().map((r) => [r.image.id, r]));
    this.#review = readReview(project.dir);
    this.#undo = [];
    // A crash between a re-caption's commit and the review update leaves review entries of the old revision:
    // drop them now, as the run would have.
    let superseded = false;
    for (const result of this.#results.values())
      if (this.#supersedeReview(result.image.id, result.revision ?? 0)) superseded = true;
    if (superseded) this.#saveReview();
    this.#segmentSessions.clear();
    this.#scope.clear();
    await this.#scope.allow(project.dir);
    for (const folder of new Set(project.file.images.map((e) => dirname(e.path))))
      await this.#scope.allow(folder).catch(() => {});
    const info = this.#info();
    context.emit('project:changed', info);
    return info;
  }

  #info(): ProjectInfo {
    const project = this.#require();
    const pack = project.file.pack;
    return {
      dir: project.dir,
      name: project.file.versions.projectName ?? project.dir.split(/[\\/]/).pop() ?? project.dir,
      imageFolders: [...new Set(project.file.images.map((e) => dirname(e.path)))],
      imageCount: project.file.images.length,
      pack: pack ? { name: pack.name, dir: pack.dir, demo: pack.demo } : null,
      settings: project.file.settings,
    };
  }

  #require(): Project {
    if (!this.#project) throw new ApiError('no-project', 'no project is open: open or create one first');
    return this.#project;
  }

  #entry(imageId: string): ImageEntry {
    const { image } = parseId(imageId, 'image');
    try {
      return this.#require().image(image);
    } catch (error) {
      if (error instanceof ApiError) throw error;
      throw new ApiError('not-found', `no image with id "${imageId}"`);
    }
  }

  #doneResults(): ImageResult[] {
    return [...this.#results.values()]
      .filter((r) => r.status === 'done')
      .sort((a, b) => a.image.id - b.image.id);
  }

  #candidate(id: string) {
    const { image, mask, candidate } = parseId(id, 'candidate');
    const result = this.#results.get(image);
    const found = result?.candidates.find((c) => c.mask === mask && c.index === candidate);
    if (!result || !found) throw new ApiError('not-found', `no candidate with id "${id}"`);
    return { result, candidate: found };
  }

  async #segmentSession(entry: ImageEntry): Promise<SegmentSession> {
    let session = this.#segmentSessions.get(entry.id);
    if (!session) {
      session = (async () => {
        const stages = await this.stages();
        const path = await this.#scope.check(entry.path, 'image');
        const image = await loadImage(path, { maxPixels: this.#require().file.settings.maxPixels });
        return new SegmentSession(await stages.segmenter(), image);
      })();
      session.catch(() => this.#segmentSessions.delete(entry.id));
      // Keep the embeddings of a few images only: each holds a [1,C,64,64] tensor.
      if (this.#segmentSessions.size >= 4)
        this.#segmentSessions.delete(this.#segmentSessions.keys().next().value as number);
      this.#segmentSessions.set(entry.id, session);
    }
    return session;
  }

  /**
   * The mask set a re-caption of `result`'s image uses: its stored masks minus deleted ones, then the masks added
   * with prompts (not deleted), as the workspace lists them. Prompted masks carry predicted IoU × stability as their
   * score, like generated ones.
   */
  #currentMaskSet(result: ImageResult): StageMasks & { previousIds: Record<string, number | null> } {
    const imageId = result.image.id;
    const deleted = new Set(this.#review.deletedMasks);
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
    (this.#review.userMasks[String(imageId)] ?? []).forEach((mask, k) => {
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
    const cap = this.#require().file.settings.masks.hardCap;
    if (set.masks.length > cap)
      throw new ApiError(
        'invalid-params',
        `image ${imageId} has ${set.masks.length} masks; at most ${cap} (settings.masks.hardCap) are captioned together: delete some`,
      );
    return { ...set, previousIds };
  }

  /**
   * Drops the review state of image `imageId` that refers to a revision older than `revision`, and records that
   * the review now refers to `revision`. Answers whether anything changed.
   *
   * Dropped, not remapped, on purpose: a re-caption regenerates every candidate (DCS weighs each mask against all
   * the others, so even a surviving mask's captions change) and renumbers the masks, so an accept/reject/edit keyed
   * `image:mask:n` would otherwise attach silently to a different caption. Prompted masks and deletions are dropped
   * because the new revision's stored masks already include them. Undo entries of the image go too.
   */
  #supersedeReview(imageId: number, revision: number): boolean {
    const review = this.#review;
    const key = String(imageId);
    if (revision <= (review.revisions[key] ?? 0)) return false;
    const ofImage = (id: string) => id.startsWith(`${key}:`);
    for (const id of Object.keys(review.decisions)) if (ofImage(id)) delete review.decisions[id];
    for (const id of Object.keys(review.edits)) if (ofImage(id)) delete review.edits[id];
    review.deletedMasks = review.deletedMasks.filter((id) => !ofImage(id));
    delete review.userMasks[key];
    review.revisions[key] = revision;
    this.#undo = this.#undo.filter((entry) => !ofImage(entry.id));
    return true;
  }

  /** Mask and candidate edits of an image being re-captioned are refused until its new revision commits. */
  #refuseWhileRecaptioning(imageId: number): void {
    const run = this.#run;
    if (run?.recaption.has(imageId) && !run.committed.has(imageId))
      throw new ApiError(
        'busy',
        `image ${imageId} is being re-captioned: wait for it to finish (or cancel the run) before editing its masks or candidates`,
      );
  }

  #saveReview(): void {
    writeFileAtomic(join(this.#require().dir, REVIEW_FILE), `${JSON.stringify(this.#review, null, 1)}\n`);
  }
}

function readReview(dir: string): ReviewState {
  const path = join(dir, REVIEW_FILE);
  if (!existsSync(path)) return emptyReview();
  try {
    return { ...emptyReview(), ...(JSON.parse(readFileSync(path, 'utf8')) as Partial<ReviewState>) };
  } catch (error) {
    throw new ApiError(
      'engine',
      `${path} is not valid JSON (${(error as Error).message}); move it aside to reset the review`,
    );
  }
}

/**
 * The demo pack folder. A packaged app ships it prebuilt beside app.asar (`process.resourcesPath/models/demo`, a
 * read-only install folder); elsewhere it is built on first use in `resources/models/demo`.
 */
export async function demoPackDir(): Promise<string> {
  const resourcesPath = (process as { resourcesPath?: string }).resourcesPath;
  const bundled = resourcesPath ? join(resourcesPath, 'models', 'demo') : null;
  if (bundled && existsSync(join(bundled, 'manifest.json'))) return bundled;
  return ensureDemoPack();
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
