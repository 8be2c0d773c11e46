/**
 * Queued runs in the app, through the engine facade with a real Redis and real worker processes (`pseudo-ris
 * worker`) on the demo pack:
 * (a) `run:start` with `queue` coordinates the run in the engine: `run:progress` carries the queue's counts up to every
 *     image, each commit is a `run:image`, and the project equals a local run's;
 * (b) a project coordinated by another process (`pseudo-ris generate --queue`) is shown as it runs: `run:status` says
 *     `elsewhere`, runs of the app are refused, progress and commits arrive as events; a coordinator killed with
 *     SIGKILL ends the shown run as failed, and its restart is shown again until it completes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  QueueProgressSchema,
  type ImagePage,
  type ImageSummary,
  type ProjectInfo,
  type RunFinished,
  type RunProgress,
  type RunStatus,
} from '../../shared/api.ts';
import { ensureDemoPack } from '../demo/index.ts';
import { readQueueProgress } from '../pipeline/queue/progress-file.ts';
import { Project } from '../pipeline/store/index.ts';
import { startTestEngine, type TestEngine } from '../testing/engine.ts';
import { withoutTimings, writeScenes } from '../testing/fixtures.ts';
import { testRedis, type TestRedis } from '../testing/redis.ts';

const CLI = resolve(import.meta.dirname, '../../../bin/pseudo-ris.mjs');
const SKIP = 'no Redis: set PSEUDO_RIS_TEST_REDIS_URL or install redis-server (.ci/run does both)';
let redis: TestRedis | null = null;
let testEngine: TestEngine;
const events: [string, unknown][] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  redis = await testRedis();
  if (!redis) return;
  await ensureDemoPack();
  testEngine = await startTestEngine('pris-queued-');
  testEngine.engine.onEvent((event, payload) => events.push([event, payload]));
});

afterAll(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  await Promise.all(children.map(exited));
  await testEngine?.close();
  await redis?.stop();
});

const call = <T>(channel: string, params: unknown = {}) =>
  testEngine.engine.request(channel as never, params) as Promise<T>;

function exited(child: ChildProcess): Promise<unknown> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', r));
}

/** Starts a CLI process; its stderr is kept for failure messages. */
function cli(args: string[], logs: string[], label: string): ChildProcess {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.on('data', (d: Buffer) => logs.push(`${label}: ${d.toString().trimEnd()}`));
  children.push(child);
  return child;
}

/** The next event `event` whose payload passes `match`, among those emitted from now on. */
function nextEvent<T>(event: string, match: (payload: T) => boolean = () => true, timeoutMs = 120_000) {
  return new Promise<T>((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${event} within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = testEngine.engine.onEvent((name, payload) => {
      if (name !== event || !match(payload as T)) return;
      clearTimeout(timer);
      off();
      resolvePromise(payload as T);
    });
  });
}

