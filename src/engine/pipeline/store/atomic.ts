/**
 * Atomic writes and the path checks every write of the store and the exporters goes through: temp file → fsync →
 * rename → fsync of the folder; a real-path check against an allowed folder; removal of temps left by killed writers.
 * Plain `node:fs` only (no native module), so it works unchanged in Node and Electron.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  insideFolder,
  nearestRealPath,
  OutsideFolderError,
  removeStaleTempsConfined,
  writeFileConfined,
} from '../../runtime/index.ts';

/** Options of {@link writeFileAtomic}. */
export interface AtomicWriteOptions {
  /**
   * A real (already resolved) folder the file must land in: the real path of its folder is checked before the temp
   * file is created and again right before the rename, so a folder on the way that is (or becomes) a symlink out is
   * refused and nothing is written outside.
   */
  within?: string;
}

/**
 * Writes a file atomically: temp file (unique name) → fsync → rename → fsync of the folder. With `within`, the work
 * happens on checked folder handles (runtime/safe-fs.ts `writeFileConfined`), so a folder swapped for a link out
 * during the write gets nothing.
 */
export function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): void {
  if (options.within) return writeFileConfined(path, data, options.within);
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(temp, 'wx');
  try {
    writeAll(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  syncDir(dirname(path));
}

/** A write refused because its real target lies outside the allowed folder (runtime/safe-fs.ts). */
export { OutsideFolderError };

/**
 * Throws {@link OutsideFolderError} unless the real path of `path` (of its nearest existing ancestor, for a path
 * not created yet; a final symlink is followed) lies inside the real folder `within`.
 */
export function assertWithin(path: string, within: string): void {
  if (!insideFolder(within, nearestRealPath(resolve(path))))
    throw new OutsideFolderError(
      `${path} is outside the allowed folder ${within} (a symbolic link leads out)`,
    );
}

/**
 * Removes temp files left in `dir` (recursively) by writers that were killed: those whose pid is no longer running,
 * or is this process's own (called before this process starts writing there). Answers the removed paths. Works
 * inside the opened folder (runtime/safe-fs.ts), so a folder swapped for a link out is neither listed nor cleaned.
 */
export function removeStaleTemps(dir: string, within?: string): string[] {
  return removeStaleTempsConfined(dir, within);
}

export function writeAll(fd: number, data: Uint8Array): void {
  let offset = 0;
  while (offset < data.length) offset += writeSync(fd, data, offset, data.length - offset);
}

export function syncDir(dir: string): void {
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
