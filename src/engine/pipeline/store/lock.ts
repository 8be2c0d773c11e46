/**
 * The writer's lock of a project folder: one process at a time may append results or rewrite `project.json`.
 */
import { closeSync, constants, fsyncSync, openSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { writeAll } from './atomic.ts';

/** The writer's lock file. */
export const LOCK_FILE = 'project.lock';
const NO_FOLLOW = constants.O_NOFOLLOW ?? 0;

/** Who holds a project's lock. */
export interface LockHolder {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  since: string;
  /** The process's start time (Linux `/proc/<pid>/stat` field 22), to tell a reused pid from the holder. */
  start?: string;
}

/** A run refused because another process holds the project's lock. */
export class ProjectLockedError extends Error {
  override readonly name = 'ProjectLockedError';
  readonly code = 'project-locked';

  constructor(
    readonly dir: string,
    readonly holder: LockHolder,
  ) {
    super(
      `project ${dir} is in use by process ${holder.pid} on ${holder.host} since ${holder.since}; wait for it to finish (or, if that process is gone, delete ${join(dir, LOCK_FILE)})`,
    );
  }
}

/** A held lock. */
export interface ProjectLock {
  release(): void;
}

/** Locks this process holds, by lock path, with how many Project instances share each. */
const heldLocks = new Map<string, number>();
let exitHookInstalled = false;

function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // field 22 (starttime); the command name (field 2) may contain spaces, so count after its closing parenthesis
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function alive(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return true; // cannot tell: a lock from another machine is respected
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  // the pid runs, but is it still the holder? a different start time means the pid was reused
  const start = processStart(holder.pid);
  return !(holder.start && start && holder.start !== start);
}

/**
 * The holder a lock file names, or null when it names none (torn, unreadable). Never through a link: a project folder
 * is untrusted input, and a `project.lock` planted as a link out is no holder (it is replaced like a torn lock).
 */
function readHolder(path: string): LockHolder | null {
  let fd: number | null = null;
  try {
    fd = openSync(path, constants.O_RDONLY | NO_FOLLOW);
    const holder = JSON.parse(readFileSync(fd, 'utf8')) as LockHolder;
    return Number.isInteger(holder.pid) && typeof holder.host === 'string' ? holder : null;
  } catch {
    return null;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/**
 * Who holds a project's writer's lock now, and whether that process still runs (a holder on another host cannot be
 * checked and counts as alive), or null when nobody holds it.
 */
export function projectLockHolder(dir: string): (LockHolder & { alive: boolean }) | null {
  const holder = readHolder(join(dir, LOCK_FILE));
  return holder ? { ...holder, alive: alive(holder) } : null;
}

/**
 * Takes the writer's lock of a project folder: `project.lock` created with O_EXCL holding pid, host, start time and
 * since-when. A lock whose process is dead (same host; `kill(pid, 0)` answers ESRCH, or the pid now belongs to a
 * process started at another time) is taken over: under a second O_EXCL file (`project.lock.takeover`) so that two
 * processes finding the same stale lock cannot both take it. Re-entrant within one process (the app's project and
 * its runs share it). Throws {@link ProjectLockedError} naming the holder.
 *
 * Own code rather than `proper-lockfile` (which is in node_modules as a transitive dependency): that library judges
 * staleness by an mtime it refreshes on a timer, so a holder whose event loop is blocked by a long native call (an
 * ONNX session) can lose its lock, and it cannot say which process holds it.
 */
export function acquireProjectLock(dir: string): ProjectLock {
  const path = join(dir, LOCK_FILE);
  const held = heldLocks.get(path);
  if (held !== undefined && readHolder(path)?.pid === process.pid) {
    heldLocks.set(path, held + 1);
    return releaser(path);
  }
  const me: LockHolder = {
    pid: process.pid,
    host: hostname(),
    since: new Date().toISOString(),
    start: processStart(process.pid),
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    if (createExclusive(path, `${JSON.stringify(me)}\n`)) {
      heldLocks.set(path, 1);
      if (!exitHookInstalled) {
        exitHookInstalled = true;
        process.once('exit', () => {
          for (const lockPath of heldLocks.keys()) rmSync(lockPath, { force: true });
        });
      }
      return releaser(path);
    }
    const holder = readHolder(path);
    if (holder && alive(holder)) throw new ProjectLockedError(dir, holder);
    // stale (or unreadable: a lock torn by a crash between create and write) → take it over under the takeover lock
    const takeover = `${path}.takeover`;
    if (!createExclusive(takeover, `${JSON.stringify(me)}\n`)) {
      const other = readHolder(takeover);
      if (other && alive(other)) throw new ProjectLockedError(dir, other);
      rmSync(takeover, { force: true });
      continue;
    }
    try {
      const again = readHolder(path);
      // only the lock judged stale is removed: if another process replaced it meanwhile, its lock stands
      if (JSON.stringify(again) === JSON.stringify(holder)) rmSync(path, { force: true });
    } finally {
      rmSync(takeover, { force: true });
    }
  }
  const holder = readHolder(path);
  throw holder ? new ProjectLockedError(dir, holder) : new Error(`cannot take the lock ${path}`);
}

function releaser(path: string): ProjectLock {
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      const count = (heldLocks.get(path) ?? 1) - 1;
      if (count > 0) heldLocks.set(path, count);
      else {
        heldLocks.delete(path);
        if (readHolder(path)?.pid === process.pid) rmSync(path, { force: true });
      }
    },
  };
}

function createExclusive(path: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM')
      throw new Error(
        `the project folder ${dirname(path)} cannot be written (${code}): it can be opened, reported and exported, ` +
          'but results cannot be added there; copy the project to a writable folder to run it',
        { cause: error },
      );
    throw error;
  }
  try {
    writeAll(fd, Buffer.from(text, 'utf8'));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return true;
}
