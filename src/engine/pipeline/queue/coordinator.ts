/**
 * The coordinator of a queued run: enqueues one BullMQ job per image not yet committed and commits each finished
 * job's result into the project store in the order results arrive. The store stays the only writer (one fsynced
 * line per image), so a queued project resumes, exports and reports exactly as a local one.
 *
 * Crash safety, end to end:
 * - a job's id is the image's content hash + the run's settings/pack hash, so enqueuing again is a no-op;
 * - finished jobs are kept in Redis (`removeOnComplete: false`) until their line is committed, then removed: a
 *   coordinator killed at any point restarts, re-reads the store, re-enqueues what is missing (no-op for jobs that
 *   still exist) and collects the jobs that finished while it was away;
 * - a worker killed mid-job loses its lock; BullMQ's stalled-job check (run by the other workers) puts the job back
 *   in the wait list;
 * - a per-image failure (unreadable file…) is a result, committed as a local run commits it; a worker that throws
 *   (broken pack) is retried up to `attempts` times, then the image is committed as failed.
 *
 * Nothing here listens on a port: the coordinator and the workers are Redis clients.
 *
 * Longer than the ~400-line guide: enqueue, collect, commit and restart recovery share the job bookkeeping that makes
 * each image land exactly once.
 */
import { readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { Queue, QueueEvents, type Job } from 'bullmq';
import type { QueueProgress } from '../../../shared/api.ts';
import type { ImageResult, RunSummary } from '../../../shared/results.ts';
import type { Settings } from '../../../shared/settings.ts';
import { failedResult } from '../run.ts';
import { imagePaths, Project, projectLockHolder, type ImageEntry } from '../store/index.ts';
import {
  DEFAULT_ATTEMPTS,
  DEFAULT_MAX_SHIPPED_BYTES,
  DEFAULT_QUEUE_NAME,
  imageJobId,
  packDigest,
  runKey,
  type ImageJobData,
  type QueueRun,
} from './jobs.ts';
import { writeQueueProgress } from './progress-file.ts';
import { checkRedis, openRedis, redactUrl } from './redis.ts';

export type { QueueProgress } from '../../../shared/api.ts';

/** The project's `queue-progress.json` is rewritten at most this often (ms). */
const PROGRESS_FILE_MS = 500;

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
}

