/**
 * Ctrl-C through the real CLI while an image is in mask generation: `pseudo-ris generate` is interrupted twice (pause,
 * then cancel) during the image's `masks` stage, must leave the image pending (never recorded as failed), and a resume
 * must compute it to the same result as an uninterrupted run with the same seed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureDemoPack, generateScenes } from '../demo/index.ts';
import { Project, RESULTS_FILE } from './store/index.ts';
import { withoutTimings } from '../testing/fixtures.ts';

const CLI = resolve(import.meta.dirname, '../../../bin/pseudo-ris.mjs');
let dir: string;
let scenes: string;
let settingsFile: string;

beforeAll(async () => {
  await ensureDemoPack();
  dir = mkdtempSync(join(tmpdir(), 'pseudo-ris-cancel-'));
  scenes = join(dir, 'scenes');
  await generateScenes({ count: 1, seed: 5, outDir: scenes });
  settingsFile = join(dir, 'settings.json');
  // generated masks (the stage under test) with a 6×6 grid, one mask, one caption setting: a short run
  writeFileSync(
    settingsFile,
    JSON.stringify({
      masks: { source: 'generated', pointsPerSide: 6, maxMasks: 1 },
      captions: { topK: [5], topP: [], beam: false, plainSampling: false },
    }),
  );
});

function args(project: string): string[] {
  return [
    CLI,
    'generate',
    scenes,
    '--project',
    project,
    '--settings',
    settingsFile,
    '--seed',
    '3',
    '--no-progress',
  ];
}

function records(project: string): { status: string; image: { id: number } }[] {
  const path = join(project, RESULTS_FILE);
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as { status: string; image: { id: number } });
}

/** Runs generate and presses Ctrl-C twice once its stderr says the image entered mask generation (bounded). */
function interruptInMasks(project: string): Promise<{ code: number | null; stderr: string; sent: boolean }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args(project), { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let sent = false;
    const limit = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`generate did not reach or leave the masks stage in time:\n${stderr}`));
    }, 120_000);
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (!sent && /\] masks scene-0000\.png/.test(stderr)) {
        sent = true;
        child.kill('SIGINT');
        setTimeout(() => child.kill('SIGINT'), 50);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(limit);
      resolvePromise({ code, stderr, sent });
    });
  });
}

describe('generate interrupted in mask generation', () => {
  it('leaves the image pending, not failed, and a resume computes it as an uninterrupted run does', async () => {
    const interrupted = join(dir, 'interrupted');
    const ended = await interruptInMasks(interrupted);
    expect(ended.sent).toBe(true);
    expect(ended.code, ended.stderr).toBe(130);
    expect(ended.stderr).toContain('cancelling the current image');
    // the image in flight was cancelled: nothing committed, and above all no failed record
    expect(records(interrupted)).toEqual([]);

    const resumed = spawnSync(process.execPath, args(interrupted), { encoding: 'utf8', timeout: 180_000 });
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('1/1 images (0 already committed, 0 failed)');
    expect(records(interrupted).map((r) => r.status)).toEqual(['done']);

    const clean = join(dir, 'clean');
    const once = spawnSync(process.execPath, args(clean), { encoding: 'utf8', timeout: 180_000 });
    expect(once.status, once.stderr).toBe(0);
    const expected = [...[...Project.open(clean).results()]].map(withoutTimings);
    const actual = [...[...Project.open(interrupted).results()]].map(withoutTimings);
    expect(actual).toEqual(expected);
  }, 400_000);
});
