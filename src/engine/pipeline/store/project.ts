/**
 * An open project folder (DESIGN.md §7): `project.json` (image list, settings, pack) and its results, appended by one
 * writer under the project's lock and read by index (catalog.ts) by any number of readers.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ImageResult } from '../../../shared/results.ts';
import { generationKey, type Settings } from '../../../shared/settings.ts';
import { writeFileAtomic } from './atomic.ts';
import { ResultCatalog, type CatalogOptions } from './catalog.ts';
import { buildImageList, hashOrEmpty } from './images.ts';
import { acquireProjectLock, type ProjectLock } from './lock.ts';
import {
  checksumDifferences,
  PROJECT_FILE,
  ProjectMismatchError,
  readProjectFile,
  RESULTS_FILE,
  resultsMismatch,
  sameChecksums,
  settingsDifferences,
  type ImageEntry,
  type ProjectFile,
} from './project-file.ts';
import { encodeLine } from './record.ts';

/** An open project: its file, its results by index, and an appender for results. */
export class Project {
  readonly dir: string;
  file: ProjectFile;
  #catalog: ResultCatalog | null = null;

  private constructor(
    dir: string,
    file: ProjectFile,
    private readonly catalogOptions: CatalogOptions = {},
  ) {
    this.dir = dir;
    this.file = file;
  }

  /** Opens an existing project folder (its results are indexed on first use, with `catalog`'s options). */
  static open(dir: string, catalog: CatalogOptions = {}): Project {
    const absolute = resolve(dir);
    return new Project(absolute, readProjectFile(absolute), catalog);
  }

