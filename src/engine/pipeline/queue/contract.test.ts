/**
 * The queue's contract with a real Redis (a private redis-server, so a FLUSHALL touches no other test): images with
 * the same bytes each get their result; a corrupt image exits 2 and `--retry-failed --queue` fixes it, as locally; a
 * job given up after stalls is not the image's failure; a FLUSHALL is repaired for a fresh worker; a listener that
 * never answers, a refused database index and a SIGTERM during the check end in bounded time; passwords are masked
 * whatever their characters; results travel as compact commit-log lines and the events stream is capped.
 */
import { spawn } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDemoPack } from '../../demo/index.ts';
import { fastSettings, withoutTimings, writeScenes } from '../../testing/fixtures.ts';
import { freePort, hasRedisServer, startRedisServer, type TestRedis } from '../../testing/redis.ts';
import { openStages, type PackStages } from '../engine.ts';
import { runProject } from '../run.ts';
import { Project } from '../store/index.ts';
import { runCoordinator } from './coordinator.ts';
import { decodeJobResult, encodeJobResult, entryJobId, runKey } from './jobs.ts';
import { checkRedis, parseRedisUrl, redactUrl, RepeatedWarnings } from './redis.ts';
import { runWorker } from './worker.ts';

const CLI = resolve(import.meta.dirname, '../../../../bin/pseudo-ris.mjs');
let dir: string;
let scenes: { scenes: string; coco: string };
let stages: PackStages;
let redis: TestRedis | null = null;
let silent: Server;
let silentPort = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pseudo-ris-queue-contract-'));
  scenes = await writeScenes(dir, 3, 43);
  stages = await openStages(await ensureDemoPack());
  if (hasRedisServer()) redis = await startRedisServer();
  // a TCP listener that accepts and never answers (not a Redis)
  silent = createServer(() => {});
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  silentPort = (silent.address() as { port: number }).port;
});

afterAll(async () => {
  await stages?.dispose();
  await redis?.stop();
  silent?.close();
});

const byId = <T extends { image: { id: number } }>(a: T, b: T) => a.image.id - b.image.id;
const results = (project: string) => [...Project.open(project).results()].map(withoutTimings).sort(byId);

/** Runs the CLI; resolves with its exit code (or signal), stdout and stderr. */
function cli(
  args: string[],
  options: {
    env?: Record<string, string>;
    onStderr?: (text: string, kill: (s: NodeJS.Signals) => void) => void;
  } = {},
): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string; ms: number }> {
  const t0 = Date.now();
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...options.env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    options.onStderr?.(stderr, (s) => child.kill(s));
  });
  return new Promise((done) =>
    child.on('exit', (code, signal) => done({ code, signal, stdout, stderr, ms: Date.now() - t0 })),
  );
}

/** An in-process worker on the test's stages until the returned stop is called. */
function worker(url: string, queueName: string): () => Promise<{ jobs: number }> {
  const stop = new AbortController();
  const running = runWorker({ redisUrl: url, queueName, stages, pack: stages.packInfo, signal: stop.signal });
  return async () => {
    stop.abort();
    return running;
  };
}

describe('images with identical bytes', () => {
  it('are computed once and each committed with its own result, equal to a local run', async (context) => {
    if (!redis) return context.skip('redis-server is not installed');
    // generated masks read nothing by name: one job serves both copies
    const settings = fastSettings(scenes.coco, { seed: 4, masks: { source: 'generated', pointsPerSide: 2 } });
    const images = join(dir, 'dup-images');
    mkdirSync(images);
    copyFileSync(join(scenes.scenes, 'scene-0000.png'), join(images, 'a.png'));
    copyFileSync(join(scenes.scenes, 'scene-0000.png'), join(images, 'b.png'));
    copyFileSync(join(scenes.scenes, 'scene-0001.png'), join(images, 'c.png'));
    const local = join(dir, 'dup-local');
    await runProject({ project: local, images, settings, stages, pack: stages.packInfo });
    const queueName = `dup-${process.pid}`;
    const stop = worker(redis.url, queueName);
    const summary = await runCoordinator({
      project: join(dir, 'dup-queued'),
      images,
      settings,
      pack: stages.packInfo,
      redisUrl: redis.url,
      queueName,
    });
    expect((await stop()).jobs).toBe(2);
    expect(summary).toMatchObject({ imagesDone: 3, imagesFailed: 0, committed: 3 });
    expect(results(join(dir, 'dup-queued'))).toEqual(results(local));
    expect(results(local).map((r) => r.image.name)).toEqual(['a.png', 'b.png', 'c.png']);
  });

  it('get a job each when the settings read inputs by file name (imported masks)', () => {
    const settings = fastSettings(scenes.coco);
    const a = { id: 1, path: '/x/a.png', sha256: 'f'.repeat(64) };
    const b = { id: 2, path: '/y/b.png', sha256: 'f'.repeat(64) };
    expect(entryJobId(a, settings, 'd')).not.toBe(entryJobId(b, settings, 'd'));
    const generated = fastSettings(scenes.coco, { masks: { source: 'generated' } });
    expect(entryJobId(a, generated, 'd')).toBe(entryJobId(b, generated, 'd'));
  });
});

