/**
 * A queue worker: takes image jobs from Redis, runs the same per-image pipeline as a local run (`processImage`) and
 * returns the result for the coordinator to commit. It never writes the project.
 *
 * Before taking any job it reads the run the coordinator published and compares its own pack's checksums with the
 * project's; a mismatch stops it with the differences listed (results from another pack would mix two models). A
 * job whose pack digest differs from the worker's (a new run started meanwhile) is put back untouched and the worker
 * stops the same way.
 */
import { hostname } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { WaitingError, Worker, type Job } from 'bullmq';
import type { ImageResult } from '../../../shared/results.ts';
import type { ImageStages } from '../run.ts';
import {
  checksumDifferences,
  DEFAULT_MAX_STALLS,
  DEFAULT_QUEUE_NAME,
  encodeJobResult,
  packDigest,
  runKey,
  type EncodedJobResult,
  type ImageJobData,
  type QueueRun,
} from './jobs.ts';
import { PipelineThread, runImageJob } from './pipeline-thread.ts';
import { checkRedis, openRedis, redactUrl, RepeatedWarnings } from './redis.ts';

/** Options of {@link runWorker}. */
export interface QueueWorkerOptions {
  redisUrl: string;
  queueName?: string;
  /**
   * Where the pipeline runs: `packDir` opens the pack's stages in a thread of its own (the CLI: the event loop stays
   * free to renew the jobs' locks), `stages` runs them on this thread (tests with stages of their own).
   */
  packDir?: string;
  stages?: ImageStages;
  /** The pack's facts (its checksums are what the project's must equal). */
  pack: { name: string; checksums: Record<string, string> };
  /** Jobs at once (default 1: one image saturates a device). */
  concurrency?: number;
  /** Shown in the coordinator's progress (default host:pid). */
  name?: string;
  /** BullMQ lock of an active job, renewed at half this (ms, default 30 000). A dead worker's job waits this long. */
  lockMs?: number;
  /** How often this worker checks for stalled jobs of dead workers (ms, default 30 000). */
  stalledCheckMs?: number;
  /**
   * Times a job may outlive its worker (or its lock) before BullMQ gives it up (default {@link DEFAULT_MAX_STALLS});
   * the coordinator then leaves the image pending (not failed) for the next run.
   */
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
  /** Lock renewals of this worker's jobs that failed (BullMQ `lockRenewalFailed`): each may make a job run twice. */
  lockRenewalsMissed: number;
  /** The longest stall of this worker's event loop while it served (ms): what delays lock renewals. */
  maxLoopDelayMs: number;
}

/** Runs a worker until `signal` aborts (or a pack mismatch stops it, which rejects). */
export async function runWorker(options: QueueWorkerOptions): Promise<QueueWorkerSummary> {
  const queueName = options.queueName ?? DEFAULT_QUEUE_NAME;
  const name = options.name ?? `${hostname()}:${process.pid}`;
  const say = (message: string) => options.onEvent?.(message);
  const digest = packDigest(options.pack.checksums);
  const summary: QueueWorkerSummary = {
    name,
    jobs: 0,
    failedImages: 0,
    lockRenewalsMissed: 0,
    maxLoopDelayMs: 0,
  };
  if (!options.stages === !options.packDir) throw new Error('runWorker needs one of stages or packDir');
  try {
    await checkRedis(options.redisUrl, { signal: options.signal });
  } catch (error) {
    // stopped while checking: a stop, not an error
    if (options.signal?.aborted) return summary;
    throw error;
  }
  const warnings = new RepeatedWarnings(say);
  const connection = openRedis(
    options.redisUrl,
    (m) => warnings.warn('redis', m),
    () => warnings.flush(),
  );
  let stopReason: Error | null = null;
  const stopped = new AbortController();
  const stop = () => stopped.abort();
  options.signal?.addEventListener('abort', stop);
  if (options.signal?.aborted) stop();
  let worker: Worker<ImageJobData, EncodedJobResult> | null = null;
  let thread: PipelineThread | null = null;
  // the thread's start-up (its modules, the pack's sessions: seconds) overlaps the wait for a coordinator
  const opening = options.packDir ? PipelineThread.open(options.packDir) : null;
  opening?.catch(() => {}); // awaited below, where its failure is reported
  const loop = monitorEventLoopDelay({ resolution: 20 });
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
    if (opening) thread = await opening;
    const runJob = async (data: ImageJobData): Promise<ImageResult> => {
      const result = await (thread ? thread.run(data) : runImageJob(options.stages!, data));
      if (result.status === 'failed') say(`${data.entry.name}: ${result.error?.message ?? 'failed'}`);
      return result;
    };
    say(`serving ${run.project} with pack "${options.pack.name}" as ${name}`);
    loop.enable();

    worker = new Worker<ImageJobData, EncodedJobResult>(
      queueName,
      async (job: Job<ImageJobData, EncodedJobResult>, token?: string) => {
        if (job.data.packDigest !== digest) {
          // a run with another pack: give the job back unchanged and stop taking jobs
          await job.moveToWait(token);
          stopReason = new Error(
            `job ${job.id} was queued for another model pack (digest ${job.data.packDigest}, this worker's ${digest}); stopping`,
          );
          stop();
          throw new WaitingError();
        }
        const result = await runJob(job.data);
        if (result.status === 'failed') summary.failedImages++;
        return encodeJobResult(result);
      },
      {
        connection,
        name,
        concurrency: options.concurrency ?? 1,
        lockDuration: options.lockMs ?? 30_000,
        stalledInterval: options.stalledCheckMs ?? 30_000,
        maxStalledCount: options.maxStalls ?? DEFAULT_MAX_STALLS,
      },
    );
    worker.on('error', (e) =>
      warnings.warn(/renew lock/.test(e.message) ? 'lock' : 'worker', `worker: ${e.message}`),
    );
    worker.on('lockRenewalFailed', (jobIds: string[]) => {
      summary.lockRenewalsMissed += jobIds.length;
    });
    worker.on('completed', () => {
      summary.jobs++;
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
    await (thread ?? (await opening?.catch(() => null)))?.close();
    loop.disable();
    summary.maxLoopDelayMs = Number.isFinite(loop.max) ? loop.max / 1e6 : 0;
    warnings.flush();
    connection.disconnect();
  }
  if (stopReason) throw stopReason;
  return summary;
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