  /**
   * The project's results by index (opened on first use, refreshed on each call so what another process appended
   * since is seen).
   */
  get catalog(): ResultCatalog {
    if (!this.#catalog) this.#catalog = ResultCatalog.open(this.dir, this.catalogOptions);
    else if (this.#lock === null) this.#catalog.refresh();
    return this.#catalog;
  }

  /**
   * Opens a project for a run, creating it if needed.
   *
   * An existing project keeps its image ids; its generation settings must equal `settings` (changing τ or the filter
   * policies is allowed and only updates the stored filter), otherwise the results would mix two runs.
   */
  static async create(
    dir: string,
    init: {
      images: readonly string[];
      settings: Settings;
      pack?: ProjectFile['pack'];
      versions?: Record<string, string>;
    },
  ): Promise<Project> {
    const absolute = resolve(dir);
    mkdirSync(absolute, { recursive: true });
    // the writer's lock is taken before anything is read for the run, and held until close()
    const lock = acquireProjectLock(absolute);
    try {
      return await Project.#createLocked(absolute, init, lock);
    } catch (error) {
      lock.release();
      throw error;
    }
  }

  static async #createLocked(
    absolute: string,
    init: {
      images: readonly string[];
      settings: Settings;
      pack?: ProjectFile['pack'];
      versions?: Record<string, string>;
    },
    lock: ProjectLock,
  ): Promise<Project> {
    let project: Project;
    if (existsSync(join(absolute, PROJECT_FILE))) {
      project = Project.open(absolute);
      const catalog = project.catalog;
      const hasResults = catalog.size > 0;
      const mismatch = resultsMismatch(project.file, catalog.images());
      if (mismatch.length > 0)
        throw new ProjectMismatchError(
          `project ${absolute}: results.jsonl does not match project.json (${mismatch.join('; ')}); restore the matching project.json or use a new project folder`,
          mismatch,
        );
      if (hasResults && generationKey(project.file.settings) !== generationKey(init.settings)) {
        const differences = settingsDifferences(project.file.settings, init.settings);
        throw new ProjectMismatchError(
          `project ${absolute} was generated with other settings (${differences.join('; ')}); use a new project folder, or the same settings to resume`,
          differences,
        );
      }
      if (
        hasResults &&
        init.pack &&
        project.file.pack &&
        !sameChecksums(project.file.pack.checksums, init.pack.checksums)
      ) {
        const differences = checksumDifferences(project.file.pack.checksums, init.pack.checksums);
        throw new ProjectMismatchError(
          `project ${absolute} was generated with model pack "${project.file.pack.name}" whose files differ from "${init.pack.name}" (${differences.join('; ')}); use a new project folder`,
          differences,
        );
      }
      project.file = {
        ...project.file,
        settings: init.settings,
        // a failed image's new content replaces its recorded hash (a retry supersedes the failure)
        images: await buildImageList(
          init.images,
          project.file.images,
          new Set(catalog.ids().filter((id) => catalog.status(id) === 'failed')),
        ),
        pack: init.pack ?? project.file.pack,
        versions: init.versions ?? project.file.versions,
      };
    } else {
      // results without their project.json cannot be checked against any settings: adopting them under new
      // settings would silently mix two runs (e.g. `--seed 8` over results made with seed 7)
      const orphans = ResultCatalog.open(absolute, { writeIndex: false });
      orphans.close();
      if (orphans.size > 0)
        throw new ProjectMismatchError(
          `project ${absolute} has ${orphans.size} results in ${RESULTS_FILE} but no ${PROJECT_FILE}: the settings and model pack they were made with are unknown; restore ${PROJECT_FILE} or use a new project folder`,
          [`${PROJECT_FILE} is missing`],
        );
      project = new Project(absolute, {
        format: 'pseudo-ris-project',
        version: 1,
        created: new Date().toISOString(),
        settings: init.settings,
        images: await buildImageList(init.images),
        pack: init.pack,
        versions: init.versions ?? {},
      });
    }
    project.#lock = lock;
    project.save();
    return project;
  }

  /** The lock this instance holds (a run's project), or null (a project opened to read). */
  #lock: ProjectLock | null = null;
  /** Image ids a retry re-runs over a committed failed result, with the revision the new result must exceed. */
  readonly #supersede = new Map<number, number>();

  /**
   * The images a run still has to do: those without a committed result, and with `retryFailed` also those whose
   * latest result failed (their new result supersedes the failed one, revision + 1). Images listed without a hash
   * (unreadable when added) are hashed again first, so a fixed file runs with its true content key.
   */
  async pendingEntries(options: { retryFailed?: boolean } = {}): Promise<ImageEntry[]> {
    const catalog = this.catalog;
    let rehashed = false;
    const pending: ImageEntry[] = [];
    for (const entry of this.file.images) {
      const status = catalog.status(entry.id);
      const retry = options.retryFailed === true && status === 'failed';
      if (status !== undefined && !retry) continue;
      if (retry) this.#supersede.set(entry.id, catalog.revision(entry.id));
      // a retried file was fixed: its new content is what the new result is made for (and keyed by)
      if (entry.sha256 === '' || retry) {
        const sha256 = await hashOrEmpty(entry.path);
        if (sha256 && sha256 !== entry.sha256) {
          entry.sha256 = sha256;
          rehashed = true;
        }
      }
      pending.push(entry);
    }
    if (rehashed) this.save();
    return pending;
  }

  /** Writes `project.json` atomically. */
  save(): void {
    writeFileAtomic(join(this.dir, PROJECT_FILE), `${JSON.stringify(this.file, null, 2)}\n`);
  }

  /**
   * Committed results, the latest revision per image, streamed one at a time (first appearance order by default).
   * Never collect this into an array on a large project: use `catalog` for ids, statuses and columns.
   */
  results(options: { order?: 'first-seen' | 'id'; status?: 'done' | 'failed' } = {}): Generator<ImageResult> {
    return this.catalog.results(options);
  }

  /** Ids of images with a committed result (done or failed). */
  committedIds(): Set<number> {
    return new Set(this.catalog.ids());
  }

  /**
   * Commits one image: appends its compact line with one write and fsyncs (record.ts, log.ts). Takes the writer's
   * lock first when this instance was opened to read.
   */
  commit(result: ImageResult): void {
    const superseded = this.#supersede.get(result.image.id);
    if (superseded !== undefined && (result.revision ?? 0) <= superseded)
      result = { ...result, revision: superseded + 1 };
    // a project opened to read and then written to (the app's later runs) takes the writer's lock first
    this.#lock ??= acquireProjectLock(this.dir);
    const catalog = this.catalog;
    const line = encodeLine(result);
    const where = catalog.log.append(line);
    this.#supersede.delete(result.image.id);
    catalog.added(result, line, where);
  }

  /** Closes the results file and releases the writer's lock. */
  close(): void {
    this.#catalog?.close();
    this.#catalog = null;
    this.#lock?.release();
    this.#lock = null;
  }

  /** The image entry with this id. */
  image(id: number): ImageEntry {
    const entry = this.file.images.find((e) => e.id === id);
    if (!entry) throw new Error(`project ${this.dir} has no image ${id} (ids 1..${this.file.images.length})`);
    return entry;
  }
}
