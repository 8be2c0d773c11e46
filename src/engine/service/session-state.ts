/**
 * The state every part of the open session shares: the open project store (the pipeline's `Project`, one folder
 * on disk), its stored results, the confined file scope, the pipeline's stages over the current model pack and the
 * segmenter sessions of prompted masks. The parts (run control, review store, inspector, report and export) read
 * and change it through this object; `session.ts` (`ProjectSession`) owns it.
 */
import { dirname } from 'node:path';
import { ApiError, type ProjectInfo } from '../../shared/api.ts';
import type { ProviderInfo } from '../../shared/models.ts';
import type { ImageResult } from '../../shared/results.ts';
import type { Settings } from '../../shared/settings.ts';
import { loadImage } from '../image/index.ts';
import { openStages, type ImageEntry, type PackStages, type Project } from '../pipeline/index.ts';
import type { ResultCatalog } from '../pipeline/index.ts';
import { SegmentSession } from '../segment/index.ts';
import { FileScope } from './paths.ts';
import { parseId } from './views.ts';

/** Demo scenes are generated into this sub-folder of a demo project. */
export const DEMO_SCENES = 'scenes';

/** Hooks the session needs from the facade. */
export interface ProjectSessionOptions {
  /** Checks a user-named folder against the served mode's roots; answers its real path. */
  checkUserPath(path: string, what: string): Promise<string>;
  /** The model pack to run (the active one, else the demo pack). */
  packDir(): Promise<string>;
  /** Whether the pack's sessions run on the CPU provider only (`models:use` with forceCpu, `serve --cpu`). */
  forceCpu?(): boolean;
  /** Settings of new projects. */
  newSettings(): Settings;
}

/** The open project store, its results, file scope and model stages, shared by the session's parts. */
export class SessionState {
  /** The open project store, or null before one is opened. */
  project: Project | null = null;
  /** Stored results by image id (the newest revision of each image), read through the project's catalog. */
  readonly results = new SessionResults(this);
  /** The folders the session may read and write: the project's and its image folders. */
  readonly scope = new FileScope();
  /** The stages and what they were opened for: the pack folder and the CPU-only choice. */
  #stages: { key: string; stages: Promise<PackStages> } | null = null;
  #segmentSessions = new Map<number, Promise<SegmentSession>>();

  constructor(readonly options: ProjectSessionOptions) {}

  /** The open project store; throws `no-project` when none is open. */
  require(): Project {
    if (!this.project) throw new ApiError('no-project', 'no project is open: open or create one first');
    return this.project;
  }

  /** The image entry of id `imageId` of the open project; throws `not-found` naming it. */
  entry(imageId: string): ImageEntry {
    const { image } = parseId(imageId, 'image');
    try {
      return this.require().image(image);
    } catch (error) {
      if (error instanceof ApiError) throw error;
      throw new ApiError('not-found', `no image with id "${imageId}"`);
    }
  }

  /** The open project's results by index (throws `no-project`). */
  catalog(): ResultCatalog {
    return this.require().catalog;
  }

  /** The stored candidate of id `id` and its image's result; throws `not-found` naming it. */
  candidate(id: string) {
    const { image, mask, candidate } = parseId(id, 'candidate');
    const result = this.results.get(image);
    const found = result?.candidates.find((c) => c.mask === mask && c.index === candidate);
    if (!result || !found) throw new ApiError('not-found', `no candidate with id "${id}"`);
    return { result, candidate: found };
  }

  /** The contract's view of the open project. */
  info(): ProjectInfo {
    const project = this.require();
    const pack = project.file.pack;
    return {
      dir: project.dir,
      name: project.file.versions.projectName ?? project.dir.split(/[\\/]/).pop() ?? project.dir,
      imageFolders: [...new Set(project.file.images.map((e) => dirname(e.path)))],
      imageCount: project.file.images.length,
      pack: pack ? { name: pack.name, dir: pack.dir, demo: pack.demo } : null,
      settings: project.file.settings,
      notes: [...project.catalog.problems],
    };
  }

