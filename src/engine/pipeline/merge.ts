/**
 * Static shards and their merge, for batch schedulers (Slurm arrays, Kubernetes indexed jobs): `generate --shard I/N`
 * runs the images whose content hash falls in shard I into a project of its own, and {@link mergeProjects} combines
 * such projects into one that equals an unsharded run of the same images.
 *
 * Why the merge equals one run: a result depends only on the image's bytes, the settings and the pack (the random
 * streams are named by the content hash), so a shard's result for an image is the unsharded run's; only the image's
 * id and unique name depend on the whole list, and the merge re-numbers them as `buildImageList` numbers a folder
 * listing: every image path in sorted order.
 */
import { closeSync, constants, openSync, readFileSync, realpathSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import type { ImageResult } from '../../shared/results.ts';
import { jsonSyntaxReason, stableStringify } from '../../shared/settings.ts';
import { ConfinedDir } from '../runtime/index.ts';
import { checksumDifferences } from './queue/jobs.ts';
import { listImages, Project, projectLockHolder, type ImageEntry } from './store/index.ts';

/** The file a shard's project records its place in (`generate --shard I/N`). */
export const SHARD_FILE = 'shard.json';

/** What a shard's project records: which shard of how many, of which image folder. */
export interface ShardRecord {
  index: number;
  count: number;
  /** The image folder (or file) the shards split, absolute. */
  source: string;
}

/**
 * Records in `projectDir` that it holds shard `index` of `count` of `source` (read by {@link mergeProjects}). A
 * project folder is untrusted input: the file is replaced atomically inside the opened project folder, never written
 * through a `shard.json` planted there as a link.
 */
export function recordShard(projectDir: string, shard: ShardRecord): void {
  const dir = ConfinedDir.open(realpathSync.native(projectDir));
  try {
    dir.writeFile(SHARD_FILE, `${JSON.stringify({ ...shard, source: resolve(shard.source) })}\n`);
  } finally {
    dir.close();
  }
}

/**
 * The {@link ShardRecord} of a project, or null for a project that is no shard. Read without following a link, and a
 * file that does not parse is named, never quoted.
 */
export function readShard(projectDir: string): ShardRecord | null {
  const path = join(projectDir, SHARD_FILE);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP')
      throw new Error(`${path} is a link, not the project's own shard record: merge refused`, {
        cause: error,
      });
    throw error;
  }
  let text: string;
  try {
    text = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  try {
    return JSON.parse(text) as ShardRecord;
  } catch (error) {
    // no cause: V8's JSON message quotes the text
    // eslint-disable-next-line preserve-caught-error
    throw new Error(`${path} is not a shard record (${jsonSyntaxReason(error)}): merge refused`);
  }
}

/**
 * A merge of shards that lacks some of them: exit 2 (the run is incomplete, as failed images are), unless
 * `--allow-partial`.
 */
export class IncompleteShardsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IncompleteShardsError';
  }
}

/**
 * Whether an image belongs to shard `index` of `count`: the first 8 hex digits of its SHA-256 modulo `count`.
 * Content-based, so every task of an array agrees on the split without talking to the others.
 */
export function inShard(sha256: string, index: number, count: number): boolean {
  return Number.parseInt(sha256.slice(0, 8), 16) % count === index;
}

/** Parses `I/N` (0 ≤ I < N): the shard index and count. */
export function parseShard(text: string): { index: number; count: number } {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!match)
    throw new Error(
      `--shard must be I/N with 0 ≤ I < N (e.g. 0/4, or $SLURM_ARRAY_TASK_ID/4), got "${text}"`,
    );
  const index = Number(match[1]);
  const count = Number(match[2]);
  if (count < 1 || index >= count)
    throw new Error(`--shard ${text}: the index must be 0 … ${Math.max(count - 1, 0)} and the count ≥ 1`);
  return { index, count };
}