describe('one exit-code and retry contract with a local run', () => {
  it('exits 2 naming a corrupt image, and --retry-failed --queue runs it again once fixed', async (context) => {
    if (!redis) return context.skip('redis-server is not installed');
    const images = join(dir, 'corrupt-images');
    cpSync(scenes.scenes, images, { recursive: true });
    // too large to read (sparse: no disk): failed as a local run fails it, and not hashed, so it may be fixed
    const broken = join(images, 'scene-0002.png');
    writeFileSync(broken, '');
    truncateSync(broken, 3 * 1024 ** 3);
    const project = join(dir, 'corrupt-project');
    const queueName = `corrupt-${process.pid}`;
    const args = [
      'generate',
      images,
      '--project',
      project,
      '--masks',
      scenes.coco,
      '--no-plain',
      '--no-progress',
    ];
    const queued = [...args, '--queue', redis.url, '--queue-name', queueName];
    let stop = worker(redis.url, queueName);
    const first = await cli(queued);
    await stop();
    expect(first.code, first.stderr).toBe(2);
    expect(first.stdout).toMatch(/done: 3\/3 images \(0 already committed, 1 failed\)/);
    expect(first.stderr).toMatch(
      /failed: scene-0002\.png: too-large: .*\n[^]*fix the files, then run again with --retry-failed/,
    );

    rmSync(broken);
    copyFileSync(join(scenes.scenes, 'scene-0002.png'), broken);
    stop = worker(redis.url, queueName);
    const retried = await cli([...queued, '--retry-failed']);
    await stop();
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stdout).toMatch(/done: 3\/3 images \(2 already committed, 0 failed\)/);
    expect([...Project.open(project).results()].filter((r) => r.status === 'failed')).toEqual([]);
  }, 120_000);

  it('leaves an image whose job stalled past --max-stalls pending, not failed, and the next run does it', async (context) => {
    if (!redis) return context.skip('redis-server is not installed');
    const queueName = `stall-${process.pid}`;
    const images = join(dir, 'stall-images');
    mkdirSync(images);
    copyFileSync(join(scenes.scenes, 'scene-0000.png'), join(images, 'scene-0000.png'));
    const project = join(dir, 'stall-project');
    const settings = fastSettings(scenes.coco);
    // a worker that takes the job and never renews its lock: as one killed, or one whose event loop is blocked
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const dying = new Worker(queueName, () => new Promise(() => {}), {
      connection,
      // it takes the job again after each stall (its earlier, hung calls hold their slots)
      concurrency: 10,
      lockDuration: 300,
      skipLockRenewal: true,
      stalledInterval: 200,
      maxStalledCount: 2,
    });
    dying.on('error', () => {});
    try {
      const summary = await runCoordinator({
        project,
        images,
        settings,
        pack: stages.packInfo,
        redisUrl: redis.url,
        queueName,
      });
      expect(summary.imagesDone).toBe(0);
      expect(summary.imagesFailed).toBe(0);
      expect(summary.stalled).toEqual([
        expect.objectContaining({ name: 'scene-0000.png', reason: expect.stringMatching(/stalled/) }),
      ]);
      expect([...Project.open(project).results()]).toEqual([]);
    } finally {
      await dying.close(true);
      connection.disconnect();
    }
    const stop = worker(redis.url, queueName);
    const again = await runCoordinator({
      project,
      settings,
      pack: stages.packInfo,
      redisUrl: redis.url,
      queueName,
    });
    await stop();
    expect(again).toMatchObject({ imagesDone: 1, imagesFailed: 0, stalled: [] });
  }, 60_000);
});

