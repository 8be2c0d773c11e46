/**
 * Shared fixtures of the pipeline tests: a few shapes-world scenes with their ground truth as a COCO file (imported
 * masks keep the runs fast and exact) and reduced caption settings. Not used outside tests.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProject, type PackStages } from '../pipeline/index.ts';
import { groundTruthToCoco } from '../dataset/evaluate.ts';
import { generateScenes, type GroundTruth } from '../demo/index.ts';
import { parseSettings, type Settings, type SettingsInput } from '../../shared/settings.ts';

/** Writes `count` scenes into `dir/scenes` and their masks as `dir/truth-coco.json`. */
export async function writeScenes(
  dir: string,
  count: number,
  seed = 11,
): Promise<{ scenes: string; coco: string; truth: GroundTruth }> {
  const scenes = join(dir, 'scenes');
  const truth = await generateScenes({ count, seed, outDir: scenes });
  const coco = join(dir, 'truth-coco.json');
  writeFileSync(coco, JSON.stringify(groundTruthToCoco(truth)));
  return { scenes, coco, truth };
}

/** Reduced settings for tests: one top-k and one top-p setting, imported masks. */
export function fastSettings(coco: string, extra: SettingsInput = {}): Settings {
  return parseSettings({
    ...extra,
    masks: { source: 'imported', importPath: coco, ...(extra.masks ?? {}) },
    captions: { topK: [5], topP: [0.5], plainSampling: false, ...(extra.captions ?? {}) },
  });
}

/** A result without its timing counters (which differ between runs), for equality checks. */
export function withoutTimings<T extends { counters?: unknown }>(result: T): Omit<T, 'counters'> {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { counters, ...rest } = result;
  return rest;
}

/**
 * A demo project run in a fresh temporary folder: `images` scenes of scene seed `sceneSeed`, decoded with the fast
 * settings and `seed`. Answers the project folder.
 */
export async function runDemoProject(
  prefix: string,
  stages: PackStages,
  { images, sceneSeed, seed }: { images: number; sceneSeed: number; seed: number },
): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const { scenes, coco } = await writeScenes(dir, images, sceneSeed);
  const project = join(dir, 'project');
  await runProject({ project, images: scenes, settings: fastSettings(coco, { seed }), stages });
  return project;
}
