import type { Command } from 'commander';
import { readPackFacts } from '../../engine/pipeline/engine.ts';
import { DEFAULT_MAX_STALLS, DEFAULT_QUEUE_NAME } from '../../engine/pipeline/queue/jobs.ts';
import { redactUrl } from '../../engine/pipeline/queue/redis.ts';
import { runWorker } from '../../engine/pipeline/queue/worker.ts';
import { MODELS_OPTION_HELP, resolvePackDir } from '../pack.ts';
import { QUEUE_OPTIONS_HELP, queueUrl } from './queued.ts';

interface WorkerFlags {
  queue?: string;
  queueUrlFile?: string;
  queueName?: string;
  models?: string;
  device?: string;
  concurrency?: string;
  name?: string;
  lockMs?: string;
  stalledCheckMs?: string;
  maxStalls?: string;
}

/**
 * Registers `worker --queue <url>`: takes image jobs of a queued run (`generate --queue`) until Ctrl-C or SIGTERM,
 * which finish the jobs in hand first.
 */
export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('take image jobs from a Redis queue (see generate --queue) and run them on this machine')
    .option(
      '--queue <url>',
      'redis://[:password@]host:port/db, or rediss:// for TLS (or $PSEUDO_RIS_QUEUE_URL)',
    )
    .option('--queue-url-file <file>', QUEUE_OPTIONS_HELP.queueUrlFile)
    .option('--queue-name <name>', `queue name (default "${DEFAULT_QUEUE_NAME}")`)
    .option('--models <pack>', MODELS_OPTION_HELP)
    .option('--device <n>', 'GPU index for CUDA (sets CUDA_VISIBLE_DEVICES for this process)')
    .option('--concurrency <n>', 'jobs at once (default 1)')
    .option('--name <name>', 'name in the coordinator progress (default host:pid)')
    .option(
      '--lock-ms <ms>',
      "lock of an active job; a dead worker's job is re-run after about this (default 30000)",
    )
    .option('--stalled-check-ms <ms>', 'interval of the check for jobs of dead workers (default 30000)')
    .option(
      '--max-stalls <n>',
      `times a job may outlive its worker (or its lock) before it is given up; the image then stays pending, not failed (default ${DEFAULT_MAX_STALLS})`,
    )
    .action(async (flags: WorkerFlags) => {
      // signals first: everything below may wait (Redis, the pack), and a SIGTERM must never be ignored
      const controller = new AbortController();
      let signals = 0;
      const onSignal = () => {
        signals++;
        if (signals > 1) process.exit(130);
        process.stderr.write(
          '\nstopping after the jobs in hand (again to quit now; the queue re-runs them)\n',
        );
        controller.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        await serve(flags, controller.signal);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}

/** The worker itself, once signals are handled: the URL, the pack's facts, then {@link runWorker}. */
async function serve(flags: WorkerFlags, signal: AbortSignal): Promise<void> {
  const redisUrl = queueUrl(flags, { required: true })!;
  if (flags.device !== undefined) {
    if (!/^\d+$/.test(flags.device))
      throw new Error(`--device must be a GPU index (0, 1, …), got "${flags.device}"`);
    // read by the CUDA runtime when the first session is created (in the pipeline thread)
    process.env.CUDA_VISIBLE_DEVICES = flags.device;
  }
  // the facts here, the sessions in the pipeline thread (worker.ts)
  const packDir = await resolvePackDir(flags.models);
  const pack = await readPackFacts(packDir);
  process.stderr.write(
    `connecting to ${redactUrl(redisUrl)} (queue "${flags.queueName ?? DEFAULT_QUEUE_NAME}")\n`,
  );
  const summary = await runWorker({
    redisUrl,
    queueName: flags.queueName,
    packDir,
    pack,
    concurrency: optionalInteger('--concurrency', flags.concurrency),
    name: flags.name,
    lockMs: optionalInteger('--lock-ms', flags.lockMs),
    stalledCheckMs: optionalInteger('--stalled-check-ms', flags.stalledCheckMs),
    maxStalls: optionalInteger('--max-stalls', flags.maxStalls),
    signal,
    onEvent: (m) => process.stderr.write(`${m}\n`),
  });
  process.stdout.write(
    `worker ${summary.name}: ${summary.jobs} jobs (${summary.failedImages} failed images), ${summary.lockRenewalsMissed} lock renewals missed, longest event-loop stall ${summary.maxLoopDelayMs.toFixed(0)} ms\n`,
  );
}

function optionalInteger(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got "${value}"`);
  return n;
}
