/**
 * The coordinator of a queued run: enqueues one BullMQ job per image not yet committed and commits each finished
 * job's result into the project store in the order results arrive. The store stays the only writer (one fsynced
 * line per image), so a queued project resumes, exports and reports exactly as a local one.
 *
 * Crash safety, end to end:
 * - a job's id is the image's content hash + the run's settings/pack hash, so enqueuing again is a no-op; images
 *   with the same bytes share one job, whose result is committed for each of them (entryJobId in jobs.ts);
 * - finished jobs are kept in Redis (`removeOnComplete: false`) until their line is committed, then removed: a
 *   coordinator killed at any point restarts, re-reads the store, re-enqueues what is missing (no-op for jobs that
 *   still exist) and collects the jobs that finished while it was away;
 * - a worker killed mid-job loses its lock; BullMQ's stalled-job check (run by the other workers) puts the job back
 *   in the wait list. A job given up after `--max-stalls` stalls is not the image's failure: nothing is committed,
 *   the summary names it, and the next run takes it again;
 * - a per-image failure (unreadable file…) is a result, committed as a local run commits it; a worker that throws
 *   (broken pack) is retried up to `attempts` times, then the image is committed as failed;
 * - a FLUSHALL (or an evicting Redis) is repaired by the sweep: missing jobs and the run key are written again.
 *
 * Nothing here listens on a port: the coordinator and the workers are Redis clients.
 *
 * Longer than the ~400-line guide: enqueue, collect, commit and restart recovery share the job bookkeeping that makes
 * each image land exactly once; the steps are the methods of {@link QueuedRun}.
 */
import { readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { Queue, QueueEvents, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { QueueProgress } from '../../../shared/api.ts';
import type { ImageResult, RunSummary } from '../../../shared/results.ts';
import type { Settings } from '../../../shared/settings.ts';
import { failedResult } from '../run.ts';
import { imagePaths, Project, projectLockHolder, type ImageEntry } from '../store/index.ts';
import {
  DEFAULT_ATTEMPTS,
  DEFAULT_MAX_SHIPPED_BYTES,
  DEFAULT_EVENTS_MAX_LEN,
  DEFAULT_QUEUE_NAME,
  decodeJobResult,
  entryJobId,
  packDigest,
  runKey,
  type EncodedJobResult,
  type ImageJobData,
  type QueueRun,
} from './jobs.ts';
import { SnapshotWriter } from './progress-file.ts';
import { checkRedis, openRedis, redactUrl, RepeatedWarnings } from './redis.ts';

export type { QueueProgress } from '../../../shared/api.ts';

/** Options of {@link runCoordinator}. */
export interface CoordinatorOptions {
  /** Project folder (created if missing). */
  project: string;
  /** An image folder, a single image, or a list of paths. Omit to resume the project's own list. */
  images?: string | readonly string[];
  settings: Settings;
  /** The project's model pack (its checksums are what workers must match). */
  pack: { dir: string; name: string; demo: boolean; checksums: Record<string, string> };
  versions?: Record<string, string>;
  /** `redis://[:password@]host:port/db` or `rediss://…`. */
  redisUrl: string;
  queueName?: string;
  /** Put the image bytes in the job (workers without shared storage). */
  shipImages?: boolean;
  /** Largest shipped image in bytes (default 32 MiB). */
  maxImageBytes?: number;
  /** Tries per job when a worker throws (default 3). */
  attempts?: number;
  /** Also run again the images whose latest result failed (`generate --retry-failed`). */
  retryFailed?: boolean;
  /** Entries BullMQ keeps in the queue's events stream (default {@link DEFAULT_EVENTS_MAX_LEN}). */
  eventsMaxLen?: number;
  /** How often progress is polled from Redis (ms, default 1000). */
  progressMs?: number;
  /** With no result for this long, re-check every outstanding job in Redis (ms, default 10 000). */
  sweepMs?: number;
  /** Every commit and every `progressMs`; the same snapshot goes to the project's `queue-progress.json`. */
  onProgress?: (progress: QueueProgress) => void;
  /** Redis errors while running (the connection retries; the run goes on when Redis is back). */
  onWarning?: (message: string) => void;
  /** Stops waiting (the jobs stay queued; a restart collects them). */
  signal?: AbortSignal;
  /** Called after each commit. */
  onCommit?: (result: ImageResult) => void;
}

/** The summary of a queued run, with the coordinator's own time. */
export interface CoordinatorSummary extends RunSummary {
  /** Milliseconds spent enqueuing, collecting and committing (the coordinator's overhead), all images together. */
  coordinatorMs: number;
  /** Of which in the store's fsynced commits. */
  commitMs: number;
  /** Milliseconds the progress snapshot's writes took (`queue-progress.json`; asynchronous, off the commit path). */
  snapshotMs: number;
  /** Images this coordinator committed. */
  committed: number;
  /**
   * Images whose job was given up after `--max-stalls` stalls (its workers died or lost the lock): not the image's
   * failure, so nothing is committed; the next run takes them again.
   */
  stalled: StalledImage[];
}

/** An image left pending because its job stalled too often. */
export interface StalledImage {
  name: string;
  path: string;
  reason: string;
}

/** Runs (or resumes) a project through a Redis queue; resolves when every image is committed or on abort. */
export async function runCoordinator(options: CoordinatorOptions): Promise<CoordinatorSummary> {
  const started = performance.now();
  // fail on Redis before touching the project: a wrong URL should not leave a half-made project behind
  await checkRedis(options.redisUrl, { signal: options.signal });
  const run = await QueuedRun.open(options, started);
  let failed = true;
  try {
    if (run.outstanding.size > 0) await run.serve();
    failed = false;
  } finally {
    await run.close(failed);
  }
  return run.report();
}

/** What a finished job says: the worker's result, or why the job failed (a stall is not the image's failure). */
type Outcome = { result: ImageResult } | { failedReason: string; stalled: boolean };

/** BullMQ's reasons for a job given up because its workers died or lost its lock (not an error of the image). */
const STALLED = /(stalled|started) more than allowable limit/;

/**
 * One queued run, as named steps: {@link QueuedRun.open} (the project and what is left), `serve` = `publish` the run,
 * `enqueue`, `sweep`, `collect` → `commit` until done; `close`; `report`.
 */
class QueuedRun {
  readonly outstanding: Map<string, ImageEntry[]>;
  readonly #options: CoordinatorOptions;
  readonly #queueName: string;
  readonly #digest: string;
  readonly #project: Project;
  readonly #progress: QueueProgress;
  readonly #snapshots: SnapshotWriter;
  readonly #warnings: RepeatedWarnings;
  readonly #started: number;
  /** Jobs whose entries had a failed result a `--retry-failed` re-runs: their old job must go first. */
  readonly #retried: Set<string>;
  #stalled: StalledImage[] = [];
  #coordinatorMs = 0;
  #commitMs = 0;
  #committed = 0;
  #cancelled = false;
  #lastResultAt = performance.now();
  #chain: Promise<void> = Promise.resolve();
  #finish: () => void = () => {};
  #connection: Redis | null = null;
  #eventsConnection: Redis | null = null;
  #queue: Queue<ImageJobData, EncodedJobResult> | null = null;
  #events: QueueEvents | null = null;

  private constructor(
    options: CoordinatorOptions,
    started: number,
    project: Project,
    pending: ImageEntry[],
    failedBefore: number,
  ) {
    this.#options = options;
    this.#started = started;
    this.#project = project;
    this.#queueName = options.queueName ?? DEFAULT_QUEUE_NAME;
    this.#digest = packDigest(options.pack.checksums);
    this.#warnings = new RepeatedWarnings((m) => options.onWarning?.(m));
    // images with the same bytes (and, where inputs are read by name, the same name) share one job
    this.outstanding = new Map();
    for (const entry of pending) {
      const id = entryJobId(entry, options.settings, this.#digest);
      this.outstanding.set(id, [...(this.outstanding.get(id) ?? []), entry]);
    }
    const catalog = project.catalog;
    const failedIds = new Set(catalog.ids().filter((id) => catalog.status(id) === 'failed'));
    this.#retried = new Set(
      [...this.outstanding]
        .filter(([, entries]) => entries.some((e) => failedIds.has(e.id)))
        .map(([id]) => id),
    );
    const images = project.file.images;
    const holder = projectLockHolder(project.dir);
    this.#progress = {
      url: redactUrl(options.redisUrl),
      name: this.#queueName,
      stage: 'start',
      total: images.length,
      done: images.length - pending.length,
      failed: failedBefore,
      skipped: images.length - pending.length,
      waiting: 0,
      active: {},
      workers: 0,
      rate: 0,
      etaSeconds: null,
      // the lock this process holds (Project.create took it): an app watching the folder checks it is still held
      coordinator: {
        pid: process.pid,
        host: holder?.host ?? hostname(),
        since: holder?.pid === process.pid ? holder.since : new Date().toISOString(),
      },
      updated: new Date().toISOString(),
    };
    this.#snapshots = new SnapshotWriter(project.dir, (m) => options.onWarning?.(m));
    this.#emit();
  }

  /** Creates or resumes the project (the store's checks: settings, pack identity, lock) and lists what is left. */
  static async open(options: CoordinatorOptions, started: number): Promise<QueuedRun> {
    const project = await Project.create(options.project, {
      images: imagePaths(options.images),
      settings: options.settings,
      pack: options.pack,
      versions: options.versions,
    });
    try {
      // the store's own rule, as a local run: committed images are skipped (failed ones too, unless retried),
      // unreadable ones re-hashed
      const pending = await project.pendingEntries({ retryFailed: options.retryFailed });
      if (options.shipImages) checkShippable(pending, options.maxImageBytes ?? DEFAULT_MAX_SHIPPED_BYTES);
      const rerun = new Set(pending.map((e) => e.id));
      const catalog = project.catalog;
      const failedBefore = catalog
        .ids()
        .filter((id) => catalog.status(id) === 'failed' && !rerun.has(id)).length;
      return new QueuedRun(options, started, project, pending, failedBefore);
    } catch (error) {
      project.close();
      throw error;
    }
  }

  /** Publishes the run, enqueues what is left and collects results until every image is committed (or abort). */
  async serve(): Promise<void> {
    this.#connect();
    const done = new Promise<void>((resolvePromise) => {
      this.#finish = resolvePromise;
    });
    const onAbort = () => {
      this.#cancelled = true;
      this.#finish();
    };
    try {
      await this.#publish();
      // listen before enqueuing, then sweep: a job finishing in between is seen by one or the other
      await this.#events!.waitUntilReady();
      await this.#dropRetried();
      await this.#enqueue([...this.outstanding.keys()]);
      await this.#sweep();
      await this.#removeCommitted();
      this.#progress.stage = 'running';
      this.#options.signal?.addEventListener('abort', onAbort);
      if (this.#options.signal?.aborted) onAbort();
      const poll = this.#poll();
      try {
        await done;
      } finally {
        clearInterval(poll);
      }
      await this.#chain;
    } finally {
      this.#options.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Closes the queue's connections, writes the last snapshot (while the lock is still held) and the project. */
  async close(failed: boolean): Promise<void> {
    await this.#events?.close().catch(() => {});
    await this.#queue?.close().catch(() => {});
    // connections passed in are not closed by BullMQ
    this.#eventsConnection?.disconnect();
    this.#connection?.disconnect();
    this.#warnings.flush();
    // a watcher that then sees the lock released knows the run ended (done or stopped) rather than died; a run
    // that throws leaves `running` and a released lock
    if (!failed) {
      this.#progress.stage = this.#cancelled ? 'cancelled' : 'done';
      this.#emit();
    }
    await this.#snapshots.flush();
    this.#project.close();
  }

  /** The run's summary. */
  report(): CoordinatorSummary {
    const images = this.#project.file.images;
    return {
      project: this.#project.dir,
      imagesTotal: images.length,
      imagesDone: this.#progress.done,
      imagesFailed: this.#progress.failed,
      imagesSkipped: this.#progress.skipped,
      cancelled: this.#cancelled,
      seconds: (performance.now() - this.#started) / 1000,
      coordinatorMs: this.#coordinatorMs,
      commitMs: this.#commitMs,
      snapshotMs: this.#snapshots.milliseconds,
      committed: this.#committed,
      stalled: this.#stalled,
    };
  }

  #connect(): void {
    const warn = (kind: string) => (message: string) => this.#warnings.warn(kind, message);
    this.#connection = openRedis(this.#options.redisUrl, warn('redis'), () => this.#warnings.flush());
    // QueueEvents blocks on XREAD: it needs a connection of its own (with the same error handling: an unhandled
    // ioredis error prints its stack on every retry)
    this.#eventsConnection = openRedis(this.#options.redisUrl, warn('redis'));
    this.#queue = new Queue<ImageJobData, EncodedJobResult>(this.#queueName, {
      connection: this.#connection,
      streams: { events: { maxLen: this.#options.eventsMaxLen ?? DEFAULT_EVENTS_MAX_LEN } },
    });
    this.#events = new QueueEvents(this.#queueName, { connection: this.#eventsConnection });
    this.#queue.on('error', (e) => this.#warnings.warn('queue', `queue: ${e.message}`));
    this.#events.on('error', (e) => this.#warnings.warn('queue events', `queue events: ${e.message}`));
    this.#events.on('completed', ({ jobId, returnvalue }) => {
      this.#then(async () => this.#collect(jobId, { result: decodeJobResult(returnvalue) }));
    });
    this.#events.on('failed', ({ jobId }) => {
      if (!this.outstanding.has(jobId)) return;
      // read the job itself: the event's reason is a string, the job says whether this was the last attempt
      this.#then(async () => {
        const job: Job<ImageJobData, EncodedJobResult> | undefined = await this.#queue!.getJob(jobId);
        if (job?.finishedOn) return this.#collect(jobId, failure(job.failedReason));
      });
    });
  }

  /**
   * Writes what workers read (the run key) and the events stream's cap. Again on every sweep: a FLUSHALL (or an
   * evicting Redis) removes both, and a worker started afterwards would wait for a coordinator forever.
   */
  async #publish(): Promise<void> {
    const run: QueueRun = {
      project: this.#project.dir,
      packName: this.#options.pack.name,
      checksums: this.#options.pack.checksums,
      packDigest: this.#digest,
      started: new Date().toISOString(),
    };
    await this.#connection!.set(runKey(this.#queueName), JSON.stringify(run));
    await this.#connection!.hset(
      this.#queue!.keys.meta,
      'opts.maxLenEvents',
      this.#options.eventsMaxLen ?? DEFAULT_EVENTS_MAX_LEN,
    );
  }

  /** `--retry-failed`: a failed image's old job (if Redis still holds it) would hand back the old failure. */
  async #dropRetried(): Promise<void> {
    await Promise.all([...this.#retried].map((id) => this.#queue!.remove(id).catch(() => 0)));
  }

  /** Adds the jobs of `ids` (a no-op for those Redis holds already). */
  async #enqueue(ids: string[]): Promise<void> {
    const chunk = this.#options.shipImages ? 8 : 500;
    for (let start = 0; start < ids.length; start += chunk) {
      const t0 = performance.now();
      const jobs = ids.slice(start, start + chunk).map((jobId) => {
        const [entry] = this.outstanding.get(jobId)!;
        const data: ImageJobData = { entry, settings: this.#options.settings, packDigest: this.#digest };
        if (this.#options.shipImages) data.image = readFileSync(entry.path).toString('base64');
        return {
          name: 'image',
          data,
          opts: {
            jobId,
            attempts: this.#options.attempts ?? DEFAULT_ATTEMPTS,
            backoff: { type: 'fixed' as const, delay: 1000 },
            removeOnComplete: false,
            removeOnFail: false,
          },
        };
      });
      await this.#queue!.addBulk(jobs);
      this.#coordinatorMs += performance.now() - t0;
    }
  }

  /** Looks every outstanding job up: collects finished ones, re-adds missing ones, re-publishes the run. */
  async #sweep(): Promise<void> {
    const t0 = performance.now();
    const ids = [...this.outstanding.keys()];
    const missing: string[] = [];
    for (let start = 0; start < ids.length; start += 200) {
      const slice = ids.slice(start, start + 200);
      const jobs = await Promise.all(slice.map((id) => this.#queue!.getJob(id)));
      jobs.forEach((job, k) => {
        if (!job) missing.push(slice[k]);
        else if (job.finishedOn) {
          const id = slice[k];
          const outcome: Outcome =
            job.returnvalue !== null && job.returnvalue !== undefined && !job.failedReason
              ? { result: decodeJobResult(job.returnvalue) }
              : failure(job.failedReason);
          this.#then(async () => this.#collect(id, outcome));
        }
      });
    }
    this.#coordinatorMs += performance.now() - t0;
    if (missing.length > 0) await this.#publish();
    await this.#enqueue(missing);
  }

  /** Progress from Redis every `progressMs`; a sweep when no result came for `sweepMs`. */
  #poll(): NodeJS.Timeout {
    let polling = false;
    return setInterval(() => {
      if (polling) return;
      polling = true;
      void (async () => {
        try {
          await refresh(this.#queue!, this.#progress);
          this.#emit();
          if (
            performance.now() - this.#lastResultAt > (this.#options.sweepMs ?? 10_000) &&
            this.outstanding.size > 0
          ) {
            this.#lastResultAt = performance.now();
            await this.#sweep();
          }
        } catch (error) {
          this.#warnings.warn('progress', `progress: ${(error as Error).message}`);
        } finally {
          polling = false;
        }
      })();
    }, this.#options.progressMs ?? 1000);
  }

  /** Queues work on the one chain: commits happen one at a time, in the order results reach the coordinator. */
  #then(work: () => Promise<void>): void {
    this.#chain = this.#chain.then(work).catch((error: unknown) => {
      this.#warnings.warn('collect', `collecting a result: ${(error as Error).message}`);
    });
  }

  /** A finished job: its result committed for every image of the job, or the stall recorded; then the job removed. */
  async #collect(jobId: string, outcome: Outcome): Promise<void> {
    const entries = this.outstanding.get(jobId);
    if (!entries) return; // another run's job, or one committed already
    const t0 = performance.now();
    this.outstanding.delete(jobId);
    if ('stalled' in outcome && outcome.stalled) {
      // not the image's failure: nothing is committed, the next run takes it again
      for (const entry of entries)
        this.#stalled.push({ name: entry.name, path: entry.path, reason: outcome.failedReason });
    } else for (const entry of entries) this.#commit(entryResult(entry, outcome));
    this.#lastResultAt = performance.now();
    this.#emit();
    this.#coordinatorMs += performance.now() - t0;
    if (this.outstanding.size === 0) this.#finish();
    // the lines are durable: the job's copy of the result is no longer needed
    await this.#queue!.remove(jobId).then(
      () => undefined,
      (error: unknown) => this.#warnings.warn('remove', `removing job ${jobId}: ${(error as Error).message}`),
    );
  }

  #commit(result: ImageResult): void {
    const c0 = performance.now();
    this.#project.commit(result);
    this.#commitMs += performance.now() - c0;
    this.#committed++;
    this.#progress.done++;
    if (result.status === 'failed') this.#progress.failed++;
    const minutes = (performance.now() - this.#started) / 60000;
    this.#progress.rate = minutes > 0 ? this.#committed / minutes : 0;
    this.#progress.etaSeconds =
      this.#progress.rate > 0 ? (this.outstanding.size / this.#progress.rate) * 60 : null;
    this.#options.onCommit?.(result);
  }

  /**
   * Removes finished jobs of images already committed: a coordinator killed between a commit and the job's removal
   * leaves one behind. Finished jobs are few (each is removed once committed), so listing them is cheap.
   */
  async #removeCommitted(): Promise<void> {
    const committed = this.#project.committedIds();
    const ids = new Set(
      this.#project.file.images
        .filter((e) => committed.has(e.id))
        .map((e) => entryJobId(e, this.#options.settings, this.#digest))
        .filter((id) => !this.outstanding.has(id)),
    );
    if (ids.size === 0) return;
    const finished = await this.#queue!.getJobs(['completed', 'failed']);
    await Promise.all(
      finished
        .filter((job) => job?.id !== undefined && ids.has(job.id))
        .map((job) => this.#queue!.remove(job.id!)),
    );
  }

  #emit(): void {
    this.#progress.updated = new Date().toISOString();
    const snapshot = {
      ...this.#progress,
      active: { ...this.#progress.active },
      coordinator: { ...this.#progress.coordinator },
    };
    this.#snapshots.publish(snapshot);
    this.#options.onProgress?.({ ...snapshot, active: { ...snapshot.active } });
  }
}

/** A failed job's outcome: a stall (its workers died or lost the lock) or an error of the pipeline. */
function failure(failedReason: string | undefined): Outcome {
  const reason = failedReason ?? 'unknown reason';
  return { failedReason: reason, stalled: STALLED.test(reason) };
}

/**
 * The record of one image of a finished job: the worker's result under this image's id, path and name (a job may
 * serve several images with the same bytes; the worker named the job's first), or the job's failure.
 */
function entryResult(entry: ImageEntry, outcome: Outcome): ImageResult {
  if ('result' in outcome) {
    const { result } = outcome;
    const from = result.image.path;
    const error = result.error && {
      ...result.error,
      message: from ? result.error.message.split(from).join(entry.path) : result.error.message,
    };
    return {
      ...result,
      image: { ...result.image, id: entry.id, path: entry.path, name: entry.name },
      ...(error ? { error } : {}),
    };
  }
  return failedResult(entry, {
    stage: 'queue',
    code: 'job-failed',
    message: `queued job failed: ${outcome.failedReason}`,
  });
}

/** The URL as a message shows it, for the CLI. */
export const describeQueue = (url: string, name = DEFAULT_QUEUE_NAME) =>
  `${redactUrl(url)} (queue "${name}")`;

async function refresh(queue: Queue<ImageJobData, EncodedJobResult>, progress: QueueProgress): Promise<void> {
  const counts = await queue.getJobCounts('waiting', 'delayed', 'prioritized');
  progress.waiting = (counts.waiting ?? 0) + (counts.delayed ?? 0) + (counts.prioritized ?? 0);
  const active = await queue.getJobs(['active'], 0, 999);
  const perWorker: Record<string, number> = {};
  for (const job of active) {
    if (!job) continue;
    const name = job.processedBy ?? 'unknown';
    perWorker[name] = (perWorker[name] ?? 0) + 1;
  }
  progress.active = perWorker;
  progress.workers = (await queue.getWorkers()).length;
}

function checkShippable(entries: readonly ImageEntry[], maxBytes: number): void {
  const tooBig = entries.map((e) => ({ e, size: statSync(e.path).size })).filter((x) => x.size > maxBytes);
  if (tooBig.length > 0) {
    const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
    throw new Error(
      `--ship-images carries images up to ${mib(maxBytes)} (--max-image-mib); ${tooBig.length} image(s) are larger: ${tooBig
        .slice(0, 3)
        .map((x) => `${x.e.path} (${mib(x.size)})`)
        .join(', ')}${tooBig.length > 3 ? ', …' : ''}. Use shared storage for these, or raise the limit`,
    );
  }
}