/** What {@link mergeProjects} did. */
export interface MergeSummary {
  into: string;
  projects: number;
  images: number;
  results: number;
  failed: number;
  /** Images listed in a project but not yet committed there (the merged project resumes them). */
  missing: number;
  /** Images present in more than one project, kept once. */
  duplicates: number;
  /** The paths of {@link MergeSummary.missing} (sorted). */
  missingPaths: string[];
  /** Shards of the recorded `I/N` split absent from the merge (`--allow-partial`), as `I/N`. */
  missingShards: string[];
}

/** Options of {@link mergeProjects}. */
export interface MergeOptions {
  /** Merge even when shards of a recorded split are missing (their images are then not in the merged list). */
  allowPartial?: boolean;
}

/**
 * Merges projects with the same settings and pack into a new project folder.
 *
 * Refuses (listing every difference) when the settings or the pack checksums differ, or when `into` is already a
 * project. An image (by path) present in several projects is kept once: its committed result if any project has
 * one; two different committed results for one image are refused. Images without a result stay in the merged list,
 * so `generate --project <into>` finishes them.
 */
export async function mergeProjects(
  sources: readonly string[],
  into: string,
  options: MergeOptions = {},
): Promise<MergeSummary> {
  if (sources.length === 0) throw new Error('merge needs at least one project');
  // the sources are reached by id only: their per-candidate columns are not loaded (nor their index touched)
  const projects = sources.map((dir) => Project.open(dir, { candidates: false }));
  checkUnlocked(projects);
  checkSame(projects);
  const missingShards = checkShards(projects, options.allowPartial === true);
  try {
    Project.open(into);
    throw new Error(`${into} is already a project: merge into a new folder`);
  } catch (error) {
    if (!/^not a project/.test((error as Error).message)) throw error;
  }

  // per path: its entry and which source holds its result (results stay in the sources' logs and are read one at a
  // time, so a merge of paper-size shards holds only the image lists)
  const byPath = new Map<string, { entry: ImageEntry; source?: Project; id?: number; from: string }>();
  let duplicates = 0;
  for (const project of projects) {
    const catalog = project.catalog;
    for (const entry of project.file.images) {
      const has = catalog.has(entry.id);
      const seen = byPath.get(entry.path);
      if (!seen) {
        byPath.set(entry.path, {
          entry,
          ...(has ? { source: project, id: entry.id } : {}),
          from: project.dir,
        });
        continue;
      }
      duplicates++;
      if (seen.entry.sha256 !== entry.sha256)
        throw new Error(
          `image ${entry.path} has different contents in ${seen.from} and ${project.dir} (it changed between runs): merge refused`,
        );
      if (!has) continue;
      if (!seen.source) Object.assign(seen, { source: project, id: entry.id });
      else if (
        stableStringify(comparable(seen.source.catalog.get(seen.id!)!)) !==
        stableStringify(comparable(catalog.get(entry.id)!))
      )
        throw new Error(
          `image ${entry.path} has different results in ${seen.from} and ${project.dir}: merge refused`,
        );
    }
  }

  // ids and unique names as one run over the sorted list would give them
  const paths = [...byPath.keys()].sort();
  const names = new Set<string>();
  const first = projects[0].file;
  const merged = await Project.create(into, {
    images: [],
    settings: first.settings,
    pack: first.pack,
    versions: first.versions,
  });
  let results = 0;
  let failed = 0;
  try {
    merged.file = {
      ...merged.file,
      images: paths.map((path, k) => {
        const { entry } = byPath.get(path)!;
        let name = basename(path);
        for (let n = 1; names.has(name); n++) name = `${basename(path, extname(path))}_${n}${extname(path)}`;
        names.add(name);
        return { id: k + 1, path, name, sha256: entry.sha256 };
      }),
    };
    merged.save();
    for (const entry of merged.file.images) {
      const { source, id } = byPath.get(entry.path)!;
      const result = source?.catalog.get(id!);
      if (!result) continue;
      merged.commit({ ...result, image: { ...result.image, id: entry.id, name: entry.name } });
      results++;
      if (result.status === 'failed') failed++;
    }
  } finally {
    merged.close();
    for (const project of projects) project.close();
  }
  return {
    into: merged.dir,
    projects: projects.length,
    images: paths.length,
    results,
    failed,
    missing: paths.length - results,
    duplicates,
    missingPaths: paths.filter((path) => !byPath.get(path)!.source),
    missingShards,
  };
}

