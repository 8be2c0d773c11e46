import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GroundTruth } from '../../engine/demo/index.ts';
import { runCli, type CliRun } from '../run-cli.ts';

let root: string;

/** Runs the real CLI entry in a child process. */
function cli(args: string[]): Promise<CliRun> {
  return runCli(args, { timeout: 90_000 });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pseudo-ris-demo-cli-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('pseudo-ris demo scenes', () => {
  it('writes the scenes and their ground truth', async () => {
    const out = join(root, 'scenes');
    const run = await cli(['demo', 'scenes', '--out', out, '--count', '2', '--seed', '4']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^wrote 2 scenes \(\d+ objects, \d+ % sharing two attributes/);
    expect((await readdir(out)).sort()).toEqual(['ground-truth.json', 'scene-0000.png', 'scene-0001.png']);
    const truth = JSON.parse(await readFile(join(out, 'ground-truth.json'), 'utf8')) as GroundTruth;
    expect(truth.seed).toBe(4);
  });

  it('exits 1 (bad input before the start) with a clear message on a bad count', async () => {
    const run = await cli(['demo', 'scenes', '--out', join(root, 'bad'), '--count', '0']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('--count must be an integer ≥ 1, got "0"');
  });
});

describe('pseudo-ris models build-demo', () => {
  it('builds a pack that models validate accepts, then finds it up to date', async () => {
    const out = join(root, 'pack');
    const first = await cli(['models', 'build-demo', '--out', out]);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^demo pack built in \d+ ms/);
    const again = await cli(['models', 'build-demo', '--out', out]);
    expect(again.stdout).toMatch(/^demo pack already up to date/);
    const validate = await cli(['models', 'validate', out]);
    expect(validate.code).toBe(0);
    expect(validate.stdout).toMatch(/^valid/);
  });
});
