/**
 * `project.json`: the image list (path + SHA-256), settings, model pack and versions, its schema, and how stored
 * facts are compared with a run's request (settings, pack checksums, results).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { ImageRecord } from '../../../shared/results.ts';
import { jsonSyntaxReason, parseSettings, stableStringify, type Settings } from '../../../shared/settings.ts';

/** File names inside a project folder. */
export const PROJECT_FILE = 'project.json';
export const RESULTS_FILE = 'results.jsonl';

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

/** The `project.json` version this build writes and reads; a newer one is refused naming both. */
export const PROJECT_VERSION = 1;

/**
 * Reads and checks `project.json` of folder `dir` (absolute). A file from a newer version is refused naming both
 * versions; a malformed one names the field.
 */
export function readProjectFile(dir: string): ProjectFile {
  const path = join(dir, PROJECT_FILE);
  if (!existsSync(path)) throw new Error(`not a project: ${dir} has no ${PROJECT_FILE}`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`${path} is ${jsonSyntaxReason(error)}`, { cause: error });
  }
  const version = (raw as { version?: unknown } | null)?.version;
  if (typeof version === 'number' && version > PROJECT_VERSION)
    throw new Error(
      `${path} was written by a newer Pseudo-RIS Studio (project version ${version}; this version reads up to ${PROJECT_VERSION}): update the app to open it`,
    );
  const parsed = ProjectFileSchema.safeParse(raw);
  if (!parsed.success)
    throw new Error(
      `${path} is not a project file: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return { ...parsed.data, settings: parseSettings(parsed.data.settings) } as ProjectFile;
}

/** Whether two pack checksum maps name the same files with the same sums. */
export function sameChecksums(a: Record<string, string>, b: Record<string, string>): boolean {
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

/** The pack files whose checksums differ, as `file: stored… → requested…`. */
export function checksumDifferences(a: Record<string, string>, b: Record<string, string>): string[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys
    .filter((k) => a[k] !== b[k])
    .map((k) => `${k}: ${a[k]?.slice(0, 12) ?? 'absent'}… → ${b[k]?.slice(0, 12) ?? 'absent'}…`);
}

/**
 * How committed results disagree with the project's image list: a result for an image id the list lacks, or whose
 * SHA-256 differs from the listed one (the results were made for other files). Empty when they agree.
 */
export function resultsMismatch(
  file: ProjectFile,
  results: Iterable<Pick<ImageRecord, 'id' | 'name' | 'sha256'> & { status: 'done' | 'failed' }>,
): string[] {
  const byId = new Map(file.images.map((e) => [e.id, e]));
  const out: string[] = [];
  for (const image of results) {
    const entry = byId.get(image.id);
    // a failed result holds nothing made from the file: a fixed file's new hash supersedes it (--retry-failed)
    if (entry && image.status === 'failed') continue;
    if (!entry) out.push(`image ${image.id} (${image.name}) has a result but is not in the image list`);
    else if (entry.sha256 && image.sha256 && entry.sha256 !== image.sha256)
      out.push(
        `image ${entry.id} (${entry.name}): result made for SHA-256 ${image.sha256.slice(0, 12)}…, listed ${entry.sha256.slice(0, 12)}…`,
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
