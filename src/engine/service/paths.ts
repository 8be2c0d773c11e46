/**
 * File-access confinement: every path the engine reads or writes on behalf of a UI request must lie inside one of
 * a set of roots (the open project, its image folders, and in served mode the folders the server was allowed).
 *
 * Checks run on real paths (`realpath`), so `..` segments and symlinks that point outside a root are refused; a
 * path that does not exist yet (an export destination) is checked through its nearest existing ancestor.
 */
import { realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { ApiError } from '../../shared/api.ts';

/** True when `child` equals `root` or lies below it (both already resolved). */
export function isInside(root: string, child: string): boolean {
  if (child === root) return true;
  const prefix = root.endsWith(sep) ? root : root + sep;
  return child.startsWith(prefix);
}

/**
 * The real path of `path`; for a path that does not exist yet, the real path of its nearest existing ancestor joined
 * with the missing tail. Refuses relative paths and NUL bytes.
 */
export async function realPathOf(path: string): Promise<string> {
  if (typeof path !== 'string' || path.includes('\0'))
    throw new ApiError('invalid-params', 'a path may not contain NUL bytes');
  if (!isAbsolute(path)) throw new ApiError('invalid-params', `the path must be absolute: ${path}`);
  const missing: string[] = [];
  let current = resolve(path);
  for (;;) {
    try {
      const real = await realpath(current);
      return missing.length ? join(real, ...missing.reverse()) : real;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      const parent = dirname(current);
      if (parent === current) throw new ApiError('not-found', `no part of the path exists: ${path}`);
      missing.push(basename(current));
      current = parent;
    }
  }
}

/** A set of allowed roots; `check` answers the real path of an allowed path or throws `forbidden`. */
export class FileScope {
  readonly #roots = new Set<string>();

  /** Adds a root (its real path; created folders only). */
  async allow(root: string): Promise<string> {
    const real = await realPathOf(root);
    this.#roots.add(real);
    return real;
  }

  /** Forgets every root (e.g. when another project opens). */
  clear(): void {
    this.#roots.clear();
  }

  /** The allowed roots (real paths). */
  roots(): string[] {
    return [...this.#roots];
  }

  /**
   * The real path of `path` when it lies inside an allowed root; otherwise `ApiError('forbidden')` naming what was
   * refused (without revealing where a symlink points).
   */
  async check(path: string, what = 'path'): Promise<string> {
    const real = await realPathOf(path);
    for (const root of this.#roots) if (isInside(root, real)) return real;
    throw new ApiError('forbidden', `${what} is outside the allowed folders: ${path}`);
  }

  /** Synchronous form for already-real paths (e.g. paths the engine itself listed). */
  contains(realPath: string): boolean {
    for (const root of this.#roots) if (isInside(root, realPath)) return true;
    return false;
  }
}

/** The settings fields that hold a path, with the name a refusal gives them. */
const SETTINGS_PATHS = [
  ['importPath', 'mask import path (masks.importPath)'],
  ['boxesPath', 'boxes path (masks.boxesPath)'],
] as const;

/**
 * The path policy applied to settings as they arrive (`settings:set`, `run:start`): every path a setting holds
 * (`masks.importPath`, `masks.boxesPath`) must pass `check`, and is replaced by the real path `check` answers, so a
 * run later reads exactly what was allowed. Answers `settings` unchanged when it holds no path.
 */
export async function confineSettingsPaths<
  T extends { masks?: { importPath?: string | undefined; boxesPath?: string | undefined } },
>(settings: T | undefined, check: (path: string, what: string) => Promise<string>): Promise<T | undefined> {
  const masks = settings?.masks;
  if (!settings || !masks) return settings;
  let confined = masks;
  for (const [key, what] of SETTINGS_PATHS) {
    const path = masks[key];
    if (typeof path === 'string') confined = { ...confined, [key]: await check(path, what) };
  }
  return confined === masks ? settings : { ...settings, masks: confined };
}