/** Runs (or resumes) a project through a Redis queue; resolves when every image is committed or on abort. */
export async function runCoordinator(options: CoordinatorOptions): Promise<CoordinatorSummary> {
  const started = performance.now();
  const queueName = options.queueName ?? DEFAULT_QUEUE_NAME;
  const maxBytes = options.maxImageBytes ?? DEFAULT_MAX_SHIPPED_BYTES;
  const paths = imagePaths(options.images);
  // fail on Redis before touching the project: a wrong URL should not leave a half-made project behind
  await checkRedis(options.redisUrl);
  const project = await Project.create(options.project, {
    images: paths,
    settings: options.settings,
    pack: options.pack,
    versions: options.versions,
  });
  const images = project.file.images;
  // the store's own rule, as a local run: committed images (failed ones too) are skipped, unreadable ones re-hashed
  const pendingEntries = await project.pendingEntries();
  const committedIds = project.committedIds();
  if (options.shipImages) checkShippable(pendingEntries, maxBytes);
  const digest = packDigest(options.pack.checksums);
  const outstanding = new Map<string, ImageEntry>();
  for (const entry of pendingEntries) outstanding.set(entryJobId(entry, options.settings, digest), entry);

  const holder = projectLockHolder(project.dir);
  const progress: QueueProgress = {
    url: redactUrl(options.redisUrl),
    name: queueName,
    stage: 'start',
    total: images.length,
    done: images.length - pendingEntries.length,
    failed: project.catalog.counts().failed,
    skipped: images.length - pendingEntries.length,
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
  // the snapshot file, for an app that opens this project (progress-file.ts): written off the commit path (async,
  // one write at a time, the newest snapshot wins), at most every PROGRESS_FILE_MS; `flushSnapshot` writes the last
  let snapshotMs = 0;
  let latest: QueueProgress | null = null;
  let writing: Promise<void> = Promise.resolve();
  let inFlight = false;
  let lastWrite = -Infinity;
  let timer: NodeJS.Timeout | undefined;
  const writeSnapshot = () => {
    if (inFlight || !latest) return;
    const snapshot = latest;
    latest = null;
    inFlight = true;
    const t0 = performance.now();
    lastWrite = t0;
    writing = writeQueueProgress(project.dir, snapshot)
      .catch((error: unknown) =>
        options.onWarning?.(`writing the progress snapshot: ${(error as Error).message}`),
      )
      .finally(() => {
        snapshotMs += performance.now() - t0;
        inFlight = false;
        if (latest) scheduleSnapshot();
      });
  };
  const scheduleSnapshot = () => {
    if (timer || inFlight) return;
    timer = setTimeout(
      () => {
        timer = undefined;
        writeSnapshot();
      },
      Math.max(0, PROGRESS_FILE_MS - (performance.now() - lastWrite)),
    );
  };
  const publish = () => {
    latest = { ...progress, active: { ...progress.active }, coordinator: { ...progress.coordinator } };
    scheduleSnapshot();
  };
  const flushSnapshot = async () => {
    clearTimeout(timer);
    timer = undefined;
    await writing;
    writeSnapshot();
    await writing;
  };
  const emit = () => {
    progress.updated = new Date().toISOString();
    publish();
    options.onProgress?.({
      ...progress,
      active: { ...progress.active },
      coordinator: { ...progress.coordinator },
    });
  };
  emit();
  let coordinatorMs = 0;
  let commitMs = 0;
  let committed = 0;
  const summary = (cancelled: boolean): CoordinatorSummary => ({
    project: project.dir,
    imagesTotal: images.length,
    imagesDone: progress.done,
    imagesFailed: progress.failed,
    imagesSkipped: progress.skipped,
    cancelled,
    seconds: (performance.now() - started) / 1000,
    coordinatorMs,
    commitMs,
    snapshotMs,
    committed,
  });
  if (outstanding.size === 0) {
    progress.stage = 'done';
    emit();
    await flushSnapshot();
    project.close();
    return summary(false);
  }

  const warn = (message: string) => options.onWarning?.(message);
  const connection = openRedis(options.redisUrl, warn);
  const queue = new Queue<ImageJobData, ImageResult>(queueName, { connection });
  // QueueEvents blocks on XREAD: it needs a connection of its own
  const eventsConnection = connection.duplicate();
  const events = new QueueEvents(queueName, { connection: eventsConnection });
  queue.on('error', (e) => warn(`queue: ${e.message}`));
  events.on('error', (e) => warn(`queue events: ${e.message}`));
  let lastResultAt = performance.now();
  let finish: () => void = () => {};
  const allDone = new Promise<void>((resolvePromise) => {
    finish = resolvePromise;
  });

  // one chain: commits happen one at a time, in the order results reach the coordinator
  let chain: Promise<void> = Promise.resolve();
  const enqueueWork = (work: () => Promise<void>) => {
    chain = chain.then(work).catch((error: unknown) => {
      warn(`collecting a result: ${(error as Error).message}`);
    });
  };
  const collect = (jobId: string, outcome: { result?: ImageResult; failedReason?: string }) => {
    const entry = outstanding.get(jobId);
    if (!entry) return; // another run's job, or one committed already
    const t0 = performance.now();
    const result: ImageResult = outcome.result
      ? {
          ...outcome.result,
          image: { ...outcome.result.image, id: entry.id, path: entry.path, name: entry.name },
        }
      : failedResult(entry, {
          stage: 'queue',
          code: /stalled/.test(outcome.failedReason ?? '') ? 'stalled' : 'job-failed',
          message: `queued job failed: ${outcome.failedReason ?? 'unknown reason'}`,
        });
    const c0 = performance.now();
    project.commit(result);
    commitMs += performance.now() - c0;
    outstanding.delete(jobId);
    committed++;
    progress.done++;
    if (result.status === 'failed') progress.failed++;
    const minutes = (performance.now() - started) / 60000;
    progress.rate = minutes > 0 ? committed / minutes : 0;
    progress.etaSeconds = progress.rate > 0 ? (outstanding.size / progress.rate) * 60 : null;
    lastResultAt = performance.now();
    options.onCommit?.(result);
    emit();
    coordinatorMs += performance.now() - t0;
    if (outstanding.size === 0) finish();
    // the line is durable: the job's copy of the result is no longer needed
    return queue.remove(jobId).then(
      () => undefined,
      (error: unknown) => warn(`removing job ${jobId}: ${(error as Error).message}`),
    );
  };

  /** Looks every outstanding job up: collects finished ones, re-adds missing ones. */
  const sweep = async () => {
    const t0 = performance.now();
    const ids = [...outstanding.keys()];
    const missing: string[] = [];
    for (let start = 0; start < ids.length; start += 200) {
      const slice = ids.slice(start, start + 200);
      const jobs = await Promise.all(slice.map((id) => queue.getJob(id)));
      jobs.forEach((job, k) => {
        if (!job) missing.push(slice[k]);
        else if (job.finishedOn) {
          const id = slice[k];
          const outcome =
            job.returnvalue !== null && job.returnvalue !== undefined && !job.failedReason
              ? { result: job.returnvalue }
              : { failedReason: job.failedReason };
          enqueueWork(async () => collect(id, outcome));
        }
      });
    }
    coordinatorMs += performance.now() - t0;
    await add(missing);
  };

  const add = async (ids: string[]) => {
    const chunk = options.shipImages ? 8 : 500;
    for (let start = 0; start < ids.length; start += chunk) {
      const t0 = performance.now();
      const jobs = ids.slice(start, start + chunk).map((jobId) => {
        const entry = outstanding.get(jobId)!;
        const data: ImageJobData = { entry, settings: options.settings, packDigest: digest };
        if (options.shipImages) data.image = readFileSync(entry.path).toString('base64');
        return {
          name: 'image',
          data,
          opts: {
            jobId,
            attempts: options.attempts ?? DEFAULT_ATTEMPTS,
            backoff: { type: 'fixed' as const, delay: 1000 },
            removeOnComplete: false,
            removeOnFail: false,
          },
        };
      });
      await queue.addBulk(jobs);
      coordinatorMs += performance.now() - t0;
    }
  };

  events.on('completed', ({ jobId, returnvalue }) => {
    enqueueWork(async () => collect(jobId, { result: returnvalue as unknown as ImageResult }));
  });
  events.on('failed', ({ jobId }) => {
    if (!outstanding.has(jobId)) return;
    // read the job itself: the event's reason is a string, the job says whether this was the last attempt
    enqueueWork(async () => {
      const job: Job<ImageJobData, ImageResult> | undefined = await queue.getJob(jobId);
      if (job?.finishedOn) collect(jobId, { failedReason: job.failedReason });
    });
  });

  const run: QueueRun = {
    project: project.dir,
    packName: options.pack.name,
    checksums: options.pack.checksums,
    packDigest: digest,
    started: new Date().toISOString(),
  };
  let poll: NodeJS.Timeout | undefined;
  let cancelled = false;
  let failed = true;
  const onAbort = () => {
    cancelled = true;
    finish();
  };
  try {
    await connection.set(runKey(queueName), JSON.stringify(run));
    // listen before enqueuing, then sweep: a job finishing in between is seen by one or the other
    await events.waitUntilReady();
    await add([...outstanding.keys()]);
    await sweep();
    await removeCommitted(queue, images, committedIds, options.settings, digest);
    progress.stage = 'running';
    options.signal?.addEventListener('abort', onAbort);
    if (options.signal?.aborted) onAbort();
    let polling = false;
    poll = setInterval(() => {
      if (polling) return;
      polling = true;
      void (async () => {
        try {
          await refresh(queue, progress);
          emit();
          if (performance.now() - lastResultAt > (options.sweepMs ?? 10_000) && outstanding.size > 0) {
            lastResultAt = performance.now();
            await sweep();
          }
        } catch (error) {
          warn(`progress: ${(error as Error).message}`);
        } finally {
          polling = false;
        }
      })();
    }, options.progressMs ?? 1000);
    await allDone;
    await chain;
    failed = false;
  } finally {
    if (poll) clearInterval(poll);
    options.signal?.removeEventListener('abort', onAbort);
    await events.close().catch(() => {});
    await queue.close().catch(() => {});
    // connections passed in are not closed by BullMQ
    eventsConnection.disconnect();
    connection.disconnect();
    // the last snapshot is written while the lock is still held: a watcher that then sees the lock released knows
    // the run ended (done or stopped) rather than died; a run that throws leaves `running` and a released lock
    if (!failed) {
      progress.stage = cancelled ? 'cancelled' : 'done';
      emit();
    }
    await flushSnapshot();
    project.close();
  }
  return summary(cancelled);
}

/** The URL as a message shows it, for the CLI. */
export const describeQueue = (url: string, name = DEFAULT_QUEUE_NAME) =>
  `${redactUrl(url)} (queue "${name}")`;

/**
 * Removes finished jobs of images already committed: a coordinator killed between a commit and the job's removal
 * leaves one behind. Finished jobs are few (each is removed once committed), so listing them is cheap.
 */
/** An image's job id; one that could not be hashed (unreadable) uses its project id, so two such stay two jobs. */
function entryJobId(entry: ImageEntry, settings: Settings, digest: string): string {
  return imageJobId(entry.sha256 || `unhashed${entry.id}`, settings, digest);
}

async function removeCommitted(
  queue: Queue<ImageJobData, ImageResult>,
  images: readonly ImageEntry[],
  committed: ReadonlySet<number>,
  settings: Settings,
  digest: string,
): Promise<void> {
  const ids = new Set(images.filter((e) => committed.has(e.id)).map((e) => entryJobId(e, settings, digest)));
  if (ids.size === 0) return;
  const finished = await queue.getJobs(['completed', 'failed']);
  await Promise.all(
    finished.filter((job) => job?.id !== undefined && ids.has(job.id)).map((job) => queue.remove(job.id!)),
  );
}

async function refresh(queue: Queue<ImageJobData, ImageResult>, progress: QueueProgress): Promise<void> {
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
