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
  renameSync,
  statSync,
  writeSync,
} from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { z } from 'zod';
import { RESULTS_VERSION, type ImageRecord, type ImageResult } from '../../shared/results.ts';
import { generationKey, parseSettings, type Settings } from '../../shared/settings.ts';

/** File names inside a project folder. */
export const PROJECT_FILE = 'project.json';
export const RESULTS_FILE = 'results.jsonl';

const ImageEntrySchema = z.object({
  id: z.number().int().positive(),
  path: z.string().min(1),
  name: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
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

/** SHA-256 (hex) of a file's bytes. */
export async function hashFile(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
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
    const sha256 = await hashFile(absolute);
    const known = byPath.get(absolute);
    if (known) {
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

/** Writes a file atomically: temp file (unique name) → fsync → rename → fsync of the folder. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(temp, 'w');
  try {
    writeAll(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
  syncDir(dirname(path));
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
      throw new Error(`${path}: line ${index + 1} is not valid JSON (${(error as Error).message})`, {
        cause: error,
      });
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
      throw new Error(`${path} is not valid JSON (${(error as Error).message})`, { cause: error });
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
    let project: Project;
    if (existsSync(join(absolute, PROJECT_FILE))) {
      project = Project.open(absolute);
      const hasResults = readResults(absolute).length > 0;
      if (hasResults && generationKey(project.file.settings) !== generationKey(init.settings)) {
        throw new Error(
          `project ${absolute} was generated with other settings (${describeDifference(project.file.settings, init.settings)}); use a new project folder, or the same settings to resume`,
        );
      }
      if (
        hasResults &&
        init.pack &&
        project.file.pack &&
        !sameChecksums(project.file.pack.checksums, init.pack.checksums)
      ) {
        throw new Error(
          `project ${absolute} was generated with model pack "${project.file.pack.name}" whose files differ from "${init.pack.name}"; use a new project folder`,
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
    project.save();
    return project;
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
    const line = Buffer.from(`${JSON.stringify(result)}\n`, 'utf8');
    const fd = this.appender();
    writeAll(fd, line);
    fsyncSync(fd);
  }

  /** Closes the results file. */
  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  /** The image entry with this id. */
  image(id: number): ImageEntry {
    const entry = this.file.images.find((e) => e.id === id);
    if (!entry) throw new Error(`project ${this.dir} has no image ${id} (ids 1..${this.file.images.length})`);
    return entry;
  }

  private appender(): number {
    if (this.fd !== null) return this.fd;
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
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => a[k] === b[k]);
}

function describeDifference(a: Settings, b: Settings): string {
  const parts: string[] = [];
  for (const key of ['masks', 'crops', 'captions', 'seed', 'maxPixels'] as const) {
    if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) parts.push(key);
  }
  return `differs in ${parts.join(', ')}`;
}
