/**
 * The project store: a folder that holds a run's image list, settings and per-image results, crash-safe.
 *
 * Layout:
 *   project.json     image list (path + SHA-256), settings, model pack, versions — replaced atomically
 *                    (write temp → fsync → rename → fsync dir)
 *   results.jsonl    one `ImageResult` per line, appended with a single write + fsync per image: that write is the
 *                    image's commit point. A line counts only if it ends in "\n" (a torn tail left by kill -9 is cut
 *                    off before the next append). A re-caption appends a superseding record with `revision` + 1:
 *                    per image the highest revision wins, and among equal revisions the first line, so a resumed
 *                    run neither loses nor duplicates an image, and a rerun killed before its line is complete
 *                    leaves the previous revision in force. Records without `revision` (older projects) are 0.
 * Plain `node:fs` only (no native module), so it works unchanged in Node and Electron.
 *
 * Longer than the ~400-line guide on purpose: every write path of the crash-safe store (lock, commit, resume,
 * pre-run checks) sits in one file so its guarantees can be read and audited in one place.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  createReadStream,
  statSync,
  writeSync,
} from 'node:fs';
import { stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, extname, join, resolve, sep } from 'node:path';
import { z } from 'zod';
import { RESULTS_VERSION, type ImageRecord, type ImageResult } from '../../shared/results.ts';
import {
  generationKey,
  jsonSyntaxReason,
  MAX_IMAGE_BYTES,
  parseSettings,
  stableStringify,
  type Settings,
} from '../../shared/settings.ts';

/** File names inside a project folder. */
export const PROJECT_FILE = 'project.json';
export const RESULTS_FILE = 'results.jsonl';
/** The writer's lock: one process at a time may append results or rewrite `project.json`. */
export const LOCK_FILE = 'project.lock';

const ImageEntrySchema = z.object({
  id: z.number().int().positive(),
  path: z.string().min(1),
  name: z.string().min(1),
  /** Empty when the file could not be read while listing (its run records why; a retry hashes it again). */
  sha256: z.string().regex(/^([0-9a-f]{64})?$/),
});

const ProjectFileSchema = z.object({
  format: z.literal('pseudo-ris-project'),
  version: z.literal(1),
  created: z.string(),
  settings: z.unknown(),
  images: z.array(ImageEntrySchema),
  pack: z
    .object({
      dir: z.string(),
      name: z.string(),
      demo: z.boolean(),
      checksums: z.record(z.string(), z.string()),
    })
    .optional(),
  versions: z.record(z.string(), z.string()).default({}),
});

/** An image of the project list (before its size is known). */
export type ImageEntry = z.infer<typeof ImageEntrySchema>;

/** The parsed `project.json`. */
export interface ProjectFile {
  format: 'pseudo-ris-project';
  version: 1;
  created: string;
  settings: Settings;
  images: ImageEntry[];
  pack?: { dir: string; name: string; demo: boolean; checksums: Record<string, string> };
  versions: Record<string, string>;
}

/** Image file extensions picked up from a folder (others are ignored, not errors). */
export const IMAGE_EXTENSIONS = new Set([
  '.jpg',
  '.jpeg',
  '.png',
  '.webp',
  '.gif',
  '.tif',
  '.tiff',
  '.bmp',
  '.avif',
]);

