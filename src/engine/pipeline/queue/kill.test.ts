/**
 * The queue under SIGKILL, through the real CLI and a real Redis: a coordinator (`generate --queue`) and three
 * workers run as separate processes on the demo pack; at seeded random moments one of them is SIGKILLed and started
 * again, at least 20 times. The final project must equal a local single-process run with the same seed: every
 * image once in results.jsonl, each result identical, nothing left in the queue.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDemoPack } from '../../demo/index.ts';
import { decodeHeader, Project, RESULTS_FILE } from '../store/index.ts';
import { withoutTimings, writeScenes } from '../../testing/fixtures.ts';
import { testRedis, type TestRedis } from '../../testing/redis.ts';
import { mulberry32 } from '../../../shared/testing/random.ts';

const CLI = resolve(import.meta.dirname, '../../../../bin/pseudo-ris.mjs');
const IMAGES = 24;
const KILLS = 23;
let redis: TestRedis | null = null;
let dir: string;
let scenes: string;
let settingsFile: string;

beforeAll(async () => {
  redis = await testRedis();
  if (!redis) return;
  await ensureDemoPack();
  dir = mkdtempSync(join(tmpdir(), 'pseudo-ris-queue-kill-'));
  const written = await writeScenes(dir, IMAGES, 31);
  scenes = written.scenes;
  settingsFile = join(dir, 'settings.json');
  writeFileSync(
    settingsFile,
    JSON.stringify({
      masks: { source: 'imported', importPath: written.coco },
      captions: { topK: [5], topP: [0.5], plainSampling: false },
    }),
  );
});

afterAll(async () => {
  await redis?.stop();
});

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
}

describe('a queued run whose coordinator and workers are SIGKILLed at random', () => {
  // bounded: about 70 s on an idle 2-core machine; 7 minutes at most on a heavily loaded one
  it(
    'ends equal to a local single-process run, with every image committed once',
    { timeout: 420_000 },
    async (context) => {
      if (!redis) {
        context.skip('no Redis: set PSEUDO_RIS_TEST_REDIS_URL or install redis-server (.ci/run does both)');
        return;
      }
      const url = redis.url;
      const queueName = `kill-${process.pid}-${Date.now()}`;
      const local = join(dir, 'local');
      const common = ['--settings', settingsFile, '--seed', '3', '--no-progress'];
      const reference = spawnSync(
        process.execPath,
        [CLI, 'generate', scenes, '--project', local, ...common],
        {
          encoding: 'utf8',
        },
      );
      expect(reference.status, reference.stderr).toBe(0);

      const queued = join(dir, 'queued');
      const coordinatorArgs = [CLI, 'generate', scenes, '--project', queued, ...common, '--queue', url];
      coordinatorArgs.push('--queue-name', queueName);
      // short locks so a killed worker's job is re-run within seconds; many stalls allowed: this test kills a lot
      const workerArgs = (k: number) => [
        CLI,
        'worker',
        '--queue',
        url,
        '--queue-name',
        queueName,
        '--name',
        `w${k}`,
        '--lock-ms',
        '5000',
        '--stalled-check-ms',
        '2000',
        '--max-stalls',
        '1000',
      ];
      const logs: string[] = [];
      // a process counts as working once it says so: a worker when it serves the project, the coordinator when it
      // reports progress; kills land in that working life (a kill during start-up tests nothing)
      const working = new Set<ChildProcess>();
      const start = (args: string[], label: string) => {
        const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
        child.stderr?.on('data', (d: Buffer) => {
          const text = d.toString();
          logs.push(`${label}: ${text.trimEnd()}`);
          if (/^serving |\] running /m.test(text)) working.add(child);
        });
        return child;
      };
      const procs: ChildProcess[] = [start(coordinatorArgs, 'coordinator')];
      for (let k = 1; k <= 3; k++) procs.push(start(workerArgs(k), `w${k}`));
      const next = mulberry32(2026);
      const kills: string[] = [];
      const kill = async (victim: number) => {
        const child = procs[victim];
        child.kill('SIGKILL');
        const end = await exited(child);
        working.delete(child);
        kills.push(`${victim === 0 ? 'coordinator' : `w${victim}`}:${end.signal ?? end.code}`);
        procs[victim] =
          victim === 0 ? start(coordinatorArgs, 'coordinator') : start(workerArgs(victim), `w${victim}`);
      };
      const committed = () => {
        try {
          return readFileSync(join(queued, RESULTS_FILE), 'utf8').split('\n').length - 1;
        } catch {
          return 0;
        }
      };
      try {
        // first, kills certain to land mid-run: right after a commit, a working worker (the others are mid-job),
        // then the coordinator (results may be arriving), then a worker again
        for (const target of ['worker', 'coordinator', 'worker'] as const) {
          const before = committed();
          const deadline = Date.now() + 120_000;
          while (committed() === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
          const victim =
            target === 'coordinator'
              ? 0
              : ([1, 2, 3].find((k) => working.has(procs[k])) ?? 1 + Math.floor(next() * 3));
          await kill(victim);
        }
        // then kills at random moments (start-up included), a quarter of them at the coordinator, close enough together
        // (0.15–0.75 s) that an idle machine cannot finish the 24 images before the 20th kill
        while (kills.length < KILLS) {
          await new Promise((r) => setTimeout(r, 150 + next() * 600));
          if (procs[0].exitCode === 0) break; // the run finished: nothing left to kill it in
          await kill(next() < 0.25 ? 0 : 1 + Math.floor(next() * 3));
        }
        expect(kills.length, `kills: ${kills.join(' ')}`).toBeGreaterThanOrEqual(20);
        const end = await Promise.race([
          exited(procs[0]),
          new Promise<null>((r) => setTimeout(() => r(null), 240_000)),
        ]);
        expect(end, `coordinator did not finish; last logs:\n${logs.slice(-30).join('\n')}`).toEqual({
          code: 0,
          signal: null,
        });
      } finally {
        for (const child of procs)
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await Promise.all(procs.map(exited));
      }

      const lines = readFileSync(join(queued, RESULTS_FILE), 'utf8').split('\n');
      expect(lines.at(-1)).toBe('');
      const ids = lines.slice(0, -1).map((l) => decodeHeader(l).id);
      expect([...ids].sort((a, b) => a - b)).toEqual(Array.from({ length: IMAGES }, (_, k) => k + 1));
      const byId = <T extends { image: { id: number } }>(a: T, b: T) => a.image.id - b.image.id;
      const expected = [...[...Project.open(local).results()]].map(withoutTimings).sort(byId);
      const actual = [...[...Project.open(queued).results()]].map(withoutTimings).sort(byId);
      expect(actual).toEqual(expected);

      // every committed job was removed: nothing of this run is left in Redis
      const connection = new Redis(url, { maxRetriesPerRequest: null });
      const queue = new Queue(queueName, { connection });
      try {
        const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed');
        expect(counts).toEqual({ waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0 });
        await queue.obliterate({ force: true });
        await connection.del(`pseudo-ris:${queueName}:run`);
      } finally {
        await queue.close();
        connection.disconnect();
      }
    },
  );
});
