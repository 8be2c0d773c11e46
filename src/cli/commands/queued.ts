/**
 * The queue and shard options of `generate`: `--queue` makes it the coordinator of a Redis (BullMQ) run, `--shard`
 * keeps the images of one static shard. The workers are `pseudo-ris worker` (worker.ts).
 */
import { readFileSync } from 'node:fs';
import { Presets, SingleBar } from 'cli-progress';
import { readPackFacts } from '../../engine/pipeline/engine.ts';
import { inShard, parseShard } from '../../engine/pipeline/merge.ts';
import { runCoordinator } from '../../engine/pipeline/queue/coordinator.ts';
import { DEFAULT_ATTEMPTS, DEFAULT_QUEUE_NAME } from '../../engine/pipeline/queue/jobs.ts';
import { redactUrl } from '../../engine/pipeline/queue/redis.ts';
import { hashFile, listImages, Project } from '../../engine/pipeline/store/index.ts';
import type { QueueProgress } from '../../shared/api.ts';
import type { Settings } from '../../shared/settings.ts';
import { EXIT } from '../exit.ts';
import { resolvePackDir } from '../pack.ts';

/** The flags of `generate` this file reads. */
export interface QueueFlags {
  project: string;
  models?: string;
  progress?: boolean;
  retryFailed?: boolean;
  /** A URL, or `true` for `--queue` without one (the URL is then $PSEUDO_RIS_QUEUE_URL). */
  queue?: string | boolean;
  queueUrlFile?: string;
  queueName?: string;
  shipImages?: boolean;
  maxImageMib?: string;
  attempts?: string;
  shard?: string;
}

/** Help lines of the options (shared by `generate` and `worker`). */
export const QUEUE_OPTIONS_HELP = {
  queue:
    'coordinate a Redis work queue instead of running here: redis://[:password@]host:port/db (rediss:// for TLS); start `pseudo-ris worker` on each machine. Without a URL: $PSEUDO_RIS_QUEUE_URL (a password on the command line is visible in ps)',
  queueUrlFile: 'read the Redis URL from this file (keeps a password out of ps and shell history)',
  queueName: `queue name, to run several projects on one Redis (default "${DEFAULT_QUEUE_NAME}")`,
  shipImages: 'with --queue: put each image in its job (workers without shared storage)',
  maxImageMib: 'with --ship-images: largest image carried, MiB (default 32)',
  attempts: `with --queue: tries per image when the pipeline throws on it (a broken pack; default ${DEFAULT_ATTEMPTS}); a worker's death is not a try`,
  shard: 'only the images whose content hash falls in shard I of N (0 ≤ I < N), e.g. $SLURM_ARRAY_TASK_ID/8',
};

/** The environment variable a bare `--queue` (or a `worker` without `--queue`) reads the URL from. */
export const QUEUE_URL_VARIABLE = 'PSEUDO_RIS_QUEUE_URL';

/**
 * The Redis URL of `--queue <url>`, `--queue-url-file <file>` or, for a bare `--queue` (or none, when `required`),
 * $PSEUDO_RIS_QUEUE_URL; undefined when no queue is asked for. Messages never quote the file's content.
 */
