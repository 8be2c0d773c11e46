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
import { basename, extname } from 'node:path';
import type { ImageResult } from '../../shared/results.ts';
import { stableStringify } from '../../shared/settings.ts';
import { checksumDifferences } from './queue/jobs.ts';
import { Project, type ImageEntry } from './store/index.ts';

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
}

/**
 * Merges projects with the same settings and pack into a new project folder.
 *
 * Refuses (listing every difference) when the settings or the pack checksums differ, or when `into` is already a
 * project. An image (by path) present in several projects is kept once: its committed result if any project has
 * one; two different committed results for one image are refused. Images without a result stay in the merged list,
 * so `generate --project <into>` finishes them.
 */
export async function mergeProjects(sources: readonly string[], into: string): Promise<MergeSummary> {
  if (sources.length === 0) throw new Error('merge needs at least one project');
  const projects = sources.map((dir) => Project.open(dir));
  checkSame(projects);
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
  };
}

/** Throws with every difference listed when the projects' settings or packs differ. */
function checkSame(projects: readonly Project[]): void {
  const [first, ...rest] = projects;
  const problems: string[] = [];
  for (const other of rest) {
    const settings = settingsDifferences(first.file.settings, other.file.settings);
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