describe('a flushed Redis', () => {
  it('is repaired by the sweep: the run key and the jobs come back, and a fresh worker finishes the run', async (context) => {
    if (!redis) return context.skip('redis-server is not installed');
    const queueName = `flush-${process.pid}`;
    const admin = new Redis(redis.url);
    let flushed = false;
    let stop: (() => Promise<unknown>) | null = null;
    try {
      const summary = await runCoordinator({
        project: join(dir, 'flush-project'),
        images: scenes.scenes,
        settings: fastSettings(scenes.coco),
        pack: stages.packInfo,
        redisUrl: redis.url,
        queueName,
        progressMs: 100,
        sweepMs: 500,
        onProgress: (p) => {
          if (p.stage !== 'running' || flushed) return;
          flushed = true;
          // no worker yet: everything queued is lost, the run key too
          void admin.flushall().then(() => {
            // a fresh worker after the flush: it must not wait for a coordinator forever
            setTimeout(() => (stop = worker(redis!.url, queueName)), 200);
          });
        },
      });
      expect(summary).toMatchObject({ imagesDone: 3, committed: 3 });
      expect(await admin.exists(runKey(queueName))).toBe(1);
    } finally {
      await (stop as (() => Promise<unknown>) | null)?.();
      admin.disconnect();
    }
  }, 60_000);
});

