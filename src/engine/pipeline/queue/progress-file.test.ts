/**
 * The queue progress snapshot and its watch, without Redis: a snapshot is validated when read (a bad one names the
 * file and the field), results are tailed by whole lines, and a watch shows a coordinator only while the process the
 * snapshot names holds the project's lock (a real child process stands in for the coordinator).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { QueueProgress } from '../../../shared/api.ts';
import { RESULTS_VERSION } from '../../../shared/results.ts';
import { LOCK_FILE, RESULTS_FILE } from '../store/index.ts';
import {
  QUEUE_PROGRESS_FILE,
  readQueueProgress,
  ResultsTail,
  watchQueuedProject,
  writeQueueProgress,
  type QueuedProjectWatch,
} from './progress-file.ts';

const snapshot = (pid: number, extra: Partial<QueueProgress> = {}): QueueProgress => ({
  url: 'redis://:***@127.0.0.1:6379/0',
  name: 'pseudo-ris',
  stage: 'running',
  total: 3,
  done: 1,
  failed: 0,
  skipped: 0,
  waiting: 1,
  active: { 'gpu-a:12': 1 },
  workers: 1,
  rate: 12.5,
  etaSeconds: 9.6,
  coordinator: { pid, host: hostname(), since: '2026-01-01T00:00:00.000Z' },
  updated: new Date().toISOString(),
  ...extra,
});

const line = (id: number) =>
  `${JSON.stringify({ version: RESULTS_VERSION, image: { id }, status: 'done' })}\n`;

let child: ChildProcess | null = null;
let watch: QueuedProjectWatch | null = null;
afterEach(() => {
  watch?.stop();
  child?.kill('SIGKILL');
});

describe('the queue progress snapshot', () => {
  it('reads back what was written, and names the file and field of a bad one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pris-qp-'));
    expect(readQueueProgress(dir)).toBeNull();
    await writeQueueProgress(dir, snapshot(42));
    expect(readQueueProgress(dir)).toEqual(snapshot(42, { updated: readQueueProgress(dir)!.updated }));
    writeFileSync(join(dir, QUEUE_PROGRESS_FILE), JSON.stringify({ ...snapshot(42), waiting: -1 }));
    expect(() => readQueueProgress(dir)).toThrow(
      `${join(dir, QUEUE_PROGRESS_FILE)} is not a queue progress snapshot: waiting:`,
    );
    writeFileSync(join(dir, QUEUE_PROGRESS_FILE), '{"url":');
    expect(() => readQueueProgress(dir)).toThrow(`${join(dir, QUEUE_PROGRESS_FILE)} is not JSON`);
  });

  it('never writes the snapshot through a link planted at a temp name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pris-qp-'));
    const outside = join(dir, 'outside.txt');
    writeFileSync(outside, 'outside');
    symlinkSync(outside, join(dir, `${QUEUE_PROGRESS_FILE}.${process.pid}.tmp`));
    await writeQueueProgress(dir, snapshot(42));
    expect(readFileSync(outside, 'utf8')).toBe('outside');
    expect(readQueueProgress(dir)?.coordinator.pid).toBe(42);
  });

  it('tails results.jsonl by whole lines only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pris-qp-'));
    const tail = new ResultsTail(dir);
    expect(tail.read()).toEqual([]);
    const path = join(dir, RESULTS_FILE);
    appendFileSync(path, line(1) + line(2).slice(0, 10));
    expect(tail.read().map((r) => r.image.id)).toEqual([1]);
    appendFileSync(path, line(2).slice(10) + line(3));
    expect(tail.read().map((r) => r.image.id)).toEqual([2, 3]);
    expect(tail.read()).toEqual([]);
    // replaced by a shorter file: read again from the start
    writeFileSync(path, line(7));
    expect(tail.read().map((r) => r.image.id)).toEqual([7]);
  });
});

describe('watching a project for a coordinator elsewhere', () => {
  it('shows a live coordinator and its results, and ends it as stopped once its process is gone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pris-qp-'));
    child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    const pid = child.pid!;
    const seen: string[] = [];
    // a snapshot whose process does not hold the lock is not shown
    await writeQueueProgress(dir, snapshot(pid));
    watch = watchQueuedProject(
      dir,
      {
        progress: (p) => seen.push(`progress ${p.done}`),
        results: (results) => seen.push(`results ${results.map((r) => r.image.id).join(',')}`),
        end: (how, last) => seen.push(`end ${how} ${last.done}`),
      },
      { intervalMs: 20 },
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(seen).toEqual([]);
    expect(watch.active).toBeNull();

    const since = '2026-01-01T00:00:00.000Z';
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid, host: hostname(), since }));
    appendFileSync(join(dir, RESULTS_FILE), line(1));
    await writeQueueProgress(dir, snapshot(pid, { done: 1, updated: 'a' }));
    await expect.poll(() => seen, { interval: 20 }).toEqual(['results 1', 'progress 1']);
    expect(watch.active?.coordinator.pid).toBe(pid);

    appendFileSync(join(dir, RESULTS_FILE), line(2));
    await writeQueueProgress(dir, snapshot(pid, { done: 2, updated: 'b' }));
    await expect.poll(() => seen.length, { interval: 20 }).toBe(4);
    expect(seen.slice(2)).toEqual(['results 2', 'progress 2']);

    child.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
    await expect.poll(() => seen.at(-1), { interval: 20 }).toBe('end stopped 2');
    expect(watch.active).toBeNull();
  });

  it('ends a coordinator that finished with its last snapshot, and ignores snapshots of this process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pris-qp-'));
    child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    const pid = child.pid!;
    const seen: string[] = [];
    writeFileSync(
      join(dir, LOCK_FILE),
      JSON.stringify({ pid, host: hostname(), since: '2026-01-01T00:00:00.000Z' }),
    );
    watch = watchQueuedProject(
      dir,
      {
        progress: (p) => seen.push(`progress ${p.coordinator.pid === pid ? 'child' : 'own'} ${p.stage}`),
        results: () => {},
        end: (how, last) => seen.push(`end ${how} ${last.done}`),
      },
      { intervalMs: 20 },
    );
    await writeQueueProgress(dir, snapshot(process.pid));
    await new Promise((r) => setTimeout(r, 100));
    expect(seen).toEqual([]);
    await writeQueueProgress(dir, snapshot(pid, { stage: 'start', done: 0 }));
    await expect.poll(() => seen, { interval: 20 }).toEqual(['progress child start']);
    await writeQueueProgress(dir, snapshot(pid, { stage: 'done', done: 3 }));
    await expect.poll(() => seen.at(-1), { interval: 20 }).toBe('end done 3');
  });
});
