/**
 * Queue figures, printed, never asserted: images/minute of a queued run with 1, 2 and 3 local worker processes on
 * the demo pack (a local single-process run for comparison), the coordinator's own time per image (enqueue +
 * collect + commit; goal < 5 ms), whether each queued project equals the local run, the lock renewals the workers
 * missed (goal 0: each may run a job twice) with their longest event-loop stall, and Redis memory per image (the
 * peak of `used_memory` over the run's start, per image; results travel deflated, the events stream is capped).
 * Redis: PSEUDO_RIS_TEST_REDIS_URL, else a private redis-server. Env: PSEUDO_RIS_BENCH_QUEUE_SCENES (default 24).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { ensureDemoPack } from '../src/engine/demo/index.ts';
import { openStages } from '../src/engine/pipeline/engine.ts';
import { runCoordinator } from '../src/engine/pipeline/queue/coordinator.ts';
import { runKey } from '../src/engine/pipeline/queue/jobs.ts';
import { testRedis } from '../src/engine/testing/redis.ts';
import { runProject } from '../src/engine/pipeline/run.ts';
import { Project } from '../src/engine/pipeline/store/index.ts';
import { fastSettings, withoutTimings, writeScenes } from '../src/engine/testing/fixtures.ts';

const CLI = resolve(import.meta.dirname, '../bin/pseudo-ris.mjs');

/** Prints the figures. */
export async function run(): Promise<void> {
  const count = Number(process.env.PSEUDO_RIS_BENCH_QUEUE_SCENES ?? 24);
  const redis = await testRedis();
  if (!redis) {
    console.log('queue bench skipped: no Redis (set PSEUDO_RIS_TEST_REDIS_URL or install redis-server)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'pseudo-ris-queue-bench-'));
  const stages = await openStages(await ensureDemoPack());
  try {
    const { scenes, coco } = await writeScenes(dir, count, 7);
    const settings = fastSettings(coco, { seed: 3 });
    console.log(
      `${count} scenes, imported masks, 1 top-k + 1 top-p setting; ${availableParallelism()} CPU cores; workers are separate processes`,
    );
    const localDir = join(dir, 'local');
    const t0 = performance.now();
    await runProject({ project: localDir, images: scenes, settings, stages, pack: stages.packInfo });
    const localSeconds = (performance.now() - t0) / 1000;
    console.log(`local single process: ${((count / localSeconds) * 60).toFixed(1)} images/min`);
    const canonical = (project: string) =>
      JSON.stringify(
        [...Project.open(project).results()]
          .map(withoutTimings)
          // a queued project's lines are in arrival order; compare per image
          .sort((a, b) => a.image.id - b.image.id),
      );
    const expected = canonical(localDir);

    for (const workers of [1, 2, 3]) {
      const queueName = `bench-${process.pid}-${workers}`;
      const procs: ChildProcess[] = [];
      const workerLines: string[] = [];
      // workers start first and wait for the coordinator: their start-up is not counted
      await Promise.all(
        Array.from({ length: workers }, (_, k) => {
          const child = spawn(
            process.execPath,
            [CLI, 'worker', '--queue', redis.url, '--queue-name', queueName, '--name', `w${k + 1}`],
            { stdio: ['ignore', 'pipe', 'pipe'] },
          );
          procs.push(child);
          child.stdout?.on('data', (d: Buffer) => workerLines.push(d.toString()));
          return new Promise<void>((ready, fail) => {
            child.stderr?.on('data', (d: Buffer) => {
              if (d.toString().includes('waiting for a coordinator')) ready();
            });
            child.once('exit', (code) => fail(new Error(`worker exited with ${code} before it was ready`)));
          });
        }),
      );
      const project = join(dir, `queued-${workers}`);
      const memory = new Redis(redis.url);
      const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await memory.info('memory'))?.[1] ?? 0);
      const baseline = await usedMemory();
      let peak = baseline;
      const sampler = setInterval(() => {
        void usedMemory().then((bytes) => (peak = Math.max(peak, bytes)));
      }, 100);
      try {
        const summary = await runCoordinator({
          project,
          images: scenes,
          settings,
          pack: stages.packInfo,
          redisUrl: redis.url,
          queueName,
        });
        clearInterval(sampler);
        const eventsBytes = Number(
          (await memory.call('MEMORY', 'USAGE', `bull:${queueName}:events`).catch(() => 0)) ?? 0,
        );
        const equal = canonical(project) === expected;
        const perImage = summary.coordinatorMs / summary.committed;
        const commit = summary.commitMs / summary.committed;
        const snapshot = summary.snapshotMs / summary.committed;
        console.log(
          `${workers} worker${workers > 1 ? 's' : ' '}: ${((count / summary.seconds) * 60).toFixed(1)} images/min · coordinator ${perImage.toFixed(2)} ms/image (of which ${commit.toFixed(2)} ms the store's fsynced commit, ${(perImage - commit).toFixed(2)} ms queue work; progress snapshot writes ${snapshot.toFixed(2)} ms/image, asynchronous) · results ${equal ? 'equal to' : 'DIFFERENT from'} the local run`,
        );
        console.log(
          `   Redis: peak ${((peak - baseline) / count / 1024).toFixed(1)} KiB/image over the start (${((peak - baseline) / 1024 / 1024).toFixed(1)} MiB for ${count}), events stream ${(eventsBytes / 1024).toFixed(0)} KiB at the end`,
        );
      } finally {
        clearInterval(sampler);
        memory.disconnect();
        for (const child of procs) child.kill('SIGTERM');
        await Promise.all(
          procs.map((c) => new Promise((r) => (c.exitCode !== null ? r(0) : c.once('exit', r)))),
        );
        const renewals = workerLines
          .join('')
          .matchAll(/(\d+) lock renewals missed, longest event-loop stall (\d+) ms/g);
        let missed = 0;
        let stall = 0;
        for (const [, n, ms] of renewals) {
          missed += Number(n);
          stall = Math.max(stall, Number(ms));
        }
        console.log(
          `   workers: ${missed} lock renewals missed, longest event-loop stall ${stall} ms (the pipeline runs in a thread of its own)`,
        );
        const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
        const queue = new Queue(queueName, { connection });
        await queue.obliterate({ force: true });
        await connection.del(runKey(queueName));
        await queue.close();
        connection.disconnect();
      }
    }
  } finally {
    await stages.dispose();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
