/**
 * File-level checks of a model pack: present, non-empty, not a Git-LFS pointer, the manifest's size, the manifest's
 * SHA-256 — in that order, so each broken copy gets the message that tells the user what to do about it.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { isAbsolute, join, normalize, sep } from 'node:path';
import type { PackRole } from '../../shared/models.ts';
import { ModelPackError, type ModelPackErrorContext } from './errors.ts';

/** Every Git-LFS pointer file starts with this line (git-lfs spec v1). */
export const LFS_POINTER_PREFIX = 'version https://git-lfs.github.com/spec/';

/** What the manifest says about one file. */
export interface ExpectedFile {
  file: string;
  bytes: number;
  sha256: string;
}

/**
 * Resolves a manifest file name inside the pack folder.
 *
 * Refuses absolute names and names that climb out of the pack (`../x`): a pack is a self-contained folder.
 */
export function packPath(dir: string, file: string, context: ModelPackErrorContext): string {
  const normal = normalize(file);
  if (isAbsolute(file) || normal === '..' || normal.startsWith(`..${sep}`)) {
    throw new ModelPackError(
      'manifest-schema',
      { ...context, file },
      `file name "${file}" must be relative to the pack folder and stay inside it`,
    );
  }
  return join(dir, normal);
}

/**
 * Checks one file against the manifest without hashing it: exists, non-empty, not an LFS pointer, size.
 *
 * Throws a `ModelPackError` naming the pack, role and file.
 */
export async function checkFileQuick(
  dir: string,
  expected: Omit<ExpectedFile, 'sha256'>,
  context: { pack: string; role?: PackRole },
): Promise<void> {
  const where: ModelPackErrorContext = { ...context, file: expected.file };
  const path = packPath(dir, expected.file, where);
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new ModelPackError('file-missing', where, `${path} is not a file`);
    size = info.size;
  } catch (error) {
    if (error instanceof ModelPackError) throw error;
    throw new ModelPackError('file-missing', where, `file not found: ${path}`, { cause: error });
  }
  if (size === 0) {
    throw new ModelPackError(
      'file-empty',
      where,
      `file is empty (0 bytes; the manifest says ${expected.bytes}): copy it again`,
    );
  }
  if (await isLfsPointer(path, size)) {
    throw new ModelPackError(
      'lfs-pointer',
      where,
      `file is a Git-LFS pointer (${size} bytes of text), not the model: run \`git lfs pull\` in the repository it came from, or download the real file`,
    );
  }
  if (size < expected.bytes) {
    throw new ModelPackError(
      'file-truncated',
      where,
      `file is truncated: ${size} of ${expected.bytes} bytes (an interrupted copy or download?)`,
    );
  }
  if (size > expected.bytes) {
    throw new ModelPackError(
      'file-size',
      where,
      `file has ${size} bytes; the manifest says ${expected.bytes}`,
    );
  }
}

/** Full check: the quick checks, then the SHA-256. */
export async function checkFile(
  dir: string,
  expected: ExpectedFile,
  context: { pack: string; role?: PackRole },
): Promise<void> {
  await checkFileQuick(dir, expected, context);
  const where: ModelPackErrorContext = { ...context, file: expected.file };
  const actual = await sha256File(packPath(dir, expected.file, where));
  if (actual !== expected.sha256) {
    throw new ModelPackError(
      'checksum-mismatch',
      where,
      `SHA-256 mismatch: file has ${actual}, the manifest says ${expected.sha256} (the file is corrupt or from another export)`,
    );
  }
}

/** SHA-256 of a file as lowercase hex, streamed (real packs hold multi-GB encoders). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** True when a file is a Git-LFS pointer: a small text file that starts with the spec line. */
export async function isLfsPointer(path: string, size: number): Promise<boolean> {
  // Pointers are ~130 bytes; 1024 leaves room for extension lines without reading real models.
  if (size > 1024) return false;
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(LFS_POINTER_PREFIX.length);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return bytesRead === buffer.length && buffer.toString('latin1') === LFS_POINTER_PREFIX;
  } finally {
    await handle.close();
  }
}