/** Refuses a source a run is still writing (its lock held by a live process), naming the holder. */
function checkUnlocked(projects: readonly Project[]): void {
  for (const project of projects) {
    const holder = projectLockHolder(project.dir);
    if (holder?.alive)
      throw new Error(
        `${project.dir} is still being written by process ${holder.pid} on ${holder.host} (since ${holder.since}): merge it once that run has finished or been stopped`,
      );
  }
}

/**
 * The shards of a recorded split that are absent: refused (naming the shards and their images still in the source
 * folder) unless `allowPartial`. Projects without a record are not checked.
 */
function checkShards(projects: readonly Project[], allowPartial: boolean): string[] {
  const records = projects.map((p) => readShard(p.dir)).filter((r): r is ShardRecord => r !== null);
  if (records.length === 0) return [];
  const splits = new Set(records.map((r) => `${r.count} ${r.source}`));
  if (splits.size > 1)
    throw new Error(
      `merge refused: the shards come from different splits (${[...splits].map((s) => s.replace(' ', ' of ')).join('; ')})`,
    );
  const { count, source } = records[0];
  const present = new Set(records.map((r) => r.index));
  const missing = Array.from({ length: count }, (_, k) => k).filter((k) => !present.has(k));
  if (missing.length === 0) return [];
  const shards = missing.map((k) => `${k}/${count}`);
  if (allowPartial) return shards;
  // the images of the missing shards: the source's listing less every image a given shard holds (no hashing)
  const held = new Set(projects.flatMap((p) => p.file.images.map((e) => e.path)));
  let images: string[] = [];
  try {
    images = listImages(source).filter((path) => !held.has(path));
  } catch {
    // the source folder is gone: the shards are named, their images cannot be
  }
  const named =
    images.length > 0
      ? `; their ${images.length} image(s): ${images
          .slice(0, 10)
          .map((p) => basename(p))
          .join(', ')}${images.length > 10 ? ', …' : ''}`
      : '';
  throw new IncompleteShardsError(
    `merge incomplete: shard(s) ${shards.join(', ')} of ${source} are missing${named}. Add their projects, or pass --allow-partial to merge without them`,
  );
}

/** Throws with every difference listed when the projects' settings or packs differ. */
function checkSame(projects: readonly Project[]): void {
  const [first, ...rest] = projects;
  const problems: string[] = [];
  for (const other of rest) {
    // values in the sentence's order: the other project's, then the first's
    const settings = settingsDifferences(other.file.settings, first.file.settings);
    if (settings.length > 0)
      problems.push(`settings of ${other.dir} differ from ${first.dir}: ${settings.join('; ')}`);
    const a = first.file.pack?.checksums ?? {};
    const b = other.file.pack?.checksums ?? {};
    const pack = checksumDifferences(a, b, [basename(first.dir), basename(other.dir)]);
    if (pack.length > 0)
      problems.push(`model pack of ${other.dir} differs from ${first.dir}: ${pack.join('; ')}`);
  }
  if (problems.length > 0) throw new Error(`merge refused:\n  ${problems.join('\n  ')}`);
}

/** Leaf-by-leaf differences of two settings objects: `captions.topK: [5] ≠ [10]`. */
export function settingsDifferences(a: unknown, b: unknown, path = ''): string[] {
  const isObject = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => settingsDifferences(a[k], b[k], path ? `${path}.${k}` : k));
  }
  const left = stableStringify(a);
  const right = stableStringify(b);
  return left === right ? [] : [`${path || '(root)'}: ${left ?? 'absent'} ≠ ${right ?? 'absent'}`];
}

function comparable(result: ImageResult): unknown {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { counters, image, ...rest } = result;
  return rest;
}
