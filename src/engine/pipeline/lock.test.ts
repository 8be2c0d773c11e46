import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ImageResult } from '../../shared/results.ts';
import { parseSettings } from '../../shared/settings.ts';
import {
  acquireProjectLock,
  imageRecord,
  LOCK_FILE,
  Project,
  ProjectLockedError,
  ProjectMismatchError,
  RESULTS_FILE,
  PROJECT_FILE,
} from './store/index.ts';

let dir: string;
let images: string[];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pseudo-ris-lock-'));
  images = ['a.png', 'b.png'].map((f) => join(dir, f));
  images.forEach((p, i) => writeFileSync(p, `bytes ${i}`));
});

function result(project: Project, id: number, status: 'done' | 'failed'): ImageResult {
  return {
    version: 1,
    image: imageRecord(project.image(id), { width: 4, height: 3 }),
    status,
    ...(status === 'failed' ? { error: { stage: 'load', code: 'unreadable', message: 'no' } } : {}),
    masks: [],
    candidates: [],
    decisions: [],
  };
}

/** A process that is certainly dead: a child that has exited (its pid is not reused within the test). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

describe('the project lock', () => {
  it('refuses a second writer, naming its pid, host and since when', async () => {
    const project = join(dir, 'p');
    mkdirSync(project);
    // another process holds the lock: a child that takes it through the store and waits
    const script = `import { acquireProjectLock } from ${JSON.stringify(join(import.meta.dirname, 'store', 'index.ts'))};
acquireProjectLock(${JSON.stringify(project)}); process.stdout.write('locked\\n'); setTimeout(() => {}, 20000);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((resolveLocked, reject) => {
        child.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && resolveLocked());
        child.once('exit', (code) => reject(new Error(`the lock holder exited (${code})`)));
      });
      const error = await Project.create(project, { images, settings: parseSettings({}) }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ProjectLockedError);
      expect((error as Error).message).toMatch(
        new RegExp(
          `^project ${project} is in use by process ${child.pid} on ${hostname()} since \\d{4}-\\d\\d-\\d\\dT`,
        ),
      );
      expect(existsSync(join(project, PROJECT_FILE))).toBe(false);
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise((r) => child.once('close', r));
    // the holder was killed: its lock is stale and the next run takes it over
    const taken = await Project.create(project, { images, settings: parseSettings({}) });
    expect(JSON.parse(readFileSync(join(project, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid });
    taken.close();
    expect(existsSync(join(project, LOCK_FILE))).toBe(false);
  }, 30_000);

  it('takes over a stale lock of a dead process and a torn (empty) lock file', () => {
    const project = join(dir, 'q');
    mkdirSync(project);
    const stale = { pid: deadPid(), host: hostname(), since: '2020-01-01T00:00:00.000Z' };
    writeFileSync(join(project, LOCK_FILE), JSON.stringify(stale));
    acquireProjectLock(project).release();
    writeFileSync(join(project, LOCK_FILE), '');
    const lock = acquireProjectLock(project);
    expect(JSON.parse(readFileSync(join(project, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    lock.release();
    expect(existsSync(join(project, LOCK_FILE))).toBe(false);
  });

  it('respects a lock held on another host, which it cannot check', () => {
    const project = join(dir, 'r');
    mkdirSync(project);
    writeFileSync(
      join(project, LOCK_FILE),
      JSON.stringify({ pid: 1, host: 'elsewhere.invalid', since: '2026-01-01T00:00:00.000Z' }),
    );
    expect(() => acquireProjectLock(project)).toThrow(
      `project ${project} is in use by process 1 on elsewhere.invalid since 2026-01-01T00:00:00.000Z`,
    );
  });

  it('neither reads nor follows a project.lock planted as a link out: it is replaced by a lock of its own', () => {
    const project = join(dir, 's');
    mkdirSync(project);
    // a project folder is untrusted input: the file out there reads as a holder that must not be believed or quoted
    const outside = join(dir, 'outside.json');
    const text = JSON.stringify({ pid: 1, host: 'elsewhere.invalid', since: '2026-01-01T00:00:00.000Z' });
    writeFileSync(outside, text);
    symlinkSync(outside, join(project, LOCK_FILE));
    const lock = acquireProjectLock(project);
    expect(lstatSync(join(project, LOCK_FILE)).isFile()).toBe(true);
    expect(JSON.parse(readFileSync(join(project, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    lock.release();
    expect(readFileSync(outside, 'utf8')).toBe(text);
  });
});

describe('the checks before a run', () => {
  it('refuses results whose project.json is gone instead of adopting them under new settings', async () => {
    const project = join(dir, 'p');
    const first = await Project.create(project, { images, settings: parseSettings({ seed: 7 }) });
    first.commit(result(first, 1, 'done'));
    first.close();
    rmSync(join(project, PROJECT_FILE));
    const error = await Project.create(project, { images, settings: parseSettings({ seed: 8 }) }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ProjectMismatchError);
    expect((error as Error).message).toBe(
      `project ${project} has 1 results in ${RESULTS_FILE} but no ${PROJECT_FILE}: the settings and model pack they were made with are unknown; restore ${PROJECT_FILE} or use a new project folder`,
    );
    expect(existsSync(join(project, PROJECT_FILE))).toBe(false);
    expect(existsSync(join(project, LOCK_FILE))).toBe(false);
  });

  it('lists the differing settings with their values', async () => {
    const project = join(dir, 'p');
    const first = await Project.create(project, { images, settings: parseSettings({ seed: 7 }) });
    first.commit(result(first, 1, 'done'));
    first.close();
    await expect(
      Project.create(project, { images, settings: parseSettings({ seed: 8, masks: { maxMasks: 3 } }) }),
    ).rejects.toThrow('was generated with other settings (masks.maxMasks: 5 → 3; seed: 7 → 8)');
  });

  it('refuses results made for other files than the image list holds', async () => {
    const project = join(dir, 'p');
    const first = await Project.create(project, { images, settings: parseSettings({}) });
    first.commit({
      ...result(first, 1, 'done'),
      image: { ...result(first, 1, 'done').image, sha256: 'f'.repeat(64) },
    });
    first.close();
    await expect(Project.create(project, { images, settings: parseSettings({}) })).rejects.toThrow(
      'results.jsonl does not match project.json (image 1 (a.png): result made for SHA-256 ffffffffffff…',
    );
  });
});

describe('per-image failures and retries in the store', () => {
  it('takes a fixed failed file with its new hash whether or not the folder is named again; a changed done file still refuses', async () => {
    const fixedLater = join(dir, 'empty.png');
    writeFileSync(fixedLater, '');
    const project = await Project.create(join(dir, 'p'), {
      images: [...images, fixedLater],
      settings: parseSettings({}),
    });
    const emptyHash = project.image(3).sha256;
    project.commit(result(project, 1, 'done'));
    project.commit(result(project, 2, 'done'));
    project.commit(result(project, 3, 'failed'));
    project.close();
    writeFileSync(fixedLater, 'fixed content');
    // the folder named again (`generate FOLDER --retry-failed`): the failed image's hash is replaced, not refused
    const named = await Project.create(join(dir, 'p'), {
      images: [...images, fixedLater],
      settings: parseSettings({}),
    });
    const retry = await named.pendingEntries({ retryFailed: true });
    expect(retry.map((e) => e.id)).toEqual([3]);
    expect(retry[0].sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(retry[0].sha256).not.toBe(emptyHash);
    named.close();
    // without the folder: the retry hashes the fixed file again too
    writeFileSync(fixedLater, 'fixed again');
    const reopened = await Project.create(join(dir, 'p'), { images: [], settings: parseSettings({}) });
    const again = await reopened.pendingEntries({ retryFailed: true });
    expect(again[0].sha256).not.toBe(retry[0].sha256);
    reopened.commit(result(reopened, 3, 'done'));
    reopened.close();
    // the retried image is done now: a further change refuses, as for any done image
    writeFileSync(fixedLater, 'changed after it was done');
    await expect(
      Project.create(join(dir, 'p'), { images: [...images, fixedLater], settings: parseSettings({}) }),
    ).rejects.toThrow(`image ${fixedLater} changed since it was added to the project`);
  });

  it('lists an unreadable file without a hash instead of aborting, and hashes it once it is readable', async () => {
    const folderImage = join(dir, 'c.png');
    mkdirSync(folderImage);
    const project = await Project.create(join(dir, 'p'), {
      images: [...images, folderImage],
      settings: parseSettings({}),
    });
    expect(project.file.images.map((e) => [e.name, e.sha256.length])).toEqual([
      ['a.png', 64],
      ['b.png', 64],
      ['c.png', 0],
    ]);
    project.commit(result(project, 1, 'done'));
    project.commit(result(project, 2, 'done'));
    project.commit(result(project, 3, 'failed'));
    expect((await project.pendingEntries()).map((e) => e.id)).toEqual([]);
    // the file is fixed: --retry-failed runs it again with its real hash, and its new result supersedes the failure
    rmSync(folderImage, { recursive: true });
    writeFileSync(folderImage, 'fixed');
    const retry = await project.pendingEntries({ retryFailed: true });
    expect(retry.map((e) => e.id)).toEqual([3]);
    expect(retry[0].sha256).toMatch(/^[0-9a-f]{64}$/);
    project.commit(result(project, 3, 'done'));
    project.close();
    const reopened = Project.open(join(dir, 'p'));
    expect(reopened.image(3).sha256).toBe(retry[0].sha256);
    expect([...reopened.results()].map((r) => [r.image.id, r.status, r.revision ?? 0])).toEqual([
      [1, 'done', 0],
      [2, 'done', 0],
      [3, 'done', 1],
    ]);
  });
});
