/**
 * The open session of one project, as the facade (`index.ts`) serves it. "Project" names three things here: the
 * project store (pipeline/store/ `Project`, the folder on disk), the contract's view of it (`ProjectInfo`), and
 * this session over it, hence `ProjectSession` (formerly `ProjectService`). It opens and creates projects, lists
 * their images, keeps their settings and serves image bytes and mask predictions; the rest is split by job and
 * composed here:
 * - `run-control.ts` (`runs`): start, pause, resume, cancel and status of the run (the pipeline's batch loop);
 * - `review-store.ts` (`review`): review.json with its one schema, decisions, edits, undo, mask edits and restore;
 * - `inspector.ts` (`inspector`): trace and re-run replay of stored candidates;
 * - `report-export.ts` (`outputs`): τ re-filtering from stored scores, report and export;
 * - `session-state.ts` (`state`): what they share (store, results, file scope, model stages).
 * Logic stays in the engine modules; every file path is checked against the allowed folders.
 */
import { existsSync } from 'node:fs';
import { lstat, realpath } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  ApiError,
  mergeSettings,
  type ImageBytes,
  type ImagePage,
  type ImageSummary,
  type MaskPreview,
  type ParsedParams,
  type ProjectInfo,
  type RequestContext,
} from '../../shared/api.ts';
import { generationKey, type Settings } from '../../shared/settings.ts';
import { ensureDemoPack, generateScenes } from '../demo/index.ts';
import { allKeptAt, imageKeptAt } from '../../shared/kept-counter.ts';
import { encodeRle, loadDisplayImage } from '../image/index.ts';
import {
  listImages,
  Project,
  PROJECT_FILE,
  QUEUE_PROGRESS_FILE,
  RESULTS_FILE,
  type ImageEntry,
} from '../pipeline/index.ts';
import { promptMask } from '../segment/index.ts';
import { Inspector } from './inspector.ts';
import { ReportExport } from './report-export.ts';
import { ReviewStore } from './review-store.ts';
import { RunControl } from './run-control.ts';
import { DEMO_SCENES, SessionState, type ProjectSessionOptions } from './session-state.ts';
import { nearestTwin } from './twins.ts';
import { recordSize, reviewedByImage } from './views.ts';

import { REVIEW_FILE } from '../../shared/formats.ts';

export { REVIEW_FILE };
export { DEMO_SCENES, type ProjectSessionOptions } from './session-state.ts';

/** The open project's session: project lifecycle, settings and images here; the other jobs in its parts. */
export class ProjectSession {
  /** What the parts share. */
  readonly state: SessionState;
  /** The review of the open project. */
  readonly review: ReviewStore;
  /** The run over the open project. */
  readonly runs: RunControl;
  /** Trace and re-run of stored candidates. */
  readonly inspector: Inspector;
  /** τ re-filtering, report and export. */
  readonly outputs: ReportExport;

