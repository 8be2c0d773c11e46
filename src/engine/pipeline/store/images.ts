/**
 * A project's image list: image files of a folder, their SHA-256 (results stay attached to content, not to a path),
 * stable ids across runs, and the image record stored with each result.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import type { ImageRecord } from '../../../shared/results.ts';
import { MAX_IMAGE_BYTES } from '../../../shared/settings.ts';
import type { ImageEntry } from './project-file.ts';

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
export async function hashOrEmpty(path: string): Promise<string> {
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
  /** Ids of listed images whose latest result failed: a changed file takes its new hash instead of refusing. */
  failed: ReadonlySet<number> = new Set(),
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
      if (known.sha256 !== sha256 && failed.has(known.id)) {
        list[list.indexOf(known)] = { ...known, sha256 };
        continue;
      }
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
