/**
 * File operations on handles, for paths that may be hostile: a project folder, an export folder or an image list
 * that someone else controls, and that may be swapped for a symbolic link while the engine works in it.
 *
 * The check is made on what was actually opened, at the moment of use: a folder or file is opened first, then the
 * real path of the open handle is checked against the allowed folder, and every later operation (create, list,
 * rename, delete) addresses entries *inside that handle*, never a path resolved again. On Linux the handle's own
 * path (`/proc/self/fd/N`) gives both: its link text is the real path of what was opened, and `/proc/self/fd/N/name`
 * walks from the opened folder, as `openat(2)` would (Node has no `openat`). Elsewhere (macOS, Windows) a folder is
 * opened by its real path with `O_NOFOLLOW` where the platform has it and its identity (device and inode) compared
 * with the checked `lstat`; operations then use the real path, so a swap between two operations is narrowed, not
 * closed (README, served mode).
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  fsyncSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  type Dirent,
  type Stats,
} from 'node:fs';
import { open, readlink, realpath, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

/** Whether open handles have a path (`/proc/self/fd/N`, Linux): the handle-based mode. */
export const HANDLE_PATHS = process.platform === 'linux' && existsSync('/proc/self/fd');

// 0 where the platform lacks the flag (Windows): the identity check then does the work alone.
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const O_DIRECTORY = constants.O_DIRECTORY ?? 0;

/** An operation refused because its real target lies outside the allowed folder. */
export class OutsideFolderError extends Error {
  override readonly name = 'OutsideFolderError';
  readonly code = 'forbidden';
}

