/**
 * Crash safety through the real CLI: `pseudo-ris generate` is SIGKILLed at several points of a 4-image run, a torn
 * line is left at the end of results.jsonl, the run is resumed, and the results must equal an uninterrupted run with
 * the same seed — no lost image, no duplicated record.
 */
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureDemoPack } from '../demo/index.ts';
import { decodeHeader, Project, RESULTS_FILE } from './store/index.ts';
import { withoutTimings, writeScenes } from '../testing/fixtures.ts';

const CLI = resolve(import.meta.dirname, '../../../bin/pseudo-ris.mjs');
let dir: string;
let scenes: { scenes: string; coco: string };
let settingsFile: string;

beforeAll(async () => {
  await ensureDemoPack();
  dir = mkdtempSync(join(tmpdir(), 'pseudo-ris-kill-'));
  scenes = await writeScenes(dir, 4, 23);
  settingsFile = join(dir, 'settings.json');
  writeFileSync(
    settingsFile,
    JSON.stringify({
      masks: { source: 'imported', importPath: scenes.coco },
      captions: { topK: [5], topP: [0.5], plainSampling: false },
    }),
  );
});

function generateArgs(project: string): string[] {
  return [
    CLI,
    'generate',
    scenes.scenes,
    '--project',
    project,
    '--settings',
    settingsFile,
    '--seed',
    '3',
    '--no-progress',
  ];
}

function committedLines(project: string): number {
  const path = join(project, RESULTS_FILE);
  if (!existsSync(path)) return 0;
  return readFileSync(path, 'utf8').split('\n').length - 1;
}

/** Starts generate and sends `signal` once `when(project)` holds (polled); resolves with how it ended. */
function runAndKill(
  project: string,
  when: () => boolean,
  signal: NodeJS.Signals = 'SIGKILL',
): Promise<{ signal: NodeJS.Signals | null; code: number | null }> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, generateArgs(project), { stdio: 'ignore' });
    const timer = setInterval(() => {
      if (when()) {
        clearInterval(timer);
        child.kill(signal);
      }
    }, 20);
    child.on('exit', (code, signal) => {
      clearInterval(timer);
      resolvePromise({ code, signal });
    });
  });
}

describe('generate killed with SIGKILL', () => {
  it('resumes to the same results as an uninterrupted run, with no lost or duplicated record', async () => {
    const clean = join(dir, 'clean');
    const done = spawnSync(process.execPath, generateArgs(clean), { encoding: 'utf8' });
    expect(done.status, done.stderr).toBe(0);
    expect(committedLines(clean)).toBe(4);

    const killed = join(dir, 'killed');
    // kill 1: as soon as the project exists (before or during the first image)
    const first = await runAndKill(killed, () => existsSync(join(killed, 'project.json')));
    // kill 2: right after the first commit (mid second image)
    const second = await runAndKill(killed, () => committedLines(killed) >= 1);
    // Ctrl-C after the next commit: the image in flight is finished and committed, then the run stops with 130
    const atInterrupt = committedLines(killed);
    const interrupted = await runAndKill(killed, () => committedLines(killed) > atInterrupt, 'SIGINT');
    expect(interrupted).toEqual({ code: 130, signal: null });
    expect(committedLines(killed)).toBe(atInterrupt + 2);
    // kill 3: at once, while the resumed process is starting
    const third = await runAndKill(killed, () => true);
    const signals = [first, second, third].map((r) => r.signal ?? `exit ${r.code}`);
    expect(signals, `ends: ${signals.join(', ')}`).toEqual(['SIGKILL', 'SIGKILL', 'SIGKILL']);
    const before = committedLines(killed);
    expect(before).toBeLessThan(4);
    // a torn tail as a kill in the middle of a write leaves it: no newline at the end
    appendFileSync(join(killed, RESULTS_FILE), '{"version":1,"image":{"id":4,"path":"/tor');

    const resumed = spawnSync(process.execPath, generateArgs(killed), { encoding: 'utf8' });
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(new RegExp(`4/4 images \\(${before} already committed, 0 failed\\)`));

    const lines = readFileSync(join(killed, RESULTS_FILE), 'utf8').split('\n');
    expect(lines.at(-1)).toBe('');
    expect(
      lines
        .slice(0, -1)
        .map((l) => decodeHeader(l).id)
        .sort(),
    ).toEqual([1, 2, 3, 4]);
    const expected = [...[...Project.open(clean).results()]]
      .map(withoutTimings)
      .sort((a, b) => a.image.id - b.image.id);
    const actual = [...[...Project.open(killed).results()]]
      .map(withoutTimings)
      .sort((a, b) => a.image.id - b.image.id);
    expect(actual).toEqual(expected);
  });
});
