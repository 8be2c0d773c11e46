/**
 * A queue worker: takes image jobs from Redis, runs the same per-image pipeline as a local run (`processImage`) and
 * returns the result for the coordinator to commit. It never writes the project.
 *
 * Before taking any job it reads the run the coordinator published and compares its own pack's checksums with the
 * project's; a mismatch stops it with the differences listed (results from another pack would mix two models). A
 * job whose pack digest differs from the worker's (a new run started meanwhile) is put back untouched and the worker
 * stops the same way.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { WaitingError, Worker, type Job } from 'bullmq';
import type { ImageResult } from '../../../shared/results.ts';
import { parseSettings } from '../../../shared/settings.ts';
import { failedResult, processImage, type ImageStages } from '../run.ts';
import {
  checksumDifferences,
  DEFAULT_QUEUE_NAME,
  packDigest,
  runKey,
  type ImageJobData,
  type QueueRun,
} from './jobs.ts';
import { checkRedis, openRedis, redactUrl } from './redis.ts';

/** Options of {@link runWorker}. */
export interface QueueWorkerOptions {
  redisUrl: string;
  queueName?: string;
  /** The stages over this worker's pack, and the pack's facts. */
  stages: ImageStages;
  pack: { name: string; checksums: Record<string, string> };
  /** Jobs at once (default 1: one image saturates a device). */
  concurrency?: number;
  /** Shown in the coordinator's progress (default host:pid). */
  name?: string;
  /** BullMQ lock of an active job, renewed at half this (ms, default 30 000). A dead worker's job waits this long. */
  lockMs?: number;
  /** How often this worker checks for stalled jobs of dead workers (ms, default 30 000). */
  stalledCheckMs?: number;
  /** Times a job may be recovered from a dead worker before it fails (default 3). */
  maxStalls?: number;
  /** Stops after the jobs in hand (SIGINT/SIGTERM). */
  signal?: AbortSignal;
  /** Worker events for the CLI: waiting for a coordinator, a job started or finished. */
  onEvent?: (message: string) => void;
}

/** What a worker did when it stops. */
export interface QueueWorkerSummary {
  name: string;
  jobs: number;
  failedImages: number;
}

/** Runs a worker until `signal` aborts (or a pack mismatch stops it, which rejects). */
export async function runWorker(options: QueueWorkerOptions): Promise<QueueWorkerSummary> {
  const queueName = options.queueName ?? DEFAULT_QUEUE_NAME;
  const name = options.name ?? `${hostname()}:${process.pid}`;
  const say = (message: string) => options.onEvent?.(message);
  const digest = packDigest(options.pack.checksums);
  await checkRedis(options.redisUrl);
  const connection = openRedis(options.redisUrl, say);
  const summary: QueueWorkerSummary = { name, jobs: 0, failedImages: 0 };
  let stopReason: Error | null = null;
  const stopped = new AbortController();
  const stop = () => stopped.abort();
  options.signal?.addEventListener('abort', stop);
  if (options.signal?.aborted) stop();
  let worker: Worker<ImageJobData, ImageResult> | null = null;
  try {
    const run = await waitForRun(connection, queueName, stopped.signal, () =>
      say(`waiting for a coordinator on ${redactUrl(options.redisUrl)} (queue "${queueName}")`),
    );
    if (!run) return summary;
    const differences = checksumDifferences(options.pack.checksums, run.checksums, [
      `pack "${options.pack.name}"`,
      `project's pack "${run.packName}"`,
    ]);
    if (differences.length > 0) throw packMismatch(run, differences);
    say(`serving ${run.project} with pack "${options.pack.name}" as ${name}`);

    worker = new Worker<ImageJobData, ImageResult>(
      queueName,
      async (job: Job<ImageJobData, ImageResult>, token?: string) => {
        if (job.data.packDigest !== digest) {
          // a run with another pack: give the job back unchanged and stop taking jobs
          await job.moveToWait(token);
          stopReason = new Error(
            `job ${job.id} was queued for another model pack (digest ${job.data.packDigest}, this worker's ${digest}); stopping`,
          );
          stop();
          throw new WaitingError();
        }
        return processJob(options.stages, job, (m) => say(m));
      },
      {
        connection,
        name,
        concurrency: options.concurrency ?? 1,
        lockDuration: options.lockMs ?? 30_000,
        stalledInterval: options.stalledCheckMs ?? 30_000,
        maxStalledCount: options.maxStalls ?? 3,
      },
    );
    worker.on('error', (e) => say(`worker: ${e.message}`));
    worker.on('completed', (_job, result) => {
      summary.jobs++;
      if (result.status === 'failed') summary.failedImages++;
    });
    worker.on('failed', (job, error) => say(`job ${job?.id ?? '?'} failed: ${error.message}`));
    await new Promise<void>((resolvePromise) => {
      if (stopped.signal.aborted) resolvePromise();
      stopped.signal.addEventListener('abort', () => resolvePromise());
    });
  } finally {
    options.signal?.removeEventListener('abort', stop);
    // close() waits for the jobs in hand to finish and return their results
    if (worker) await worker.close().catch(() => {});
    connection.disconnect();
  }
  if (stopReason) throw stopReason;
  return summary;
}

/** One job: the image from shared storage or from the job's bytes, then the per-image pipeline. */
async function processJob(
  stages: ImageStages,
  job: Job<ImageJobData, ImageResult>,
  say: (message: string) => void,
): Promise<ImageResult> {
  const { entry } = job.data;
  const settings = parseSettings(job.data.settings);
  let local = entry;
  let temp: string | null = null;
  if (job.data.image !== undefined) {
    // the original name keeps mask imports keyed by file name working
    temp = mkdtempSync(join(tmpdir(), 'pseudo-ris-job-'));
    local = { ...entry, path: join(temp, basename(entry.path)) };
    writeFileSync(local.path, Buffer.from(job.data.image, 'base64'));
  }
  try {
    let result: ImageResult;
    try {
      result = await processImage(stages, local, settings);
    } catch (error) {
      // as the batch loop (batch.ts): a broken pack stops (here: the job is retried, then failed), anything else
      // is the image's failure and its record is the result
      if (error instanceof Error && error.name === 'ModelPackError') throw error;
      result = failedResult(local, error);
      say(`${entry.name}: ${result.error?.message ?? 'failed'}`);
    }
    // the record names the coordinator's file, as a local run over it would (not the worker's temporary copy)
    const error = result.error && {
      ...result.error,
      message: result.error.message.split(local.path).join(entry.path),
    };
    return { ...result, image: { ...result.image, path: entry.path }, ...(error ? { error } : {}) };
  } finally {
    if (temp) rmSync(temp, { recursive: true, force: true });
  }
}

async function waitForRun(
  connection: ReturnType<typeof openRedis>,
  queueName: string,
  signal: AbortSignal,
  onWait: () => void,
): Promise<QueueRun | null> {
  let told = false;
  while (!signal.aborted) {
    const raw = await connection.get(runKey(queueName));
    if (raw) return JSON.parse(raw) as QueueRun;
    if (!told) onWait();
    told = true;
    await new Promise((r) => setTimeout(r, 500));
  }
  return null;
}

function packMismatch(run: QueueRun, differences: string[]): Error {
  return new Error(
    `this worker's model pack differs from project ${run.project}'s; it takes no job:\n  ${differences.join('\n  ')}`,
  );
}