  constructor(options: ProjectSessionOptions) {
    this.state = new SessionState(options);
    this.review = new ReviewStore(this.state, {
      predict: (params) => this.predict(params),
      refuseWhileRecaptioning: (imageId) => this.runs.refuseWhileRecaptioning(imageId),
    });
    this.runs = new RunControl(this.state, this.review, {
      setSettings: (params, context) => this.setSettings(params, context),
    });
    this.inspector = new Inspector(this.state);
    this.outputs = new ReportExport(this.state, this.review);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // projects

  async create(
    { dir, name, images }: ParsedParams<'project:create'>,
    context: RequestContext,
  ): Promise<ProjectInfo> {
    const real = await this.state.options.checkUserPath(dir, 'project folder');
    if (existsSync(join(real, 'project.json')))
      throw new ApiError('invalid-params', `${real} already holds a project: open it instead`);
    // The image folder is read first: a missing or unreadable folder is an error and leaves no empty project.
    let paths: string[] = [];
    if (images) {
      const folder = await this.state.options.checkUserPath(images, 'image folder');
      try {
        paths = listImages(folder);
      } catch (error) {
        throw new ApiError('not-found', (error as Error).message);
      }
    }
    const packInfo = (await this.state.stages()).packInfo;
    const project = await Project.create(real, {
      images: paths,
      settings: this.state.options.newSettings(),
      pack: packInfo,
    });
    if (name) project.file.versions = { ...project.file.versions, projectName: name };
    project.save();
    return this.#adopt(project, context);
  }

  async open({ dir }: ParsedParams<'project:open'>, context: RequestContext): Promise<ProjectInfo> {
    const real = await this.state.options.checkUserPath(dir, 'project folder');
    await ownFilesInside(real);
    let project: Project;
    try {
      project = Project.open(real);
    } catch (error) {
      throw new ApiError('not-found', (error as Error).message);
    }
    // each folder once: a 100k-image project has a handful of folders, not 100k path checks
    for (const folder of new Set(project.file.images.map((entry) => dirname(entry.path))))
      await this.state.options.checkUserPath(folder, 'image folder of the project');
    return this.#adopt(project, context);
  }

  async openDemo(
    { dir, count, seed }: ParsedParams<'project:openDemo'>,
    context: RequestContext,
  ): Promise<ProjectInfo> {
    const real = await this.state.options.checkUserPath(dir, 'demo project folder');
    if (existsSync(join(real, 'project.json'))) return this.open({ dir: real }, context);
    const scenes = join(real, DEMO_SCENES);
    await generateScenes({ count, seed, outDir: scenes });
    const packInfo = (await this.state.stages()).packInfo;
    const project = await Project.create(real, {
      images: listImages(scenes),
      settings: this.state.options.newSettings(),
      pack: packInfo,
    });
    return this.#adopt(project, context);
  }

  current(): ProjectInfo | null {
    return this.state.project ? this.state.info() : null;
  }

  async addImages(
    { folder }: ParsedParams<'project:addImages'>,
    context: RequestContext,
  ): Promise<{ added: number; skipped: number; project: ProjectInfo }> {
    const project = this.state.require();
    const real = await this.state.options.checkUserPath(folder, 'image folder');
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
    this.state.project = reopened;
    await this.state.scope.allow(real);
    const added = reopened.file.images.length - before;
    const info = this.state.info();
    context.emit('project:changed', info);
    return { added, skipped: paths.length - added, project: info };
  }

  /**
   * A page of the gallery (`project:images`), computed here whatever the project's size: statuses from the catalog,
   * kept counts from the columns' counter, names from the image list; only the page's records are read (their
   * headers: size; failed ones whole, for the error).
   */
  images(params: ParsedParams<'project:images'>): ImagePage {
    const project = this.state.require();
    const catalog = project.catalog;
    const tau = params.tau ?? project.file.settings.filter.tau;
    // a paused run's images not reached yet are pending, not running
    const running = this.runs.running();
    const counter = this.outputs.counts.counter();
    const { columns, position } = counter.base;
    const reviewed = reviewedByImage(this.review.state);
    const status = (id: number): ImageSummary['status'] => {
      // an image being re-captioned shows as running, as its `run:image` event does, not with its old result
      if (running.has(id)) return 'running';
      const stored = catalog.status(id);
      return stored === 'done' ? 'done' : stored === 'failed' ? 'error' : 'pending';
    };
    const entries = project.file.images;
    const statuses = entries.map((entry) => status(entry.id));
    const counts = { pending: 0, running: 0, done: 0, error: 0 };
    for (const s of statuses) counts[s]++;
    const candidatesOf = (id: number) => {
      const p = position.get(id);
      return p === undefined ? 0 : columns.end[p] - columns.start[p];
    };
    const wanted = (k: number): boolean => {
      const s = statuses[k];
      switch (params.filter) {
        case 'done':
          return s === 'done';
        case 'failed':
          return s === 'error';
        case 'pending':
          return s === 'pending' || s === 'running';
        case 'unreviewed': {
          const id = entries[k].id;
          return s === 'done' && (reviewed.get(id) ?? 0) < candidatesOf(id);
        }
        default:
          return true;
      }
    };
    let order = entries.map((_, k) => k);
    if (params.order === 'name') order = this.#nameOrder(entries);
    else if (params.order === 'kept') {
      const all = allKeptAt(counter, tau);
      const kept = (k: number) => {
        const p = position.get(entries[k].id);
        return p === undefined || statuses[k] !== 'done' ? -1 : all[p];
      };
      const keys = Int32Array.from(order, kept);
      order.sort((a, b) => keys[b] - keys[a] || a - b);
    }
    const shown = order.filter(wanted);
    const page = shown.slice(params.offset, params.offset + params.limit).map((k) => {
      const entry = entries[k];
      const base: ImageSummary = {
        id: String(entry.id),
        file: entry.name,
        folder: dirname(entry.path),
        width: null,
        height: null,
        status: statuses[k],
        error: null,
        masks: 0,
        candidates: 0,
        kept: 0,
        reviewed: 0,
      };
      if (statuses[k] === 'error') {
        const result = catalog.get(entry.id)!;
        return {
          ...base,
          error: {
            code: result.error?.code ?? 'error',
            message: result.error?.message ?? 'the image failed',
          },
        };
      }
      const p = position.get(entry.id);
      if (statuses[k] !== 'done' || p === undefined) return base;
      const size = recordSize(catalog, entry.id);
      return {
        ...base,
        width: size.width,
        height: size.height,
        masks: columns.maskCount[p],
        candidates: columns.end[p] - columns.start[p],
        kept: imageKeptAt(counter, p, tau),
        reviewed: reviewed.get(entry.id) ?? 0,
      };
    });
    return { total: shown.length, offset: params.offset, images: page, tau, counts };
  }

  /** Positions of the image list in file-name order (natural numbers), kept while the list is the same. */
  #nameOrder(entries: readonly ImageEntry[]): number[] {
    if (this.#names?.entries !== entries || this.#names.length !== entries.length) {
      const collator = new Intl.Collator(undefined, { numeric: true });
      const order = entries
        .map((_, k) => k)
        .sort((a, b) => collator.compare(entries[a].name, entries[b].name) || a - b);
      this.#names = { entries, length: entries.length, order };
    }
    return this.#names.order;
  }

