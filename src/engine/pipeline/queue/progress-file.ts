/**
 * How a queued run's progress reaches an app that did not start it: the coordinator keeps `queue-progress.json` in
 * the project folder (a {@link QueueProgress} snapshot, replaced atomically by rename, at most twice a second), and an app that opens the project polls that file's stat, checks that the project's lock is held by the
 * process the snapshot names, and reads the results the coordinator appends to `results.jsonl`.
 *
 * Why a file and not Redis (a progress key or BullMQ's QueueEvents): the app needs nothing but the project folder it
 * opens anyway. Reading Redis would need the queue URL with its password (which the coordinator must not write in
 * clear into a shared folder) and a network path from the app to Redis; the file needs neither, works the same for a
 * coordinator on another machine over shared storage, and is the only writer's own view (the counts it commits).
 * The tiles follow `results.jsonl` itself, the store's commit point, not a copy. Polling a stat (every 500 ms) rather
 * than `fs.watch`: inotify does not see writes made on another machine over NFS/SMB, and a stat is cheap.
 *
 * Liveness: the snapshot is trusted only while `project.lock` names its coordinator (pid, host, since) and that
 * process runs. A coordinator killed with SIGKILL leaves a snapshot saying `running`: its lock holder is dead (or
 * gone), so the app ends the run as failed. A coordinator on another host cannot be checked by pid; it counts as
 * stopped when its snapshot has not changed for {@link REMOTE_SILENCE_MS} (it rewrites the snapshot every second).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { QueueProgressSchema, type QueueProgress } from '../../../shared/api.ts';
import type { ImageResult } from '../../../shared/results.ts';
import { CommitLog, decodeLine, projectLockHolder, RESULTS_FILE } from '../store/index.ts';

/** The snapshot file in a project folder. */
export const QUEUE_PROGRESS_FILE = 'queue-progress.json';

/** A coordinator on another host whose snapshot has not changed for this long counts as stopped. */
export const REMOTE_SILENCE_MS = 60_000;

/**
 * Replaces the project's snapshot atomically (temp file + rename: a reader sees the old or the new one, never a torn
 * one). Not fsynced, and asynchronous: a rename over an existing file can wait for the disk (ext4 flushes the new
 * file's data first), which must not hold up the coordinator's commits. Each write has its own temp name.
 */
export async function writeQueueProgress(dir: string, progress: QueueProgress): Promise<void> {
  const path = join(dir, QUEUE_PROGRESS_FILE);
  // an unpredictable name created exclusively (`wx`: O_CREAT|O_EXCL never follows a link), so a link planted in the
  // project folder cannot make the coordinator write through it
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temp, `${JSON.stringify(progress)}\n`, { flag: 'wx' });
  await rename(temp, path);
}

/** The project's snapshot, or null when there is none; throws naming the file when it is not a valid snapshot. */
export function readQueueProgress(dir: string): QueueProgress | null {
  const path = join(dir, QUEUE_PROGRESS_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new Error(`${path} is not JSON`);
  }
  const parsed = QueueProgressSchema.safeParse(data);
  if (!parsed.success)
    throw new Error(
      `${path} is not a queue progress snapshot: ${parsed.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ')}`,
    );
  return parsed.data;
}

/** Whether the project's lock is held, by a running process, by the coordinator `progress` names. */
export function coordinatorHoldsLock(dir: string, progress: QueueProgress): boolean {
  const holder = projectLockHolder(dir);
  const c = progress.coordinator;
  return (
    holder !== null &&
    holder.alive &&
    holder.pid === c.pid &&
    holder.host === c.host &&
    holder.since === c.since
  );
}

/** Whether the snapshot was written by this process (a coordinator this engine runs itself). */
export function isOwnProgress(progress: QueueProgress): boolean {
  return progress.coordinator.pid === process.pid && progress.coordinator.host === hostname();
}

/**
 * Reads the lines appended to a project's `results.jsonl` since the last call: only whole lines (a line being
 * written has no newline yet and is read next time). A file that shrank below what was read (replaced) is read
 * again from the start.
 */
export class ResultsTail {
  #offset = 0;
  readonly #path: string;

  /** `fromEnd`: only lines appended after now (what is there already, the reader has read through its catalog). */
  constructor(dir: string, options: { fromEnd?: boolean } = {}) {
    this.#path = join(dir, RESULTS_FILE);
    if (options.fromEnd) this.#offset = statSync(this.#path, { throwIfNoEntry: false })?.size ?? 0;
  }

