/**
 * A pack's identity is every file its behaviour depends on: two tokens swapped in `tokenizer.json` (the graphs
 * untouched) make another pack, and a resume or a merge across the two is refused naming that file.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDemoPack } from '../demo/index.ts';
import { fastSettings, writeScenes } from '../testing/fixtures.ts';
import { openStages, readPackFacts, type PackFacts, type PackStages } from './engine.ts';
import { mergeProjects } from './merge.ts';
import { checksumDifferences } from './queue/jobs.ts';
import { runProject } from './run.ts';
import { Project } from './store/index.ts';

let dir: string;
let scenes: { scenes: string; coco: string };
let stages: PackStages;
let original: PackFacts;
let swapped: PackFacts;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pseudo-ris-pack-identity-'));
  const demo = await ensureDemoPack();
  scenes = await writeScenes(dir, 1, 5);
  stages = await openStages(demo);
  original = await readPackFacts(demo);
  const copy = join(dir, 'swapped-pack');
  cpSync(demo, copy, { recursive: true });
  const tokenizer = JSON.parse(readFileSync(join(copy, 'tokenizer.json'), 'utf8')) as {
    model: { vocab: Record<string, number> };
  };
  const [a, b] = Object.keys(tokenizer.model.vocab).slice(10, 12);
  const vocab = tokenizer.model.vocab;
  [vocab[a], vocab[b]] = [vocab[b], vocab[a]];
  writeFileSync(join(copy, 'tokenizer.json'), JSON.stringify(tokenizer, null, 2));
  swapped = await readPackFacts(copy);
});

afterAll(async () => {
  await stages?.dispose();
});

describe('the identity of a model pack', () => {
  it('covers the manifest and the tokenizer, not only the graphs', () => {
    expect(Object.keys(original.checksums)).toEqual(
      expect.arrayContaining(['manifest.json', 'tokenizer.json']),
    );
    expect(checksumDifferences(swapped.checksums, original.checksums)).toEqual([
      expect.stringMatching(/^tokenizer\.json: this pack [0-9a-f]{12}…, the project [0-9a-f]{12}…$/),
    ]);
  });

  it('refuses to resume a project with a pack whose tokenizer changed, naming the file', async () => {
    const project = join(dir, 'resume');
    const settings = fastSettings(scenes.coco);
    await runProject({ project, images: scenes.scenes, settings, stages, pack: original });
    await expect(
      Project.create(project, { images: [], settings, pack: { ...swapped, name: 'demo' } }),
    ).rejects.toThrow(/whose files differ .*tokenizer\.json:/);
  });

  it('resumes a project recorded with the graph checksums only, then records the full identity', async () => {
    const project = join(dir, 'legacy');
    const settings = fastSettings(scenes.coco);
    const graphs = Object.fromEntries(
      Object.entries(original.checksums).filter(([k]) => k.includes('.') && !k.endsWith('.json')),
    );
    await runProject({
      project,
      images: scenes.scenes,
      settings,
      stages,
      pack: { ...original, checksums: graphs },
    });
    const resumed = await Project.create(project, { images: [], settings, pack: original });
    resumed.close();
    expect(Project.open(project).file.pack?.checksums).toEqual(original.checksums);
  });

  it('refuses to merge projects made with the two packs, naming the file', async () => {
    const settings = fastSettings(scenes.coco);
    await runProject({ project: join(dir, 'a'), images: scenes.scenes, settings, stages, pack: original });
    await runProject({ project: join(dir, 'b'), images: scenes.scenes, settings, stages, pack: swapped });
    await expect(mergeProjects([join(dir, 'a'), join(dir, 'b')], join(dir, 'merged'))).rejects.toThrow(
      /model pack of .*b differs from .*a: tokenizer\.json:/,
    );
  });
});