/** True when `child` equals `root` or lies below it (both real paths). */
export function insideFolder(root: string, child: string): boolean {
  if (child === root) return true;
  return child.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** The temp-file names the atomic writers use: `<name>.<pid>[.<8 hex>].tmp`. */
export const TEMP_NAME = /\.(\d+)(?:\.[0-9a-f]{8})?\.tmp$/;

/** A predicate over real paths: whether a file may be read. */
export type Contains = (realPath: string) => boolean;

/**
 * An opened file whose real path passed `contains`: read from `handle`, never from the path again. The caller
 * closes it.
 */
export interface ConfinedFile {
  handle: FileHandle;
  real: string;
  stats: Stats;
}

/**
 * Opens `path` for reading, then checks the real path of the opened file against `contains`; throws
 * {@link OutsideFolderError} naming `what` and the path (never where a link points) when it lies outside.
 */
export async function openConfined(path: string, contains: Contains, what = 'file'): Promise<ConfinedFile> {
  const handle = await open(path, 'r');
  try {
    const stats = await handle.stat();
    const real = HANDLE_PATHS
      ? await readlink(`/proc/self/fd/${handle.fd}`)
      : await sameIdentityRealPath(path, stats);
    if (!contains(real)) throw new OutsideFolderError(`${what} is outside the allowed folders: ${path}`);
    return { handle, real, stats };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** Reads a whole confined file (at most `maxBytes`, checked on the handle first). */
export async function readFileConfined(
  path: string,
  contains: Contains,
  options: { what?: string; maxBytes?: number } = {},
): Promise<Buffer> {
  const { handle, stats } = await openConfined(path, contains, options.what);
  try {
    if (stats.isDirectory()) throw Object.assign(new Error('is a folder'), { code: 'EISDIR' });
    if (options.maxBytes !== undefined && stats.size > options.maxBytes)
      throw Object.assign(new Error('file too large'), { code: 'ERR_FS_FILE_TOO_LARGE', size: stats.size });
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

async function sameIdentityRealPath(path: string, opened: Stats): Promise<string> {
  const real = await realpath(path);
  const now = await stat(real);
  if (now.dev !== opened.dev || now.ino !== opened.ino)
    throw new OutsideFolderError(`${path} changed while it was opened`);
  return real;
}

/**
 * An opened folder whose real path was checked to lie inside `within`. Entries are created, listed, renamed and
 * deleted inside this handle; sub-folders are opened from it and checked again.
 */
export class ConfinedDir {
  private constructor(
    /** The open folder (null on platforms where folders cannot be opened: identity is re-checked instead). */
    private fd: number | null,
    /** Its real path, as checked. */
    readonly real: string,
    /** The real folder everything must stay in. */
    readonly within: string,
    private readonly identity: { dev: number; ino: number },
  ) {}

  /**
   * Opens the folder `path` (created folder by folder inside the opened parent with `create`), which must lie inside
   * the real folder `within`: `within` is opened and checked first, then each component below it is opened from its
   * parent's handle and its real path checked, so a folder on the way that is (or becomes) a link out is refused and
   * nothing is created outside. Without `within`, the folder's own real path is the bound.
   */
  static open(path: string, within?: string, options: { create?: boolean } = {}): ConfinedDir {
    const target = resolve(path);
    if (within === undefined) {
      if (options.create) mkdirSync(target, { recursive: true });
      within = realpathSync.native(target);
      return ConfinedDir.#openReal(within, within);
    }
    let below = relative(within, target);
    if (below.startsWith('..') || isAbsolute(below)) {
      // a spelling through a link that may still land inside: judged by the real path of its existing part
      below = relative(within, nearestRealPath(target));
      if (below === '..' || below.startsWith(`..${sep}`) || isAbsolute(below))
        throw new OutsideFolderError(`${path} is outside the allowed folder ${within}`);
    }
    return descend(
      ConfinedDir.#openWithin(within, options.create === true),
      below.split(sep).filter(Boolean),
      options,
    );
  }

  /**
   * Opens the real folder `within` itself. A missing one is created (with `create`) from its nearest existing
   * ancestor, folder by folder inside opened handles, each required to be exactly the folder named.
   */
  static #openWithin(within: string, create: boolean): ConfinedDir {
    if (!create || existsSync(within)) return ConfinedDir.#openReal(within, within);
    const missing: string[] = [];
    let base = within;
    while (!existsSync(base)) {
      const parent = dirname(base);
      if (parent === base) break;
      missing.unshift(basename(base));
      base = parent;
    }
    if (realpathSync.native(base) !== base) throw new OutsideFolderError(`${within} is not a real path`);
    const dir = descend(ConfinedDir.#openReal(base, base), missing, { create: true, noFollow: true });
    if (dir.real !== within) {
      dir.close();
      throw new OutsideFolderError(`${within} was replaced while it was created`);
    }
    // the same handle, now bound to `within`
    const bound = new ConfinedDir(dir.fd, dir.real, within, dir.identity);
    dir.fd = null;
    return bound;
  }

  static #openReal(real: string, within: string): ConfinedDir {
    const before = lstatSync(real);
    if (!before.isDirectory()) throw new OutsideFolderError(`${real} is not a folder inside ${within}`);
    let fd: number | null = null;
    try {
      if (HANDLE_PATHS) fd = openSync(real, constants.O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // swapped for a link between the lstat and the open
      if (code === 'ELOOP' || code === 'ENOTDIR')
        throw new OutsideFolderError(`${real} is not a folder inside ${within}`, { cause: error });
      throw error;
    }
    const dir = new ConfinedDir(fd, real, within, { dev: before.dev, ino: before.ino });
    try {
      dir.#verify(real);
    } catch (error) {
      dir.close();
      throw error;
    }
    return dir;
  }

  /**
   * Checks that the handle is the folder that was checked and lies inside `within` (where it is now: a folder moved
   * inside `within` is still the same folder).
   */
  #verify(shown: string): void {
    const now = this.fd !== null ? fstatSync(this.fd) : statSync(this.real);
    const real = this.fd !== null ? readlinkSync(`/proc/self/fd/${this.fd}`) : this.real;
    if (
      !now.isDirectory() ||
      now.dev !== this.identity.dev ||
      now.ino !== this.identity.ino ||
      !insideFolder(this.within, real)
    )
      throw new OutsideFolderError(
        `${shown} is outside the allowed folder ${this.within} (a symbolic link leads out, or the folder was replaced)`,
      );
  }

  /** The path that addresses entry `name` inside this folder: through the handle where the platform allows. */
  at(name: string): string {
    if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes(sep))
      throw new OutsideFolderError(`"${name}" is not a name inside a folder`);
    if (this.fd === null) {
      this.#verify(this.real);
      return join(this.real, name);
    }
    return `/proc/self/fd/${this.fd}/${name}`;
  }

  /**
   * Opens the sub-folder `name` (created inside this handle with `create`). A link is followed only when its target
   * checks inside `within`; with `noFollow` a link is refused (a walk that must not leave the tree).
   */
  sub(name: string, options: { create?: boolean; noFollow?: boolean } = {}): ConfinedDir {
    const shown = join(this.real, name);
    if (options.create) {
      try {
        mkdirSync(this.at(name));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
    if (this.fd === null) {
      const real = realpathSync.native(join(this.real, name));
      if (options.noFollow && real !== shown) throw new OutsideFolderError(`${shown} is a link`);
      if (!insideFolder(this.within, real))
        throw new OutsideFolderError(
          `${shown} is outside the allowed folder ${this.within} (a symbolic link leads out)`,
        );
      return ConfinedDir.#openReal(real, this.within);
    }
    let fd: number;
    try {
      fd = openSync(this.at(name), constants.O_RDONLY | O_DIRECTORY | (options.noFollow ? O_NOFOLLOW : 0));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ELOOP' || code === 'ENOTDIR')
        throw new OutsideFolderError(`${shown} is not a folder inside ${this.within}`, { cause: error });
      throw error;
    }
    const stats = fstatSync(fd);
    const real = readlinkSync(`/proc/self/fd/${fd}`);
    const dir = new ConfinedDir(fd, real, this.within, { dev: stats.dev, ino: stats.ino });
    try {
      dir.#verify(shown);
    } catch (error) {
      dir.close();
      throw error;
    }
    return dir;
  }

  /** A second handle on this very folder (through the first one: never its path again). */
  reopen(): ConfinedDir {
    if (this.fd === null) return ConfinedDir.#openReal(this.real, this.within);
    const fd = openSync(`/proc/self/fd/${this.fd}`, constants.O_RDONLY | O_DIRECTORY);
    const dir = new ConfinedDir(fd, this.real, this.within, this.identity);
    try {
      dir.#verify(this.real);
    } catch (error) {
      dir.close();
      throw error;
    }
    return dir;
  }

  /** Opens the folder `relativePath` below this one (each component checked; created with `create`). */
  subPath(relativePath: string, options: { create?: boolean } = {}): ConfinedDir {
    const names = relativePath.split(/[\\/]/).filter((n) => n !== '' && n !== '.');
    // the folder itself: a second handle on it, checked like the first
    if (names.length === 0) return this.reopen();
    return descend(this.sub(names[0], options), names.slice(1), options);
  }

  /** The entries of this folder. */
  list(): Dirent[] {
    return readdirSync(this.fd === null ? (this.#verify(this.real), this.real) : `/proc/self/fd/${this.fd}`, {
      withFileTypes: true,
    });
  }

  /**
   * Writes `name` atomically: a temp file created with `O_EXCL|O_NOFOLLOW` inside this folder, fsync, rename within
   * the folder, fsync of the folder. A failed write removes only the temp file it created.
   */
  writeFile(name: string, data: string | Uint8Array): void {
    const temp = `${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      this.#createSynced(temp, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
      renameSync(this.at(temp), this.at(name));
    } catch (error) {
      this.unlinkQuietly(temp);
      throw error;
    }
    this.sync();
  }

  /** Creates file `name` (never an existing one, never through a link) holding `bytes`, fsynced. */
  #createSynced(name: string, bytes: Uint8Array): void {
    const fd = this.createExclusive(name);
    try {
      writeAll(fd, bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** Creates file `name` (never an existing one, never through a link) and answers its descriptor. */
  createExclusive(name: string): number {
    return openSync(
      this.at(name),
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW,
      0o666,
    );
  }

  /**
   * Places the confined file `source` as `name`: a hard link when the link made is the very file that was opened
   * (same device and inode), else a copy of `bytes` (read from the handle); temp + rename like {@link writeFile}.
   * With `syncFolder` false the caller syncs this folder itself, once after many files (an export of 20k images).
   */
  placeFile(name: string, source: ConfinedFile, bytes: Uint8Array, syncFolder = true): void {
    const temp = `${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    let linked: boolean;
    try {
      linkSync(source.real, this.at(temp));
      const made = lstatSync(this.at(temp));
      linked = made.dev === source.stats.dev && made.ino === source.stats.ino;
      // the path was swapped between the check and the link: drop what this call just made, copy the handle instead
      if (!linked) unlinkSync(this.at(temp));
    } catch {
      linked = false;
    }
    try {
      if (!linked) this.#createSynced(temp, bytes);
      renameSync(this.at(temp), this.at(name));
    } catch (error) {
      this.unlinkQuietly(temp);
      throw error;
    }
    if (syncFolder) this.sync();
  }

  /** Reads file `name` of this folder, never through a link; null when it is missing or not a plain file. */
  readFile(name: string): Buffer | null {
    let fd: number;
    try {
      fd = openSync(this.at(name), constants.O_RDONLY | O_NOFOLLOW);
    } catch {
      return null;
    }
    try {
      const stats = fstatSync(fd);
      if (!stats.isFile()) return null;
      const buffer = Buffer.alloc(stats.size);
      let offset = 0;
      while (offset < buffer.length) {
        const read = readSync(fd, buffer, offset, buffer.length - offset, offset);
        if (read === 0) break;
        offset += read;
      }
      return buffer.subarray(0, offset);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Removes temp files left (recursively) by writers that were killed: those whose pid is no longer running, or is
   * this process's own. Sub-folders are entered without following links; answers the removed paths as shown.
   */
  removeStaleTemps(): string[] {
    const removed: string[] = [];
    const walk = (dir: ConfinedDir, shown: string) => {
      let entries: Dirent[];
      try {
        entries = dir.list();
      } catch {
        return;
      }
      for (const entry of entries) {
        if (entry.isDirectory()) {
          let child: ConfinedDir;
          try {
            child = dir.sub(entry.name, { noFollow: true });
          } catch {
            continue; // swapped for a link or removed meanwhile: not ours to clean
          }
          try {
            walk(child, join(shown, entry.name));
          } finally {
            child.close();
          }
        } else if (entry.isFile()) {
          const match = TEMP_NAME.exec(entry.name);
          if (!match) continue;
          const pid = Number(match[1]);
          if (pid !== process.pid && pidAlive(pid)) continue;
          // unlink removes the entry of this opened folder, never what a link names
          try {
            unlinkSync(dir.at(entry.name));
            removed.push(join(shown, entry.name));
          } catch {
            // gone already
          }
        }
      }
    };
    walk(this, this.real);
    return removed;
  }

  /** Removes entry `name` of this folder if it exists (a temp file this process created). */
  unlinkQuietly(name: string): void {
    try {
      unlinkSync(this.at(name));
    } catch {
      // not there
    }
  }

  /** fsync of the folder, so a rename inside it survives a power cut (best effort where folders cannot be synced). */
  sync(): void {
    if (this.fd === null) return;
    try {
      fsyncSync(this.fd);
    } catch {
      // some file systems refuse fsync on folders
    }
  }

  /** Closes the handle. */
  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/**
 * Walks from `dir` down through `names`, folder by folder, each opened from its parent's handle (checked by
 * {@link ConfinedDir.sub}); answers the last one. Every handle on the way is closed, `dir` included, even on a throw.
 */
function descend(
  dir: ConfinedDir,
  names: readonly string[],
  options: { create?: boolean; noFollow?: boolean },
): ConfinedDir {
  for (const name of names) {
    try {
      const next = dir.sub(name, options);
      dir.close();
      dir = next;
    } catch (error) {
      dir.close();
      throw error;
    }
  }
  return dir;
}

/**
 * Writes `path` atomically inside the real folder `within` (see {@link ConfinedDir.open}): the folders on the way are
 * created inside checked handles, the temp file with `O_EXCL|O_NOFOLLOW`, the rename within the opened folder.
 */
export function writeFileConfined(path: string, data: string | Uint8Array, within: string): void {
  const dir = ConfinedDir.open(dirname(resolve(path)), within, { create: true });
  try {
    dir.writeFile(basename(path), data);
  } finally {
    dir.close();
  }
}

/** Removes stale temp files below `dir`, working inside the opened folder (see {@link ConfinedDir.removeStaleTemps}). */
export function removeStaleTempsConfined(dir: string, within?: string): string[] {
  let opened: ConfinedDir;
  try {
    opened = ConfinedDir.open(dir, within);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  try {
    const removed = opened.removeStaleTemps();
    // answered as the caller spelled the folder
    return removed.map((p) => join(dir, relative(opened.real, p)));
  } finally {
    opened.close();
  }
}

/**
 * The real path of `path`, or of its nearest existing ancestor joined with the missing tail. realpath(3), not Node's
 * JS walk: that one lstat()s then readlink()s, and a link swapped for a folder in between fails with EINVAL.
 */
export function nearestRealPath(path: string): string {
  const missing: string[] = [];
  let current = path;
  for (;;) {
    try {
      const real = realpathSync.native(current);
      return missing.length ? join(real, ...missing.reverse()) : real;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      const parent = dirname(current);
      if (parent === current) throw error;
      missing.push(basename(current));
      current = parent;
    }
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

function writeAll(fd: number, data: Uint8Array): void {
  let offset = 0;
  while (offset < data.length) offset += writeSync(fd, data, offset, data.length - offset);
}