  /** The pipeline's stages over the current pack (opened once, reopened when the pack changes). */
  async stages(): Promise<PackStages> {
    const dir = await this.options.packDir();
    const forceCpu = this.options.forceCpu?.() ?? false;
    const key = `${forceCpu ? 'cpu' : 'any'}|${dir}`;
    if (this.#stages?.key !== key) {
      const previous = this.#stages;
      this.#stages = {
        key,
        stages: openStages(dir, { contains: (real) => this.scope.contains(real), forceCpu }),
      };
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

  /** The segmenter session (image embeddings) of an image, for prompted masks; a few images are kept. */
  async segmentSession(entry: ImageEntry): Promise<SegmentSession> {
    let session = this.#segmentSessions.get(entry.id);
    if (!session) {
      session = (async () => {
        const stages = await this.stages();
        const path = await this.scope.check(entry.path, 'image');
        const image = await loadImage(path, {
          maxPixels: this.require().file.settings.maxPixels,
          contains: (real) => this.scope.contains(real),
        });
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

  /** Forgets the segmenter sessions (another project was opened). */
  clearSegmentSessions(): void {
    this.#segmentSessions.clear();
  }

  /** Releases the pipeline's sessions. */
  async dispose(): Promise<void> {
    if (this.#stages) await (await this.#stages.stages.catch(() => null))?.dispose();
  }
}

/** How many decoded results the session keeps: the images being reviewed, not the project. */
const RESULT_CACHE = 64;

/**
 * The open project's results as the session reads them: ids, statuses and revisions from the catalog's columns, and
 * whole results decoded from the log on demand, the last few kept (LRU). Nothing here holds every result, so a
 * 100k-image project costs the catalog's columns only. Commits of this engine's runs and of a queued run's
 * coordinator (in this process or another) are told through {@link committed}, which reads the log's new lines.
 */
export class SessionResults {
  readonly #cache = new Map<number, ImageResult>();

  constructor(private readonly state: SessionState) {}

  #catalog(): ResultCatalog | null {
    return this.state.project?.catalog ?? null;
  }

  /** Image `id`'s latest result, or undefined when it has none. */
  get(id: number): ImageResult | undefined {
    const catalog = this.#catalog();
    const cached = this.#cache.get(id);
    const revision = catalog?.has(id) ? catalog.revision(id) : undefined;
    if (cached && (revision === undefined || (cached.revision ?? 0) >= revision)) {
      // most recently used last
      this.#cache.delete(id);
      this.#cache.set(id, cached);
      return cached;
    }
    if (revision === undefined) return undefined;
    const result = catalog!.get(id)!;
    this.#remember(id, result);
    return result;
  }

  /** Whether image `id` has a committed result. */
  has(id: number): boolean {
    return (this.#catalog()?.has(id) ?? false) || this.#cache.has(id);
  }

  /** Images with a committed result. */
  get size(): number {
    const catalog = this.#catalog();
    if (!catalog) return this.#cache.size;
    let extra = 0;
    for (const id of this.#cache.keys()) if (!catalog.has(id)) extra++;
    return catalog.size + extra;
  }

  /**
   * A result was committed (by this engine, or read from a coordinator's commits): the catalog reads the log's new
   * lines (another writer in this process shares the lock, so the catalog would not look by itself), and the result
   * is kept until a newer revision shows.
   */
  committed(result: ImageResult): void {
    this.#catalog()?.refresh();
    this.#remember(result.image.id, result);
  }

  /** Forgets the decoded results (another project was opened). */
  clear(): void {
    this.#cache.clear();
  }

  #remember(id: number, result: ImageResult): void {
    this.#cache.delete(id);
    this.#cache.set(id, result);
    if (this.#cache.size > RESULT_CACHE) this.#cache.delete(this.#cache.keys().next().value as number);
  }
}