  #names: { entries: readonly ImageEntry[]; length: number; order: number[] } | null = null;

  // ---------------------------------------------------------------------------------------------------------------
  // settings

  settings(): Settings {
    return this.state.require().file.settings;
  }

  setSettings({ settings }: ParsedParams<'settings:set'>, context: RequestContext): Settings {
    const project = this.state.require();
    const merged = mergeSettings(project.file.settings, settings);
    if (this.state.results.size > 0 && generationKey(merged) !== generationKey(project.file.settings)) {
      throw new ApiError(
        'invalid-params',
        'this project already has results made with other generation settings; only τ and the filter policies can change (use a new project for new generation settings)',
      );
    }
    project.file.settings = merged;
    project.save();
    context.emit('project:changed', this.state.info());
    return merged;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // images

  async image({ imageId, maxSide }: ParsedParams<'image:get'>): Promise<ImageBytes> {
    const entry = this.state.entry(imageId);
    const path = await this.state.scope.check(entry.path, 'image');
    const settings = this.state.require().file.settings;
    try {
      // a PNG/JPEG/WebP the browser shows as read goes as its own bytes (no decode and re-encode)
      return await loadDisplayImage(path, {
        maxPixels: settings.maxPixels,
        contains: (real) => this.state.scope.contains(real),
        ...(maxSide ? { maxSide } : {}),
      });
    } catch (error) {
      throw new ApiError('invalid-params', `image ${entry.name}: ${(error as Error).message}`);
    }
  }

  /** Predicts a mask from a prompt, naming the shown mask it nearly repeats (not the one it refines). */
  async predict({ imageId, prompt, refining }: ParsedParams<'mask:predict'>): Promise<MaskPreview> {
    const entry = this.state.entry(imageId);
    const session = await this.state.segmentSession(entry);
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
      // a refine replaces its mask: the mask being refined is no twin of its replacement
      duplicateOf: nearestTwin(
        predicted.mask,
        predicted.area,
        this.review.masks({ imageId }).filter((mask) => mask.id !== refining),
      ),
    };
  }

  // ---------------------------------------------------------------------------------------------------------------
  // internals

  /**
   * The pack the pipeline runs on and the provider of each session it opened so far (what runs actually used), or
   * null before the stages are opened.
   */
  runProviders() {
    return this.state.runProviders();
  }

  /** Stops the run and releases the sessions. */
  async dispose(): Promise<void> {
    await this.runs.dispose();
    await this.state.dispose();
  }

  async #adopt(project: Project, context: RequestContext): Promise<ProjectInfo> {
    if (this.runs.active)
      throw new ApiError('busy', 'a run is going: cancel it before opening another project');
    this.state.project?.close();
    this.state.project = project;
    this.state.results.clear();
    this.review.load(project.dir);
    this.state.clearSegmentSessions();
    this.state.scope.clear();
    await this.state.scope.allow(project.dir);
    for (const folder of new Set(project.file.images.map((e) => dirname(e.path))))
      await this.state.scope.allow(folder).catch(() => {});
    // a queued run another process coordinates on this project is shown as it goes (run-control.ts)
    this.runs.watchProject(project.dir, context);
    const info = this.state.info();
    context.emit('project:changed', info);
    return info;
  }
}

/** The files a project folder holds about itself; each is read by path when the project opens. */
const OWN_FILES = [PROJECT_FILE, RESULTS_FILE, REVIEW_FILE, QUEUE_PROGRESS_FILE];

/**
 * Refuses a project whose own files are not its own: `project.json`, `results.jsonl`, `review.json` or
 * `queue-progress.json` whose real path (a symbolic link) lies outside the project folder. Checked before any of them
 * is read, so nothing of a file elsewhere (not even a parse error or a field name) comes back. The results are later
 * appended to without following links (pipeline/store.ts).
 */
async function ownFilesInside(projectDir: string): Promise<void> {
  for (const name of OWN_FILES) {
    const path = join(projectDir, name);
    let real: string;
    try {
      real = await realpath(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && !(await lstat(path).catch(() => null))) continue;
      throw new ApiError('forbidden', `${name} of the project cannot be read: ${path}`);
    }
    if (dirname(real) !== projectDir)
      throw new ApiError('forbidden', `${name} of the project is outside the project folder: ${path}`);
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