/** SHA-256 (hex) of a file's bytes, streamed (refuses folders and files over {@link MAX_IMAGE_BYTES} by `stat`). */
export async function hashFile(path: string): Promise<string> {
  const info = await stat(path);
  if (info.isDirectory()) throw Object.assign(new Error(`${path} is a folder`), { code: 'EISDIR' });
  if (info.size > MAX_IMAGE_BYTES)
    throw Object.assign(new Error(`${path} is over ${MAX_IMAGE_BYTES} bytes`), { code: 'EFBIG' });
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The SHA-256 of an image, or '' when it cannot be read now (the image's run then records the reason). */
async function hashOrEmpty(path: string): Promise<string> {
  try {
    return await hashFile(path);
  } catch {
    return '';
  }
}

/** A run's `images` option → image paths: a folder is listed (`listImages`), a list is taken as it is. */
export function imagePaths(images: string | readonly string[] | undefined): string[] {
  if (images === undefined) return [];
  return typeof images === 'string' ? listImages(images) : [...images];
}

/**
 * The image files of a folder (or a single file), sorted by name so ids are stable across runs.
 */
export function listImages(input: string): string[] {
  const path = resolve(input);
  if (!existsSync(path)) throw new Error(`images not found: ${path}`);
  if (statSync(path).isFile()) return [path];
  return readdirSync(path, { withFileTypes: true })
    .filter((e) => e.isFile() && IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase()))
    .map((e) => join(path, e.name))
    .sort();
}

/**
 * Builds the image list: existing entries keep their ids; new files get the next ids. Names are made unique.
 */
export async function buildImageList(
  paths: readonly string[],
  existing: readonly ImageEntry[] = [],
): Promise<ImageEntry[]> {
  const list = [...existing];
  const byPath = new Map(existing.map((e) => [e.path, e]));
  const names = new Set(existing.map((e) => e.name));
  let next = existing.reduce((m, e) => Math.max(m, e.id), 0) + 1;
  for (const path of paths) {
    const absolute = resolve(path);
    // an unreadable or oversized file is listed with no hash: it fails alone in the run, naming the file and the
    // problem, instead of aborting the whole batch here
    const sha256 = await hashOrEmpty(absolute);
    const known = byPath.get(absolute);
    if (known) {
      if (known.sha256 === '' || sha256 === '') continue;
      if (known.sha256 !== sha256) {
        throw new Error(
          `image ${absolute} changed since it was added to the project (SHA-256 ${known.sha256.slice(0, 12)}… → ${sha256.slice(0, 12)}…); use a new project`,
        );
      }
      continue;
    }
    let name = basename(absolute);
    for (let k = 1; names.has(name); k++)
      name = `${basename(absolute, extname(absolute))}_${k}${extname(absolute)}`;
    names.add(name);
    const entry = { id: next++, path: absolute, name, sha256 };
    list.push(entry);
    byPath.set(absolute, entry);
  }
  return list;
}

/** Options of {@link writeFileAtomic}. */
export interface AtomicWriteOptions {
  /**
   * A real (already resolved) folder the file must land in: the real path of its folder is checked before the temp
   * file is created and again right before the rename, so a folder on the way that is (or becomes) a symlink out is
   * refused and nothing is written outside.
   */
  within?: string;
}

/** Writes a file atomically: temp file (unique name) → fsync → rename → fsync of the folder. */
export function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): void {
  if (options.within) assertWithin(dirname(path), options.within);
  mkdirSync(dirname(path), { recursive: true });
  if (options.within) assertWithin(dirname(path), options.within);
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(temp, 'wx');
  try {
    writeAll(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    if (options.within) assertWithin(path, options.within);
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  syncDir(dirname(path));
}

/** A write refused because its real target lies outside the allowed folder. */
export class OutsideFolderError extends Error {
  override readonly name = 'OutsideFolderError';
  readonly code = 'forbidden';
}

/**
 * Throws {@link OutsideFolderError} unless the real path of `path` (of its nearest existing ancestor, for a path
 * not created yet; a final symlink is followed) lies inside the real folder `within`.
 */
export function assertWithin(path: string, within: string): void {
  const missing: string[] = [];
  let current = resolve(path);
  for (;;) {
    try {
      const real = realpathSync(current);
      const full = missing.length ? join(real, ...missing.reverse()) : real;
      const prefix = within.endsWith(sep) ? within : within + sep;
      if (full !== within && !full.startsWith(prefix))
        throw new OutsideFolderError(
          `${path} is outside the allowed folder ${within} (a symbolic link leads out)`,
        );
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      const parent = dirname(current);
      if (parent === current) throw error;
      missing.push(basename(current));
      current = parent;
    }
  }
}

/** The temp-file names this module and the exporters write: `<name>.<pid>[.<8 hex>].tmp`. */
const TEMP_NAME = /\.(\d+)(?:\.[0-9a-f]{8})?\.tmp$/;

/**
 * Removes temp files left in `dir` (recursively) by writers that were killed: those whose pid is no longer running,
 * or is this process's own (called before this process starts writing there). Answers the removed paths.
 */
export function removeStaleTemps(dir: string): string[] {
  const removed: string[] = [];
  const walk = (folder: string) => {
    let entries;
    try {
      entries = readdirSync(folder, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) {
        const match = TEMP_NAME.exec(entry.name);
        if (!match) continue;
        const pid = Number(match[1]);
        if (pid !== process.pid && pidAlive(pid)) continue;
        rmSync(path, { force: true });
        removed.push(path);
      }
    }
  };
  walk(dir);
  return removed;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Reads committed results: complete lines only; per image id the highest `revision` wins (absent = 0), and for
 * equal revisions the first line (a line duplicated by a crash between write and bookkeeping is harmless). Results
 * are in the order each image first appeared.
 */
export function readResults(projectDir: string): ImageResult[] {
  const path = join(projectDir, RESULTS_FILE);
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  const end = text.lastIndexOf('\n');
  if (end < 0) return [];
  const byId = new Map<number, ImageResult>();
  const lines = text.slice(0, end).split('\n');
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    let record: ImageResult;
    try {
      record = JSON.parse(line) as ImageResult;
    } catch (error) {
      throw new Error(`${path}: line ${index + 1} is ${jsonSyntaxReason(error)}`, { cause: error });
    }
    if (record.version !== RESULTS_VERSION)
      throw new Error(
        `${path}: line ${index + 1} has results version ${String(record.version)}, expected ${RESULTS_VERSION}`,
      );
    const revision = record.revision ?? 0;
    if (!Number.isInteger(revision) || revision < 0)
      throw new Error(
        `${path}: line ${index + 1} has revision ${String(record.revision)}, expected an integer ≥ 0`,
      );
    const previous = byId.get(record.image.id);
    // Map.set on an existing key keeps its insertion position: a superseded image stays where it first appeared
    if (previous === undefined || revision > (previous.revision ?? 0)) byId.set(record.image.id, record);
  });
  return [...byId.values()];
}

/** An open project: its file, and an appender for results. */
export class Project {
  readonly dir: string;
  file: ProjectFile;
  private fd: number | null = null;

  private constructor(dir: string, file: ProjectFile) {
    this.dir = dir;
    this.file = file;
  }

  /** Opens an existing project folder. */
  static open(dir: string): Project {
    const absolute = resolve(dir);
    const path = join(absolute, PROJECT_FILE);
    if (!existsSync(path)) throw new Error(`not a project: ${absolute} has no ${PROJECT_FILE}`);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new Error(`${path} is ${jsonSyntaxReason(error)}`, { cause: error });
    }
    const parsed = ProjectFileSchema.safeParse(raw);
    if (!parsed.success)
      throw new Error(
        `${path} is not a project file: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    return new Project(absolute, {
      ...parsed.data,
      settings: parseSettings(parsed.data.settings),
    } as ProjectFile);
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
      const results = readResults(absolute);
      const hasResults = results.length > 0;
      const mismatch = resultsMismatch(project.file, results);
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
        images: await buildImageList(init.images, project.file.images),
        pack: init.pack ?? project.file.pack,
        versions: init.versions ?? project.file.versions,
      };
    } else {
      // results without their project.json cannot be checked against any settings: adopting them under new
      // settings would silently mix two runs (e.g. `--seed 8` over results made with seed 7)
      const orphans = readResults(absolute);
      if (orphans.length > 0)
        throw new ProjectMismatchError(
          `project ${absolute} has ${orphans.length} results in ${RESULTS_FILE} but no ${PROJECT_FILE}: the settings and model pack they were made with are unknown; restore ${PROJECT_FILE} or use a new project folder`,
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
    const latest = new Map(this.results().map((r) => [r.image.id, r]));
    let rehashed = false;
    const pending: ImageEntry[] = [];
    for (const entry of this.file.images) {
      const result = latest.get(entry.id);
      const retry = options.retryFailed === true && result?.status === 'failed';
      if (result && !retry) continue;
      if (retry) this.#supersede.set(entry.id, result.revision ?? 0);
      if (entry.sha256 === '') {
        const sha256 = await hashOrEmpty(entry.path);
        if (sha256) {
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

  /** Committed results, the latest revision per image. */
  results(): ImageResult[] {
    return readResults(this.dir);
  }

  /** Ids of images with a committed result (done or failed). */
  committedIds(): Set<number> {
    return new Set(this.results().map((r) => r.image.id));
  }

  /**
   * Commits one image: appends its line with one write and fsyncs. Cuts a torn tail first so the new line starts
   * on a line boundary.
   */
  commit(result: ImageResult): void {
    const superseded = this.#supersede.get(result.image.id);
    if (superseded !== undefined && (result.revision ?? 0) <= superseded)
      result = { ...result, revision: superseded + 1 };
    this.#supersede.delete(result.image.id);
    const line = Buffer.from(`${JSON.stringify(result)}\n`, 'utf8');
    const fd = this.appender();
    writeAll(fd, line);
    fsyncSync(fd);
  }

  /** Closes the results file. */
  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    this.#lock?.release();
    this.#lock = null;
  }

  /** The image entry with this id. */
  image(id: number): ImageEntry {
    const entry = this.file.images.find((e) => e.id === id);
    if (!entry) throw new Error(`project ${this.dir} has no image ${id} (ids 1..${this.file.images.length})`);
    return entry;
  }

  private appender(): number {
    if (this.fd !== null) return this.fd;
    // a project opened to read and then written to (the app's later runs) takes the writer's lock first
    this.#lock ??= acquireProjectLock(this.dir);
    const path = join(this.dir, RESULTS_FILE);
    const fd = openSync(path, existsSync(path) ? 'r+' : 'w+');
    const size = statSync(path).size;
    const keep = committedLength(path, size);
    if (keep !== size) {
      ftruncateSync(fd, keep);
      fsyncSync(fd);
    }
    closeSync(fd);
    this.fd = openSync(path, 'a');
    syncDir(this.dir);
    return this.fd;
  }
}

/** Converts a project image entry to the record stored with results. */
export function imageRecord(entry: ImageEntry, size: { width: number; height: number }): ImageRecord {
  return {
    id: entry.id,
    path: entry.path,
    name: entry.name,
    sha256: entry.sha256,
    width: size.width,
    height: size.height,
  };
}

function committedLength(path: string, size: number): number {
  if (size === 0) return 0;
  const text = readFileSync(path);
  const end = text.lastIndexOf(0x0a);
  return end < 0 ? 0 : end + 1;
}

function writeAll(fd: number, data: Uint8Array): void {
  let offset = 0;
  while (offset < data.length) offset += writeSync(fd, data, offset, data.length - offset);
}

function syncDir(dir: string): void {
  // Directory fsync makes the rename/creation durable on POSIX; Windows cannot open folders, which is harmless.
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* not supported on this platform */
  }
}

function sameChecksums(a: Record<string, string>, b: Record<string, string>): boolean {
  // a project recorded before the identity covered the manifest and side files (engine.ts packFacts) is checked on
  // what it recorded, the graphs, and then records the full identity
  const legacy = !('manifest.json' in a);
  const keys = new Set([...Object.keys(a), ...(legacy ? [] : Object.keys(b))]);
  return [...keys].every((k) => a[k] === b[k]);
}

/** The generation settings that differ, as `path: stored → requested` (e.g. `seed: 7 → 8`). */
export function settingsDifferences(stored: Settings, requested: Settings): string[] {
  const out: string[] = [];
  const walk = (a: unknown, b: unknown, path: string) => {
    if (stableStringify(a) === stableStringify(b)) return;
    if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
      const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
      for (const key of [...keys].sort())
        walk((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], `${path}.${key}`);
      return;
    }
    out.push(`${path.slice(1)}: ${JSON.stringify(a) ?? 'unset'} → ${JSON.stringify(b) ?? 'unset'}`);
  };
  for (const key of ['masks', 'crops', 'captions', 'seed', 'maxPixels'] as const)
    walk(stored[key], requested[key], `.${key}`);
  return out;
}

function checksumDifferences(a: Record<string, string>, b: Record<string, string>): string[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys
    .filter((k) => a[k] !== b[k])
    .map((k) => `${k}: ${a[k]?.slice(0, 12) ?? 'absent'}… → ${b[k]?.slice(0, 12) ?? 'absent'}…`);
}

/**
 * How committed results disagree with the project's image list: a result for an image id the list lacks, or whose
 * SHA-256 differs from the listed one (the results were made for other files). Empty when they agree.
 */
export function resultsMismatch(file: ProjectFile, results: readonly ImageResult[]): string[] {
  const byId = new Map(file.images.map((e) => [e.id, e]));
  const out: string[] = [];
  for (const result of results) {
    const entry = byId.get(result.image.id);
    if (!entry)
      out.push(`image ${result.image.id} (${result.image.name}) has a result but is not in the image list`);
    else if (entry.sha256 && result.image.sha256 && entry.sha256 !== result.image.sha256)
      out.push(
        `image ${entry.id} (${entry.name}): result made for SHA-256 ${result.image.sha256.slice(0, 12)}…, listed ${entry.sha256.slice(0, 12)}…`,
      );
    if (out.length >= 5) {
      out.push('…');
      break;
    }
  }
  return out;
}

/** A run refused because the project's stored facts disagree with the request or its results. */
export class ProjectMismatchError extends Error {
  override readonly name = 'ProjectMismatchError';
  readonly code = 'project-mismatch';

  constructor(
    message: string,
    /** One line per difference. */
    readonly differences: string[],
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// the writer's lock

/** Who holds a project's lock. */
export interface LockHolder {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  since: string;
  /** The process's start time (Linux `/proc/<pid>/stat` field 22), to tell a reused pid from the holder. */
  start?: string;
}

/** A run refused because another process holds the project's lock. */
export class ProjectLockedError extends Error {
  override readonly name = 'ProjectLockedError';
  readonly code = 'project-locked';

  constructor(
    readonly dir: string,
    readonly holder: LockHolder,
  ) {
    super(
      `project ${dir} is in use by process ${holder.pid} on ${holder.host} since ${holder.since}; wait for it to finish (or, if that process is gone, delete ${join(dir, LOCK_FILE)})`,
    );
  }
}

/** A held lock. */
export interface ProjectLock {
  release(): void;
}

/** Locks this process holds, by lock path, with how many Project instances share each. */
const heldLocks = new Map<string, number>();
let exitHookInstalled = false;

function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // field 22 (starttime); the command name (field 2) may contain spaces, so count after its closing parenthesis
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function alive(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return true; // cannot tell: a lock from another machine is respected
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  // the pid runs, but is it still the holder? a different start time means the pid was reused
  const start = processStart(holder.pid);
  return !(holder.start && start && holder.start !== start);
}

function readHolder(path: string): LockHolder | null {
  try {
    const holder = JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
    return Number.isInteger(holder.pid) && typeof holder.host === 'string' ? holder : null;
  } catch {
    return null;
  }
}

/**
 * Who holds a project's writer's lock now, and whether that process still runs (a holder on another host cannot be
 * checked and counts as alive), or null when nobody holds it.
 */
export function projectLockHolder(dir: string): (LockHolder & { alive: boolean }) | null {
  const holder = readHolder(join(dir, LOCK_FILE));
  return holder ? { ...holder, alive: alive(holder) } : null;
}

/**
 * Takes the writer's lock of a project folder: `project.lock` created with O_EXCL holding pid, host, start time and
 * since-when. A lock whose process is dead (same host; `kill(pid, 0)` answers ESRCH, or the pid now belongs to a
 * process started at another time) is taken over: under a second O_EXCL file (`project.lock.takeover`) so that two
 * processes finding the same stale lock cannot both take it. Re-entrant within one process (the app's project and
 * its runs share it). Throws {@link ProjectLockedError} naming the holder.
 *
 * Own code rather than `proper-lockfile` (which is in node_modules as a transitive dependency): that library judges
 * staleness by an mtime it refreshes on a timer, so a holder whose event loop is blocked by a long native call (an
 * ONNX session) can lose its lock, and it cannot say which process holds it.
 */
export function acquireProjectLock(dir: string): ProjectLock {
  const path = join(dir, LOCK_FILE);
  const held = heldLocks.get(path);
  if (held !== undefined && readHolder(path)?.pid === process.pid) {
    heldLocks.set(path, held + 1);
    return releaser(path);
  }
  const me: LockHolder = {
    pid: process.pid,
    host: hostname(),
    since: new Date().toISOString(),
    start: processStart(process.pid),
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    if (createExclusive(path, `${JSON.stringify(me)}\n`)) {
      heldLocks.set(path, 1);
      if (!exitHookInstalled) {
        exitHookInstalled = true;
        process.once('exit', () => {
          for (const lockPath of heldLocks.keys()) rmSync(lockPath, { force: true });
        });
      }
      return releaser(path);
    }
    const holder = readHolder(path);
    if (holder && alive(holder)) throw new ProjectLockedError(dir, holder);
    // stale (or unreadable: a lock torn by a crash between create and write) → take it over under the takeover lock
    const takeover = `${path}.takeover`;
    if (!createExclusive(takeover, `${JSON.stringify(me)}\n`)) {
      const other = readHolder(takeover);
      if (other && alive(other)) throw new ProjectLockedError(dir, other);
      rmSync(takeover, { force: true });
      continue;
    }
    try {
      const again = readHolder(path);
      // only the lock judged stale is removed: if another process replaced it meanwhile, its lock stands
      if (JSON.stringify(again) === JSON.stringify(holder)) rmSync(path, { force: true });
    } finally {
      rmSync(takeover, { force: true });
    }
  }
  const holder = readHolder(path);
  throw holder ? new ProjectLockedError(dir, holder) : new Error(`cannot take the lock ${path}`);
}

function releaser(path: string): ProjectLock {
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      const count = (heldLocks.get(path) ?? 1) - 1;
      if (count > 0) heldLocks.set(path, count);
      else {
        heldLocks.delete(path);
        if (readHolder(path)?.pid === process.pid) rmSync(path, { force: true });
      }
    },
  };
}

function createExclusive(path: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    writeAll(fd, Buffer.from(text, 'utf8'));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return true;
}
