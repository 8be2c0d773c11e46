/**
 * Where a new export is written: `--out` must be a new or empty folder, or `overwrite` replaces it whole. The files
 * go to a hidden staging folder beside it, renamed into place once every file is written, so a refused or failed
 * export leaves nothing behind (not even the folder or the parents it would have created) and an export never mixes
 * with an earlier one's files.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { assertWithin } from '../../pipeline/index.ts';

/** A staged export folder: write under `dir`, then `commit` (or `abandon` on failure). */
export interface StagedTarget {
  /** The staging folder every file is written to. */
  dir: string;
  /** Puts the staged folder at the destination, replacing what `overwrite` allowed to replace. */
  commit(): void;
  /** Removes the staging folder and any parent folder this export created. */
  abandon(): void;
}

/** Staging folders: `.<name>.<pid>.export-tmp` beside the destination. */
const STAGING = /^\.(.+)\.(\d+)\.export-tmp$/;

/**
 * Checks that `out` may receive a new export and stages it.
 *
 * Throws, creating nothing, when `out` is a file, or a folder with entries and `overwrite` is not set.
 */
export function stageTarget(out: string, options: { overwrite?: boolean; within?: string }): StagedTarget {
  const stat = statSync(out, { throwIfNoEntry: false });
  if (stat && !stat.isDirectory()) throw new Error(`--out ${out} is a file, not a folder`);
  if (stat && readdirSync(out).length > 0 && !options.overwrite)
    throw new Error(
      `--out ${out} is not empty: give a new or empty folder, --overwrite to replace it, or --append-to to add ` +
        'this project to the export there',
    );
  const parent = dirname(out);
  removeStaleStaging(parent, basename(out));
  // the first missing ancestor, removed again when the export fails
  let created: string | null = null;
  for (let p = parent; !existsSync(p); p = dirname(p)) created = p;
  const dir = join(parent, `.${basename(out)}.${process.pid}.export-tmp`);
  if (options.within) assertWithin(dir, options.within);
  mkdirSync(dir, { recursive: true });
  return {
    dir,
    commit() {
      if (options.within) assertWithin(out, options.within);
      if (!existsSync(out)) {
        renameSync(dir, out);
        return;
      }
      if (readdirSync(out).length === 0) {
        rmdirSync(out);
        renameSync(dir, out);
        return;
      }
      // overwrite: two renames, so the destination is either the old export or the new one, never a mix
      const old = join(parent, `.${basename(out)}.${process.pid}.replaced-tmp`);
      renameSync(out, old);
      renameSync(dir, out);
      rmSync(old, { recursive: true, force: true });
    },
    abandon() {
      rmSync(dir, { recursive: true, force: true });
      if (created) rmSync(created, { recursive: true, force: true });
    },
  };
}

/** Removes staging folders of `name` left by exports that were killed (their process is gone). */
function removeStaleStaging(parent: string, name: string): void {
  if (!existsSync(parent)) return;
  for (const entry of readdirSync(parent)) {
    const match = STAGING.exec(entry);
    if (!match || match[1] !== name) continue;
    const pid = Number(match[2]);
    if (pid === process.pid || !alive(pid)) rmSync(join(parent, entry), { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
