/**
 * The queue's edges with a real Redis: an unreachable or refusing Redis is a clear error naming the URL (and no
 * project is made); a password in the URL works and is never printed; `--ship-images` runs workers that cannot see
 * the image files and gives the local run's results; an image over the shipping bound is refused before anything is
 * queued; a second enqueue of a job is a no-op.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDemoPack } from '../../demo/index.ts';
import { openStages, type PackStages } from '../engine.ts';
import { runProject } from '../run.ts';
import { Project } from '../store/index.ts';
import { fastSettings, withoutTimings, writeScenes } from '../../testing/fixtures.ts';
import { runCoordinator } from './coordinator.ts';
import { imageJobId, packDigest } from './jobs.ts';
import { checkRedis, redactUrl } from './redis.ts';
import { freePort, hasRedisServer, startRedisServer, type TestRedis } from '../../testing/redis.ts';
import { runWorker } from './worker.ts';

const CLI = resolve(import.meta.dirname, '../../../../bin/pseudo-ris.mjs');
let dir: string;
let scenes: { scenes: string; coco: string };
let stages: PackStages;
let secured: TestRedis | null = null;
const PASSWORD = 's3cret-pass';

beforeAll(async () => {
  await ensureDemoPack();
  dir = mkdtempSync(join(tmpdir(), 'pseudo-ris-queue-'));
  scenes = await writeScenes(dir, 3, 41);
  stages = await openStages(await ensureDemoPack());
  if (hasRedisServer()) secured = await startRedisServer(PASSWORD);
});

afterAll(async () => {
  await stages?.dispose();
  await secured?.stop();
});

describe('a Redis that is absent or refuses', () => {
  it('stops generate --queue with an error naming the URL, before any project is made', async () => {
    const port = await freePort(); // nothing listens there
    const project = join(dir, 'absent');
    const run = spawnSync(
      process.execPath,
      [
        CLI,
        'generate',
        scenes.scenes,
        '--project',
        project,
        '--masks',
        scenes.coco,
        '--queue',
        `redis://127.0.0.1:${port}/0`,
      ],
      { encoding: 'utf8' },
    );
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(
      new RegExp(`cannot reach Redis at redis://127\\.0\\.0\\.1:${port}/0: .*ECONNREFUSED`),
    );
    expect(existsSync(join(project, 'project.json'))).toBe(false);
  });

  it('rejects a URL that is not redis:// or rediss://', async () => {
    await expect(checkRedis('http://127.0.0.1:6379')).rejects.toThrow(
      '--queue http://127.0.0.1:6379 must start with redis:// or rediss:// (TLS), not http://',
    );
    await expect(checkRedis('redis://127.0.0.1:6379/x')).rejects.toThrow(
      'the path must be a database number',
    );
  });
});

describe('a Redis with a password', () => {
  it('refuses a missing or wrong password with the URL, the password masked', async (context) => {
    if (!secured) return context.skip('redis-server is not installed');
    const bare = `redis://127.0.0.1:${secured.port}/0`;
    await expect(checkRedis(bare)).rejects.toThrow(
      new RegExp(
        `cannot reach Redis at redis://127\\.0\\.0\\.1:${secured.port}/0: NOAUTH.*give the password in the URL`,
      ),
    );
    const wrong = `redis://:not-the-one@127.0.0.1:${secured.port}/0`;
    const error = await checkRedis(wrong).then(
      () => null,
      (e: Error) => e,
    );
    expect(error?.message).toMatch(/WRONGPASS|invalid password/);
    expect(error?.message).toContain(`redis://:***@127.0.0.1:${secured.port}/0`);
    expect(error?.message).not.toContain('not-the-one');
    expect(redactUrl(secured.url)).not.toContain(PASSWORD);
    await expect(checkRedis(secured.url)).resolves.toBeUndefined();
  });

  it('runs shipped images on a worker that cannot see the files, with the local run results', async (context) => {
    if (!secured) return context.skip('redis-server is not installed');
    const settings = fastSettings(scenes.coco, { seed: 5 });
    // the three scenes and a broken file, recorded as failed in both runs
    const source = join(dir, 'ship-source');
    cpSync(scenes.scenes, source, { recursive: true });
    writeFileSync(join(source, 'broken.png'), '');
    const local = join(dir, 'ship-local');
    await runProject({ project: local, images: source, settings, stages, pack: stages.packInfo });
    expect([...[...Project.open(local).results()]].filter((r) => r.status === 'failed')).toHaveLength(1);

    // the coordinator's images live in a folder that disappears once they are queued
    const shipped = join(dir, 'ship-images');
    cpSync(source, shipped, { recursive: true });
    const project = join(dir, 'ship-project');
    const queueName = `ship-${process.pid}`;
    let moved = false;
    const stopWorker = new AbortController();
    let worker: Promise<unknown> | null = null;
    const summary = await runCoordinator({
      project,
      images: shipped,
      settings,
      pack: stages.packInfo,
      redisUrl: secured.url,
      queueName,
      shipImages: true,
      progressMs: 100,
      onProgress: (p) => {
        if (p.stage !== 'running' || moved) return;
        moved = true;
        renameSync(shipped, `${shipped}-gone`);
        worker = runWorker({
          redisUrl: secured!.url,
          queueName,
          stages,
          pack: stages.packInfo,
          name: 'shipped',
          signal: stopWorker.signal,
        });
      },
    });
    stopWorker.abort();
    const done = (await (worker as unknown)) as { jobs: number; failedImages: number };
    expect(moved).toBe(true);
    expect(summary).toMatchObject({ imagesDone: 4, imagesFailed: 1, committed: 4, cancelled: false });
    expect(done).toMatchObject({ jobs: 4, failedImages: 1 });
    const byId = <T extends { image: { id: number } }>(a: T, b: T) => a.image.id - b.image.id;
    const strip = <T extends { image: { path: string }; error?: { message: string } }>(r: T) => ({
      ...r,
      image: { ...r.image, path: '' },
      // the two runs read the same files from two folders
      ...(r.error
        ? { error: { ...r.error, message: r.error.message.replace(/ship-(source|images)/, 'ship-*') } }
        : {}),
    });
    const expected = [...[...[...Project.open(local).results()]]].map(withoutTimings).sort(byId).map(strip);
    const actual = [...[...[...Project.open(project).results()]]].map(withoutTimings).sort(byId);
    // the recorded path is the coordinator's, as in a local run over that folder
    expect(actual.map((r) => r.image.path)).toEqual(Project.open(project).file.images.map((e) => e.path));
    expect(actual.map(strip)).toEqual(expected);
  });

  it('has a worker with another pack refuse before taking any job, listing the differing files', async (context) => {
    if (!secured) return context.skip('redis-server is not installed');
    const queueName = `pack-${process.pid}`;
    const checksums = { ...stages.packInfo.checksums, 'captioner.decoder': 'f'.repeat(64) };
    const stop = new AbortController();
    let queued: Promise<unknown> | null = null;
    const coordinator = runCoordinator({
      project: join(dir, 'other-pack'),
      images: scenes.scenes,
      settings: fastSettings(scenes.coco),
      pack: { ...stages.packInfo, name: 'other', checksums },
      redisUrl: secured.url,
      queueName,
      progressMs: 100,
      signal: stop.signal,
      onProgress: (p) => {
        if (p.stage === 'running' && !queued)
          queued = runWorker({ redisUrl: secured!.url, queueName, stages, pack: stages.packInfo }).then(
            () => new Error('the worker ran'),
            (error: Error) => error,
          );
      },
    });
    await expect.poll(() => queued, { timeout: 20_000 }).not.toBeNull();
    expect(((await (queued as unknown)) as Error).message).toMatch(
      /this worker's model pack differs from project .*other-pack's; it takes no job:\n {2}captioner\.decoder: pack "demo" [0-9a-f]{12}…, project's pack "other" ffffffffffff…/,
    );
    const connection = new Redis(secured.url, { maxRetriesPerRequest: null });
    const queue = new Queue(queueName, { connection });
    try {
      expect(await queue.getJobCounts('waiting', 'active', 'completed')).toEqual({
        waiting: 3,
        active: 0,
        completed: 0,
      });
      stop.abort();
      expect(await coordinator).toMatchObject({ cancelled: true, committed: 0 });
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
      connection.disconnect();
    }
  });

  it('records an image as failed, as a local run does, once a throwing worker has used its attempts', async (context) => {
    if (!secured) return context.skip('redis-server is not installed');
    const queueName = `attempts-${process.pid}`;
    let tries = 0;
    // a pack error is fatal in a local run; in a queue the job is retried, then the image is recorded as failed
    const broken = {
      ...stages,
      load: async () => {
        tries++;
        throw Object.assign(new Error('the pack went away'), { name: 'ModelPackError' });
      },
    };
    const stop = new AbortController();
    const worker = runWorker({
      redisUrl: secured.url,
      queueName,
      stages: broken,
      pack: stages.packInfo,
      signal: stop.signal,
    });
    const one = join(dir, 'attempts-images');
    cpSync(join(scenes.scenes, 'scene-0000.png'), join(one, 'scene-0000.png'), { recursive: true });
    const summary = await runCoordinator({
      project: join(dir, 'attempts'),
      images: one,
      settings: fastSettings(scenes.coco),
      pack: stages.packInfo,
      redisUrl: secured.url,
      queueName,
      attempts: 2,
    });
    stop.abort();
    await worker;
    expect(tries).toBe(2);
    expect(summary).toMatchObject({ imagesDone: 1, imagesFailed: 1 });
    const [result] = [...[...Project.open(join(dir, 'attempts')).results()]];
    expect(result.status).toBe('failed');
    expect(result.error).toEqual({
      stage: 'queue',
      code: 'job-failed',
      message: 'queued job failed: the pack went away',
    });
  });

  it('refuses to ship an image over the bound, naming it, before anything is queued', async (context) => {
    if (!secured) return context.skip('redis-server is not installed');
    const project = join(dir, 'ship-too-big');
    await expect(
      runCoordinator({
        project,
        images: scenes.scenes,
        settings: fastSettings(scenes.coco),
        pack: stages.packInfo,
        redisUrl: secured.url,
        queueName: `big-${process.pid}`,
        shipImages: true,
        maxImageBytes: 100,
      }),
    ).rejects.toThrow(
      /--ship-images carries images up to 0\.0 MiB \(--max-image-mib\); 3 image\(s\) are larger: .*scene/,
    );
  });

  it('keeps one job per id: a second enqueue of an image is a no-op', async (context) => {
    if (!secured) return context.skip('redis-server is not installed');
    const settings = fastSettings(scenes.coco);
    const id = imageJobId('a'.repeat(64), settings, packDigest(stages.packInfo.checksums));
    expect(id).not.toContain(':');
    const connection = new Redis(secured.url, { maxRetriesPerRequest: null });
    const queue = new Queue(`dedupe-${process.pid}`, { connection });
    try {
      await queue.add('image', { n: 1 }, { jobId: id });
      await queue.add('image', { n: 2 }, { jobId: id });
      expect(await queue.getJobCounts('waiting')).toEqual({ waiting: 1 });
      expect((await queue.getJob(id))?.data).toEqual({ n: 1 });
      // another seed is another run: another id
      expect(imageJobId('a'.repeat(64), fastSettings(scenes.coco, { seed: 9 }), 'x')).not.toBe(id);
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
      connection.disconnect();
    }
  });

  it('works over rediss:// (TLS), and fails naming the URL when the certificate is not trusted', async (context) => {
    if (!secured || spawnSync('openssl', ['version'], { stdio: 'ignore' }).status !== 0)
      return context.skip('redis-server or openssl is not installed');
    const tls = await startRedisServer(PASSWORD, { tls: true });
    try {
      // a child process: NODE_EXTRA_CA_CERTS is read when Node starts
      const script = [
        `import { checkRedis } from ${JSON.stringify(resolve(import.meta.dirname, 'redis.ts'))};`,
        `import { Queue } from 'bullmq';`,
        `import { Redis } from 'ioredis';`,
        `await checkRedis(process.env.URL);`,
        `const connection = new Redis(process.env.URL, { maxRetriesPerRequest: null });`,
        `const queue = new Queue('tls', { connection });`,
        `await queue.add('image', { n: 1 }, { jobId: 'tls-job' });`,
        `console.log(JSON.stringify((await queue.getJob('tls-job')).data));`,
        `await queue.obliterate({ force: true }); await queue.close(); connection.disconnect();`,
      ].join('\n');
      const run = (env: Record<string, string>) =>
        spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
          cwd: resolve(import.meta.dirname, '../../../..'),
          env: { ...process.env, URL: tls.url, ...env },
          encoding: 'utf8',
        });
      const trusted = run({ NODE_EXTRA_CA_CERTS: tls.certificate! });
      expect(trusted.stderr).toBe('');
      expect(trusted.stdout.trim()).toBe('{"n":1}');
      const untrusted = run({});
      expect(untrusted.stderr).toMatch(
        new RegExp(
          `cannot reach Redis at rediss://:\\*\\*\\*@127\\.0\\.0\\.1:${tls.port}/0: .*self[- ]signed`,
        ),
      );
    } finally {
      await tls.stop();
    }
  });
});