async function dropQueue(name: string): Promise<void> {
  const connection = new Redis(redis!.url, { maxRetriesPerRequest: null });
  const queue = new Queue(name, { connection });
  try {
    await queue.obliterate({ force: true });
    await connection.del(`pseudo-ris:${name}:run`);
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

const byId = <T extends { image: { id: number } }>(a: T, b: T) => a.image.id - b.image.id;
/** A project's results without their timings. */
const comparable = (dir: string) => [...[...Project.open(dir).results()]].map(withoutTimings).sort(byId);

describe('a queued run started from the app', () => {
  it(
    'coordinates the queue in the engine, reports the queue part of the progress and equals a local run',
    { timeout: 240_000 },
    async (context) => {
      if (!redis) return context.skip(SKIP);
      const base = join(testEngine.base, 'allowed', 'here');
      const scenes = await writeScenes(base, 2, 4);
      // imported masks: the run takes seconds, and the masks stage is not what this test is about; the file lies in
      // the image folder, which the project's runs may read
      const coco = join(scenes.scenes, 'masks.json');
      copyFileSync(scenes.coco, coco);
      const settings = {
        masks: { source: 'imported', importPath: coco },
        captions: { topK: [5], topP: [0.5], plainSampling: false },
      };
      // the expected results: a local run of the same two scenes
      await call<ProjectInfo>('project:create', { dir: join(base, 'local'), images: scenes.scenes });
      const localDone = nextEvent<RunFinished>('run:finished');
      await call('run:start', { settings });
      expect(await localDone).toMatchObject({ outcome: 'completed', imagesDone: 2, imagesFailed: 0 });

      await call<ProjectInfo>('project:create', { dir: join(base, 'queued'), images: scenes.scenes });
      await call('settings:set', { settings });
      const name = `app-${process.pid}-${Date.now()}`;
      const logs: string[] = [];
      const worker = cli(['worker', '--queue', redis.url, '--queue-name', name, '--name', 'w1'], logs, 'w1');
      const first = events.length;
      const finished = nextEvent<RunFinished>('run:finished');
      await expect(call('run:start', { queue: { url: 'http://127.0.0.1:1/0' } })).rejects.toThrow(
        'queue.url: the queue URL must be redis://[:password@]host:port/db, or rediss://… for TLS',
      );
      await expect(call('run:start', { queue: { url: redis.url, name }, force: true })).rejects.toThrow(
        'a queued run takes every image not done yet',
      );
      const status = await call<RunStatus>('run:start', { queue: { url: redis.url, name } });
      expect(status).toMatchObject({ state: 'running', coordinator: 'here', imagesTotal: 2 });
      await expect(call('run:pause')).rejects.toThrow('a queued run does not pause');
      const end = await finished;
      worker.kill('SIGTERM');
      await exited(worker);
      expect(end, logs.join('\n')).toMatchObject({ outcome: 'completed', imagesDone: 2, error: null });

      const progress = events
        .slice(first)
        .filter(([e]) => e === 'run:progress')
        .map(([, p]) => p as RunProgress);
      for (const p of progress) {
        expect(p.coordinator).toBe('here');
        expect(() => QueueProgressSchema.parse(p.queue)).not.toThrow();
      }
      expect(progress.at(-1)?.queue).toMatchObject({ done: 2, failed: 0, total: 2, stage: 'done', name });
      expect(progress.some((p) => p.queue!.done === 1 || p.queue!.workers === 1)).toBe(true);
      const committed = events
        .slice(first)
        .filter(([e, p]) => e === 'run:image' && (p as ImageSummary).status === 'done');
      expect(committed).toHaveLength(2);
      expect(await call<RunStatus | null>('run:status')).toBeNull();
      expect((await call<ImagePage>('project:images')).images.map((i) => i.status)).toEqual(['done', 'done']);
      expect(comparable(join(base, 'queued'))).toEqual(comparable(join(base, 'local')));
      await dropQueue(name);
    },
  );
});

describe('a project another process coordinates through a queue', () => {
  it(
    'is shown as it runs, ends as failed when its coordinator is killed and is shown again when it restarts',
    { timeout: 240_000 },
    async (context) => {
      if (!redis) return context.skip(SKIP);
      const base = join(testEngine.base, 'allowed', 'elsewhere');
      const scenes = await writeScenes(base, 2, 8);
      const settings = join(base, 'settings.json');
      writeFileSync(
        settings,
        JSON.stringify({
          masks: { source: 'imported', importPath: scenes.coco },
          captions: { topK: [5], topP: [0.5], plainSampling: false },
        }),
      );
      const project = join(base, 'project');
      const name = `cli-${process.pid}-${Date.now()}`;
      const logs: string[] = [];
      const coordinatorArgs = [
        'generate',
        scenes.scenes,
        '--project',
        project,
        '--settings',
        settings,
        '--no-progress',
        '--queue',
        redis.url,
        '--queue-name',
        name,
      ];
      const running = () => {
        try {
          return readQueueProgress(project)?.stage === 'running';
        } catch {
          return false;
        }
      };
      // no worker yet: the coordinator queues both images and waits
      let coordinator = cli(coordinatorArgs, logs, 'coordinator');
      await expect.poll(running, { timeout: 60_000, interval: 100 }).toBe(true);
      await call<ProjectInfo>('project:open', { dir: project });
      await expect
        .poll(() => call<RunStatus | null>('run:status'), { timeout: 10_000, interval: 100 })
        .toMatchObject({ coordinator: 'elsewhere', state: 'running', imagesDone: 0, imagesTotal: 2 });
      await expect(call('run:start')).rejects.toThrow(
        /being run through a queue by another process \(pid \d+@.*\); this app shows its progress/,
      );
      await expect(call('run:cancel')).rejects.toThrow('being run through a queue by another process');

      // the coordinator dies: the shown run ends as failed, saying how to resume
      const stopped = nextEvent<RunFinished>('run:finished');
      coordinator.kill('SIGKILL');
      await exited(coordinator);
      expect(await stopped).toMatchObject({ outcome: 'failed', imagesDone: 0 });
      expect((await stopped).error).toMatch(
        /the coordinator \(process \d+ on .*\) stopped without finishing: 0 of 2 images are committed; run the same command again to resume/,
      );
      expect(await call('run:status')).toBeNull();

      // restarted with a worker: shown until it completes, each commit as it lands
      const first = events.length;
      const finished = nextEvent<RunFinished>('run:finished');
      coordinator = cli(coordinatorArgs, logs, 'coordinator');
      const worker = cli(['worker', '--queue', redis.url, '--queue-name', name, '--name', 'w1'], logs, 'w1');
      const end = await finished;
      expect(end, logs.join('\n')).toMatchObject({ outcome: 'completed', imagesDone: 2, error: null });
      await exited(coordinator);
      expect(coordinator.exitCode, logs.join('\n')).toBe(0);
      worker.kill('SIGTERM');
      await exited(worker);

      const progress = events
        .slice(first)
        .filter(([e]) => e === 'run:progress')
        .map(([, p]) => p as RunProgress);
      expect(progress.length).toBeGreaterThan(0);
      for (const p of progress) {
        expect(p.coordinator).toBe('elsewhere');
        expect(() => QueueProgressSchema.parse(p.queue)).not.toThrow();
        expect(p.queue!.coordinator.pid).toBe(coordinator.pid);
      }
      expect(progress.at(-1)?.queue).toMatchObject({ done: 2, total: 2, stage: 'done', name });
      const committed = events
        .slice(first)
        .filter(([e, p]) => e === 'run:image' && (p as ImageSummary).status === 'done')
        .map(([, p]) => (p as ImageSummary).id);
      expect(committed.sort()).toEqual(['1', '2']);
      // what the app shows is the project on disk
      const images = (await call<ImagePage>('project:images')).images;
      expect(images.map((i) => i.status)).toEqual(['done', 'done']);
      const results = [...[...Project.open(project).results()]].sort(byId);
      expect(images.map((i) => i.candidates)).toEqual(results.map((r) => r.candidates.length));
      expect(existsSync(join(project, 'project.lock'))).toBe(false);
      expect(await call('run:status')).toBeNull();
      await dropQueue(name);
    },
  );
});
