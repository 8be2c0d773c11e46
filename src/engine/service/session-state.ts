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
  /** Stored results by image id (the newest revision of each image). */
  results = new Map<number, ImageResult>();
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

  /** The finished results, by image id. */
  doneResults(): ImageResult[] {
    return [...this.results.values()]
      .filter((r) => r.status === 'done')
      .sort((a, b) => a.image.id - b.image.id);
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
