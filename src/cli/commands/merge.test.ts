/**
 * `generate --shard I/N` and `merge` through the real CLI: two shards run as separate processes and merged equal one
 * unsharded run (same image list, same results per image); a bad `--shard` is a usage error.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDemoPack } from '../../engine/demo/index.ts';
import { SHARD_FILE } from '../../engine/pipeline/merge.ts';
import { Project } from '../../engine/pipeline/store/index.ts';
import { withoutTimings, writeScenes } from '../../engine/testing/fixtures.ts';
import { runCli, type CliRun } from '../run-cli.ts';

let root: string;
let scenes: { scenes: string; coco: string };

function cli(args: string[]): Promise<CliRun> {
  return runCli(args, { timeout: 120_000 });
}

beforeAll(async () => {
  await ensureDemoPack();
  root = mkdtempSync(join(tmpdir(), 'pseudo-ris-shard-cli-'));
  scenes = await writeScenes(root, 4, 29);
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('pseudo-ris generate --shard and merge', () => {
  it('merges two shard projects into the project of one unsharded run', async () => {
    const common = ['--masks', scenes.coco, '--seed', '7', '--no-plain', '--no-progress'];
    const generate = (project: string, extra: string[] = []) =>
      cli(['generate', scenes.scenes, '--project', join(root, project), ...common, ...extra]);
    const runs = await Promise.all([
      generate('whole'),
      generate('shard0', ['--shard', '0/2']),
      generate('shard1', ['--shard', '1/2']),
    ]);
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    const shardImages = ['shard0', 'shard1'].map((p) => Project.open(join(root, p)).file.images.length);
    expect(shardImages[0] + shardImages[1]).toBe(4);

    const merged = await cli([
      'merge',
      join(root, 'shard0'),
      join(root, 'shard1'),
      '--into',
      join(root, 'merged'),
    ]);
    expect(merged.code, merged.stderr).toBe(0);
    expect(merged.stdout).toMatch(/^merged 2 projects → .*merged: 4 images, 4 results \(0 failed\)\n$/);
    const whole = Project.open(join(root, 'whole'));
    const result = Project.open(join(root, 'merged'));
    expect(result.file.images).toEqual(whole.file.images);
    expect(result.file.settings).toEqual(whole.file.settings);
    const byId = <T extends { image: { id: number } }>(a: T, b: T) => a.image.id - b.image.id;
    expect([...result.results()].map(withoutTimings).sort(byId)).toEqual(
      [...whole.results()].map(withoutTimings).sort(byId),
    );
  });

  it('refuses to merge an incomplete set of shards, naming the missing shard and its images (exit 2)', async () => {
    const partial = await cli(['merge', join(root, 'shard0'), '--into', join(root, 'partial')]);
    expect(partial.code, partial.stderr).toBe(2);
    const missing = Project.open(join(root, 'shard1')).file.images.map((e) => e.name);
    expect(partial.stderr).toContain(
      `merge incomplete: shard(s) 1/2 of ${scenes.scenes} are missing; their ${missing.length} image(s): ${missing.join(', ')}.`,
    );
    const allowed = await cli([
      'merge',
      join(root, 'shard0'),
      '--into',
      join(root, 'partial'),
      '--allow-partial',
    ]);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.stderr).toContain('warning: merged without shard(s) 1/2 (--allow-partial)');
  });

  it('names the images a shard has not generated yet, and exits 2', async () => {
    // shard 1 as a run stopped before its first result leaves it: its images listed, none generated
    const shard1 = Project.open(join(root, 'shard1'));
    const pending = shard1.file.images.map((e) => e.path).sort();
    const stopped = await Project.create(join(root, 'stopped1'), {
      images: pending,
      settings: shard1.file.settings,
      pack: shard1.file.pack,
      versions: shard1.file.versions,
    });
    stopped.close();
    copyFileSync(join(root, 'shard1', SHARD_FILE), join(root, 'stopped1', SHARD_FILE));
    const into = join(root, 'merged-stopped');
    const merged = await cli(['merge', join(root, 'shard0'), join(root, 'stopped1'), '--into', into]);
    expect(merged.code, merged.stderr).toBe(2);
    expect(merged.stderr).toContain(
      `${pending.length} image(s) not yet generated: ${pending.join(', ')}; run generate --project ${into} to finish them`,
    );
  });

  it('refuses a shard index outside 0 … N-1', async () => {
    const run = await cli(['generate', scenes.scenes, '--project', join(root, 'bad'), '--shard', '2/2']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('--shard 2/2: the index must be 0 … 1 and the count ≥ 1');
  });
});