export function queueUrl(
  flags: Pick<QueueFlags, 'queue' | 'queueUrlFile'>,
  options: { required?: boolean } = {},
): string | undefined {
  if (typeof flags.queue === 'string' && flags.queueUrlFile)
    throw new Error('give the Redis URL once: --queue <url> or --queue-url-file <file>');
  if (typeof flags.queue === 'string') return flags.queue;
  if (flags.queueUrlFile) {
    let text: string;
    try {
      text = readFileSync(flags.queueUrlFile, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      throw new Error(`--queue-url-file ${flags.queueUrlFile}: cannot be read (${code})`, { cause: error });
    }
    const url = text.trim();
    if (!url) throw new Error(`--queue-url-file ${flags.queueUrlFile} is empty`);
    return url;
  }
  if (flags.queue === true || options.required) {
    const url = process.env[QUEUE_URL_VARIABLE]?.trim();
    if (!url)
      throw new Error(
        `give the Redis URL: --queue <url>, --queue-url-file <file>, or $${QUEUE_URL_VARIABLE} (unset here)`,
      );
    return url;
  }
  return undefined;
}

/** The image paths of `images` in shard `spec` (`I/N`). */
export async function shardPaths(images: string, spec: string): Promise<string[]> {
  const { index, count } = parseShard(spec);
  const paths = listImages(images);
  const keep: string[] = [];
  for (const path of paths) if (inShard(await hashFile(path), index, count)) keep.push(path);
  return keep;
}

/** `generate --queue`: runs the coordinator with a progress display; exit code 130 when interrupted. */
export async function generateQueued(input: {
  flags: QueueFlags;
  images: string | string[] | undefined;
  settings: Settings;
  versions: Record<string, string>;
}): Promise<void> {
  const { flags } = input;
  // signals first: Redis and the pack may make the steps below wait
  const controller = new AbortController();
  let signals = 0;
  const onSignal = () => {
    signals++;
    if (signals > 1) process.exit(EXIT.interrupted);
    process.stderr.write(
      '\nstopping the coordinator (queued jobs stay in Redis; run the same command again to collect them)\n',
    );
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const reporter = queueReporter(flags.progress !== false && Boolean(process.stderr.isTTY));
  try {
    const url = queueUrl(flags);
    if (!url) throw new Error('--ship-images needs --queue <redis url>');
    // the pack's facts only (recorded in the project): the workers open the stages
    const pack = await readPackFacts(await resolvePackDir(flags.models));
    process.stderr.write(
      `coordinating ${redactUrl(url)} (queue "${flags.queueName ?? DEFAULT_QUEUE_NAME}")\n`,
    );
    const summary = await runCoordinator({
      project: flags.project,
      images: input.images,
      settings: input.settings,
      pack,
      versions: input.versions,
      redisUrl: url,
      retryFailed: flags.retryFailed === true,
      queueName: flags.queueName,
      shipImages: flags.shipImages,
      maxImageBytes:
        flags.maxImageMib === undefined
          ? undefined
          : positive('--max-image-mib', flags.maxImageMib) * 1024 * 1024,
      attempts: flags.attempts === undefined ? undefined : positive('--attempts', flags.attempts),
      onProgress: reporter.update,
      onWarning: (m) => process.stderr.write(`warning: ${m}\n`),
      signal: controller.signal,
    });
    reporter.stop();
    const perImage = summary.committed > 0 ? summary.coordinatorMs / summary.committed : 0;
    process.stdout.write(
      `${summary.cancelled ? 'stopped' : 'done'}: ${summary.imagesDone}/${summary.imagesTotal} images (${summary.imagesSkipped} already committed, ${summary.imagesFailed} failed) in ${summary.seconds.toFixed(1)} s via the queue, coordinator ${perImage.toFixed(2)} ms/image → ${summary.project}\n`,
    );
    for (const image of summary.stalled.slice(0, 20))
      process.stderr.write(
        `not finished: ${image.name}: ${image.reason} (its workers died or lost the job's lock)\n`,
      );
    if (summary.stalled.length > 20)
      process.stderr.write(`not finished: … and ${summary.stalled.length - 20} more\n`);
    if (summary.stalled.length > 0)
      process.stderr.write(
        'these images stay pending: run the same command again (raise --max-stalls on the workers if they keep dying)\n',
      );
    // the local run's contract (generate.ts): 130 interrupted, 2 when images failed (or, here, stayed unfinished)
    if (summary.cancelled) process.exitCode = EXIT.interrupted;
    else if (summary.imagesFailed > 0 || summary.stalled.length > 0) {
      process.exitCode = EXIT.imagesFailed;
      if (summary.imagesFailed > 0) reportFailedImages(summary.project);
    }
  } catch (error) {
    // stopped while Redis or the pack was still being checked: an interruption, not an error
    if (!controller.signal.aborted) throw error;
    process.exitCode = EXIT.interrupted;
  } finally {
    reporter.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Names the project's failed images on stderr (the first 20) and how to retry them: the local and queued runs' words. */
export function reportFailedImages(projectDir: string): void {
  const catalog = Project.open(projectDir).catalog;
  const { failed } = catalog.counts();
  let shown = 0;
  for (const r of catalog.results({ status: 'failed' })) {
    process.stderr.write(`failed: ${r.image.name}: ${r.error?.code ?? 'error'}: ${r.error?.message ?? ''}\n`);
    if (++shown === 20) break;
  }
  if (failed > 20) process.stderr.write(`failed: … and ${failed - 20} more\n`);
  process.stderr.write('fix the files, then run again with --retry-failed\n');
}

function positive(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} must be a positive number, got "${value}"`);
  return n;
}

/**
 * The queue part of a queued run's progress in words: waiting, active per worker, workers, failed, images/min, ETA.
 * The app's top bar says the same from the same {@link QueueProgress}.
 */
export function describeQueueProgress(p: QueueProgress): string {
  const active = Object.entries(p.active)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, n]) => `${name} ${n}`)
    .join(', ');
  const eta = p.etaSeconds === null ? '' : `, ETA ${Math.round(p.etaSeconds)} s`;
  return `${p.waiting} waiting · active ${active || 'none'} · ${p.workers} workers · ${p.failed} failed · ${p.rate.toFixed(1)} img/min${eta}`;
}

/** One line per change (plain) or a bar (terminal): done, failed, waiting, active per worker, throughput. */
function queueReporter(tty: boolean): { update: (p: QueueProgress) => void; stop: () => void } {
  if (tty) {
    const bar = new SingleBar(
      { format: '{bar} {value}/{total} images · {line}', hideCursor: true, clearOnComplete: false },
      Presets.shades_classic,
    );
    let started = false;
    return {
      update(p) {
        if (!started) bar.start(p.total, p.done, { line: describeQueueProgress(p) });
        else bar.update(p.done, { line: describeQueueProgress(p) });
        started = true;
      },
      stop() {
        if (started) bar.stop();
        started = false;
      },
    };
  }
  let last = '';
  return {
    update(p) {
      // a line when the counts change, not on every poll (the rate alone moves each second)
      const key = JSON.stringify([p.done, p.stage, p.waiting, p.active, p.workers, p.failed]);
      if (key !== last)
        process.stderr.write(`[${p.done}/${p.total}] ${p.stage} · ${describeQueueProgress(p)}\n`);
      last = key;
    },
    stop() {},
  };
}
