import { cpSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDemoPack } from '../demo/index.ts';
import { openStages, type PackStages } from './engine.ts';
import {
  inShard,
  mergeProjects,
  parseShard,
  readShard,
  recordShard,
  settingsDifferences,
  SHARD_FILE,
} from './merge.ts';
import { runProject } from './run.ts';
import { hashFile, listImages, Project } from './store/index.ts';
import { fastSettings, withoutTimings, writeScenes } from '../testing/fixtures.ts';

let dir: string;
let scenes: { scenes: string; coco: string };
let stages: PackStages;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pseudo-ris-merge-'));
  scenes = await writeScenes(dir, 5, 17);
  stages = await openStages(await ensureDemoPack());
});

afterAll(async () => {
  await stages?.dispose();
});

async function run(project: string, images: string | string[], seed = 3): Promise<void> {
  await runProject({
    project,
    images,
    settings: fastSettings(scenes.coco, { seed }),
    stages,
    pack: stages.packInfo,
  });
}

async function shard(index: number, count: number): Promise<string[]> {
  const keep: string[] = [];
  for (const path of listImages(scenes.scenes))
    if (inShard(await hashFile(path), index, count)) keep.push(path);
  return keep;
}

describe('parseShard', () => {
  it('reads I/N and refuses an index outside 0 … N-1', () => {
    expect(parseShard('2/4')).toEqual({ index: 2, count: 4 });
    expect(() => parseShard('4/4')).toThrow('--shard 4/4: the index must be 0 … 3 and the count ≥ 1');
    expect(() => parseShard('1-4')).toThrow('--shard must be I/N with 0 ≤ I < N');
  });
});

describe('mergeProjects', () => {
  it('merges shards into the project one unsharded run makes, each image once', async () => {
    const whole = join(dir, 'whole');
    await run(whole, scenes.scenes);
    const parts = [await shard(0, 2), await shard(1, 2)];
    expect(parts[0].length + parts[1].length).toBe(5);
    expect(parts[0].length).toBeGreaterThan(0);
    expect(parts[1].length).toBeGreaterThan(0);
    await run(join(dir, 's0'), parts[0]);
    await run(join(dir, 's1'), parts[1]);
    // the second shard twice: an image in two projects is kept once
    const summary = await mergeProjects(
      [join(dir, 's1'), join(dir, 's0'), join(dir, 's1')],
      join(dir, 'merged'),
    );
    expect(summary).toMatchObject({ projects: 3, images: 5, results: 5, failed: 0, missing: 0 });
    expect(summary.duplicates).toBe(parts[1].length);

    const merged = Project.open(join(dir, 'merged'));
    expect(merged.file.images).toEqual(Project.open(whole).file.images);
    const byId = <T extends { image: { id: number } }>(a: T, b: T) => a.image.id - b.image.id;
    expect([...merged.results()].map(withoutTimings)).toEqual(
      [...[...Project.open(whole).results()]].map(withoutTimings).sort(byId),
    );
  });

  it('refuses projects with other settings, listing each difference, and an existing project as target', async () => {
    const other = join(dir, 'seed9');
    await run(other, (await shard(0, 2)).slice(0, 1), 9);
    await expect(mergeProjects([join(dir, 's0'), other], join(dir, 'refused'))).rejects.toThrow(
      /merge refused:\n {2}settings of .*seed9 differ from .*s0: seed: 9 ≠ 3/,
    );
    await expect(mergeProjects([join(dir, 's0')], join(dir, 'whole'))).rejects.toThrow(
      /whole is already a project: merge into a new folder/,
    );
  });

  it('refuses a source a run is still writing, naming the holder', async () => {
    // this process holds the lock, as a running generate would
    const held = await Project.create(join(dir, 's0'), {
      images: [],
      settings: Project.open(join(dir, 's0')).file.settings,
    });
    try {
      await expect(mergeProjects([join(dir, 's0')], join(dir, 'locked'))).rejects.toThrow(
        new RegExp(
          `s0 is still being written by process ${process.pid} on .* merge it once that run has finished`,
        ),
      );
    } finally {
      held.close();
    }
  });

  it('neither follows nor quotes a shard.json planted as a link out, and records a shard without writing through it', async () => {
    const outside = join(dir, 'outside.txt');
    writeFileSync(outside, 'root:x:0:0:CANARY');
    const linked = join(dir, 's1-linked');
    cpSync(join(dir, 's1'), linked, { recursive: true });
    symlinkSync(outside, join(linked, SHARD_FILE));
    const error = await mergeProjects([join(dir, 's0'), linked], join(dir, 'linked-merge')).catch(
      (e: Error) => e,
    );
    expect((error as Error).message).toBe(
      `${join(linked, SHARD_FILE)} is a link, not the project's own shard record: merge refused`,
    );
    recordShard(linked, { index: 1, count: 2, source: scenes.scenes });
    expect(readFileSync(outside, 'utf8')).toBe('root:x:0:0:CANARY');
    expect(readShard(linked)).toEqual({ index: 1, count: 2, source: scenes.scenes });
    writeFileSync(join(linked, SHARD_FILE), 'root:x:0:0:CANARY');
    expect(() => readShard(linked)).toThrow(
      `${join(linked, SHARD_FILE)} is not a shard record (not valid JSON): merge refused`,
    );
  });

  it('lists nested setting differences leaf by leaf', () => {
    expect(settingsDifferences({ a: { b: [5], c: 1 }, d: 2 }, { a: { b: [10], c: 1 } })).toEqual([
      'a.b: [5] ≠ [10]',
      'd: 2 ≠ absent',
    ]);
  });
});