describe('no hangs', () => {
  it('refuses a listener that never answers, within the check time', async () => {
    const t0 = Date.now();
    await expect(checkRedis(`redis://127.0.0.1:${silentPort}/0`, { timeoutMs: 1500 })).rejects.toThrow(
      new RegExp(`cannot reach Redis at redis://127\\.0\\.0\\.1:${silentPort}/0: no answer within 2 s`),
    );
    // the check's own timeout answered (the message says so); how long it took is printed, not asserted
    console.log(`no-answer listener refused after ${Date.now() - t0} ms`);
  });

  it('refuses a database index Redis rejects, naming it (exit 1, no project made)', async (context) => {
    if (!redis) return context.skip('redis-server is not installed');
    const url = redis.url.replace(/\/0$/, '/99');
    const refusal =
      /--queue redis:\/\/127\.0\.0\.1:\d+\/99: Redis refuses database index 99 \(.*DB index is out of range/;
    await expect(checkRedis(url, { timeoutMs: 3000 })).rejects.toThrow(refusal);
    const project = join(dir, 'db99-project');
    const run = await cli(['generate', scenes.scenes, '--project', project, '--queue', url]);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(refusal);
    expect(existsSync(project)).toBe(false);
  }, 30_000);

  // the signal must be heard while the check of Redis is under way (it would take 8 s): stopped, not refused
  for (const [command, stopping, exitCode] of [
    ['worker', 'stopping after the jobs in hand', 0],
    ['generate', 'stopping the coordinator', 130],
  ] as const)
    it(`has ${command} stop on SIGTERM while Redis does not answer (exit ${exitCode})`, async () => {
      const url = `redis://127.0.0.1:${silentPort}/0`;
      const project = join(dir, 'sigterm-project');
      const args = command === 'worker' ? [] : [scenes.scenes, '--project', project];
      let t0 = 0;
      const end = await cli([command, ...args, '--queue', url], {
        onStderr: (text, kill) => {
          if (t0 === 0 && /(connecting to|coordinating) redis:/.test(text)) {
            t0 = Date.now();
            kill('SIGTERM');
          }
        },
      });
      console.info(`${command}: stopped ${Date.now() - t0} ms after SIGTERM`);
      expect(end.signal, end.stderr).toBeNull();
      expect(end.code, end.stderr).toBe(exitCode);
      expect(end.stderr).toContain(stopping);
      expect(end.stderr).not.toContain('cannot reach Redis');
    }, 30_000);
});

describe('passwords', () => {
  it.each(['pa/ss', 'p@ss', 'p:ss', 'p%2Fss', 'p%ss', '@/:%'])('never prints %s', (password) => {
    const url = `redis://:${password}@127.0.0.1:6379/0`;
    expect(redactUrl(url)).toBe('redis://:***@127.0.0.1:6379/0');
    expect(redactUrl(`rediss://user:${password}@host:1/2`)).toBe('rediss://user:***@host:1/2');
    let message = '';
    try {
      parseRedisUrl(url);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message.replace(/redis:\/\/:\*\*\*@/, '')).not.toContain(password);
  });

  it('says how to write a password holding a reserved character', () => {
    expect(() => parseRedisUrl('redis://:pa/ss@127.0.0.1:6379/0')).toThrow(
      '--queue redis://:***@127.0.0.1:6379/0: the password holds a character a URL reserves (/ ? #); percent-encode it',
    );
  });
});

describe('results in Redis', () => {
  it("travel as the store's compact line and come back equal", () => {
    const result = { ...[...Project.open(join(dir, 'dup-local')).results()][0] };
    const encoded = encodeJobResult(result);
    expect(JSON.stringify(encoded).length).toBeLessThan(JSON.stringify(result).length / 2);
    expect(decodeJobResult(JSON.parse(JSON.stringify(encoded)))).toEqual(result);
    expect(() => decodeJobResult({ status: 'done' })).toThrow('a job result in an unknown form');
  });

  it('leave a capped events stream behind', async (context) => {
    if (!redis) return context.skip('redis-server is not installed');
    const queueName = `cap-${process.pid}`;
    const admin = new Redis(redis.url);
    // Redis trims `MAXLEN ~` streams by whole nodes (100 entries by default): small nodes make a small cap visible
    await admin.config('SET', 'stream-node-max-entries', '2');
    admin.disconnect();
    const stop = worker(redis.url, queueName);
    await runCoordinator({
      project: join(dir, 'cap-project'),
      images: scenes.scenes,
      settings: fastSettings(scenes.coco),
      pack: stages.packInfo,
      redisUrl: redis.url,
      queueName,
      eventsMaxLen: 5,
    });
    await stop();
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(queueName, { connection });
    try {
      // a node over the cap at most, not the ~15 events of 3 images
      expect(await connection.xlen(queue.keys.events)).toBeLessThanOrEqual(7);
    } finally {
      await queue.close();
      connection.disconnect();
    }
  });
});

describe('warnings of an outage', () => {
  it('say each kind of error once while Redis is down, and count the repeats when it is back', async (context) => {
    if (!hasRedisServer()) return context.skip('redis-server is not installed');
    const port = await freePort();
    const serve = () =>
      spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        {
          stdio: 'ignore',
        },
      );
    let server = serve();
    const url = `redis://127.0.0.1:${port}/0`;
    const warnings: string[] = [];
    const stop = new AbortController();
    try {
      await expect
        .poll(() =>
          checkRedis(url, { timeoutMs: 500 }).then(
            () => true,
            () => false,
          ),
        )
        .toBe(true);
      let down = false;
      const coordinator = runCoordinator({
        project: join(dir, 'outage-project'),
        images: scenes.scenes,
        settings: fastSettings(scenes.coco),
        pack: stages.packInfo,
        redisUrl: url,
        queueName: 'outage',
        progressMs: 100,
        signal: stop.signal,
        onWarning: (m) => warnings.push(m),
        onProgress: (p) => {
          if (p.stage !== 'running' || down) return;
          down = true;
          server.kill('SIGKILL');
        },
      });
      await expect.poll(() => down).toBe(true);
      // three seconds down: ioredis retries (every 50…2000 ms) on both connections, the progress poll fails
      await new Promise((r) => setTimeout(r, 3000));
      server = serve();
      await expect
        .poll(() => warnings.some((w) => /repeated \d+ more time/.test(w)), { timeout: 15_000 })
        .toBe(true);
      stop.abort();
      await coordinator;
    } finally {
      server.kill('SIGKILL');
    }
    const said = warnings.filter((w) => !/repeated \d+ more time/.test(w));
    // one line per kind (the connection's error, the progress poll's…), not one per retry and connection
    expect(new Set(said.map((w) => w.split(':')[0])).size).toBe(said.length);
    expect(said.length).toBeLessThanOrEqual(4);
  }, 60_000);

  it('are said once per kind, with the repeats counted on flush', () => {
    const said: string[] = [];
    const warnings = new RepeatedWarnings((m) => said.push(m));
    for (let k = 0; k < 17; k++) warnings.warn('redis', `Redis: ECONNREFUSED ${k}`);
    warnings.warn('queue', 'queue: down');
    warnings.flush();
    warnings.warn('redis', 'Redis: again');
    expect(said).toEqual([
      'Redis: ECONNREFUSED 0',
      'queue: down',
      'redis: that warning repeated 16 more time(s)',
      'Redis: again',
    ]);
  });
});