  /** The results committed since the last call, in file order (a re-captioned image may appear twice). */
  read(): ImageResult[] {
    const log = new CommitLog(this.#path);
    if (log.size() < this.#offset) this.#offset = 0;
    const results: ImageResult[] = [];
    for (const line of log.scan(this.#offset)) {
      this.#offset = line.offset + line.length + 1;
      try {
        results.push(decodeLine(line.text));
      } catch {
        // a line the store itself skips (or refuses) on the next open; the display skips it
      }
    }
    return results;
  }
}

/** What {@link watchQueuedProject} reports. */
export interface QueuedProjectEvents {
  /** Another process coordinates the project: a new snapshot (also the first one seen). */
  progress(progress: QueueProgress): void;
  /** Results the coordinator committed since the last call. */
  results(results: ImageResult[]): void;
  /**
   * The coordinated run ended: `done` or `cancelled` (its own last snapshot), or `stopped` (its process is gone, or
   * a remote one fell silent) with the last snapshot seen.
   */
  end(outcome: 'done' | 'cancelled' | 'stopped', last: QueueProgress): void;
  /** A snapshot that cannot be read (reported once per distinct message). */
  warning?(message: string): void;
}

/** A running watch; `stop` ends it. `active` is the snapshot of the run being shown, or null. */
export interface QueuedProjectWatch {
  readonly active: QueueProgress | null;
  stop(): void;
}

/**
 * Watches a project folder for a queued run coordinated by another process: polls the snapshot's stat every
 * `intervalMs`, and while a live coordinator (see {@link coordinatorHoldsLock}) runs reports its snapshots and the
 * results it commits, then its end. Snapshots this process writes itself are ignored.
 */
export function watchQueuedProject(
  dir: string,
  events: QueuedProjectEvents,
  options: { intervalMs?: number; silenceMs?: number; resultsFromEnd?: boolean } = {},
): QueuedProjectWatch {
  const path = join(dir, QUEUE_PROGRESS_FILE);
  const tail = new ResultsTail(dir, { fromEnd: options.resultsFromEnd });
  let active: QueueProgress | null = null;
  let seen = '';
  let changedAt = Date.now();
  let lastWarning = '';
  let stopped = false;

  const end = (outcome: 'done' | 'cancelled' | 'stopped', last: QueueProgress) => {
    const results = tail.read();
    if (results.length > 0) events.results(results);
    active = null;
    events.end(outcome, last);
  };

  const tick = () => {
    let stamp = '';
    try {
      const stat = statSync(path);
      stamp = `${stat.mtimeMs}:${stat.size}:${stat.ino}`;
    } catch {
      // no snapshot (yet, or removed)
    }
    if (stamp !== seen && stamp !== '') {
      seen = stamp;
      changedAt = Date.now();
      let progress: QueueProgress | null = null;
      try {
        progress = readQueueProgress(dir);
      } catch (error) {
        const message = (error as Error).message;
        if (message !== lastWarning) events.warning?.(message);
        lastWarning = message;
      }
      if (progress && !isOwnProgress(progress)) {
        const finished = progress.stage === 'done' || progress.stage === 'cancelled';
        if (active && finished) return end(progress.stage as 'done' | 'cancelled', progress);
        if (!finished && coordinatorHoldsLock(dir, progress)) {
          active = progress;
          const results = tail.read();
          if (results.length > 0) events.results(results);
          events.progress(progress);
          return;
        }
      }
    }
    if (!active) return;
    // no new snapshot: is its coordinator still there?
    const remote = active.coordinator.host !== hostname();
    if (
      !coordinatorHoldsLock(dir, active) ||
      (remote && Date.now() - changedAt > (options.silenceMs ?? REMOTE_SILENCE_MS))
    )
      end('stopped', active);
  };

  const safeTick = () => {
    if (stopped) return;
    try {
      tick();
    } catch (error) {
      const message = `watching ${path}: ${(error as Error).message}`;
      if (message !== lastWarning) events.warning?.(message);
      lastWarning = message;
    }
  };
  const timer = setInterval(safeTick, options.intervalMs ?? 500);
  timer.unref?.();
  // the first look right away, but after the caller holds the watch
  queueMicrotask(safeTick);
  return {
    get active() {
      return active;
    },
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}

/** The project's `queue-progress.json` is rewritten at most this often (ms). */
const PROGRESS_FILE_MS = 500;

/**
 * The coordinator's writer of the project's `queue-progress.json`.
 *
 * Written off the commit path (async, one write at a time, the newest snapshot wins), at most every
 * PROGRESS_FILE_MS; `flush` writes the last one.
 */
export class SnapshotWriter {
  milliseconds = 0;
  readonly #dir: string;
  readonly #onWarning: (message: string) => void;
  #latest: QueueProgress | null = null;
  #writing: Promise<void> = Promise.resolve();
  #inFlight = false;
  #lastWrite = -Infinity;
  #timer: NodeJS.Timeout | undefined;

  constructor(dir: string, onWarning: (message: string) => void) {
    this.#dir = dir;
    this.#onWarning = onWarning;
  }

  /** Takes the newest snapshot; written within PROGRESS_FILE_MS. */
  publish(snapshot: QueueProgress): void {
    this.#latest = snapshot;
    this.#schedule();
  }

  /** Writes the last snapshot now. */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#writing;
    this.#write();
    await this.#writing;
  }

  #write(): void {
    if (this.#inFlight || !this.#latest) return;
    const snapshot = this.#latest;
    this.#latest = null;
    this.#inFlight = true;
    const t0 = performance.now();
    this.#lastWrite = t0;
    this.#writing = writeQueueProgress(this.#dir, snapshot)
      .catch((error: unknown) =>
        this.#onWarning(`writing the progress snapshot: ${(error as Error).message}`),
      )
      .finally(() => {
        this.milliseconds += performance.now() - t0;
        this.#inFlight = false;
        if (this.#latest) this.#schedule();
      });
  }

  #schedule(): void {
    if (this.#timer || this.#inFlight) return;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#write();
      },
      Math.max(0, PROGRESS_FILE_MS - (performance.now() - this.#lastWrite)),
    );
  }
}
