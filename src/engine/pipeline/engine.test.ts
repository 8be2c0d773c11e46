/**
 * Lazy, lean stages on the demo pack: each command's work opens only the roles it runs, when it first runs them, and
 * the cached caption path never opens the full-prefix text + decoder graphs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseSettings, type SettingsInput } from '../../shared/settings.ts';
import { ensureDemoPack, renderScene } from '../demo/index.ts';
import { buildCrops } from '../image/index.ts';
import { openStages, type PackStages } from './engine.ts';

let stages: PackStages | null = null;
afterEach(async () => {
  await stages?.dispose();
  stages = null;
});

const scene = renderScene(7, 2);
const entry = { id: 1, path: 'scene.png', name: 'scene.png', sha256: 'a'.repeat(64) };

function settingsOf(extra: SettingsInput = {}) {
  return parseSettings({
    ...extra,
    masks: { pointsPerSide: 6, maxMasks: 3 },
    captions: { topK: [5], topP: [], plainSampling: false },
  });
}

const roles = () => stages!.pack.openSessions().map((s) => s.role);

/** Masks, then captions, then CLIP, recording the open roles after each stage. */
async function stageByStage(settings: ReturnType<typeof settingsOf>) {
  stages = await openStages(await ensureDemoPack());
  const after: Record<string, string[]> = { open: roles() };
  const { masks } = await stages.masks(scene.image, entry, settings);
  after.masks = roles();
  const crops = buildCrops(scene.image, masks, { size: stages.cropSize });
  await stages.captions({ image: scene.image, masks, crops, settings, imageKey: entry.sha256 });
  after.captions = roles();
  await stages.embedImages(crops[0]!);
  after.clipImage = roles();
  await stages.embedTexts(['a red circle']);
  after.clipText = roles();
  return { after, masks };
}

describe('lazy stages on the demo pack', () => {
  it('open no session with the pack, the segmenter for masks, the cached captioner for captions, CLIP for scores', async () => {
    const { after, masks } = await stageByStage(settingsOf());
    expect(masks.length).toBeGreaterThan(0);
    expect(after.open).toEqual([]);
    expect(after.masks.sort()).toEqual([
      'segmenter.decoder',
      'segmenter.decoderBatched',
      'segmenter.encoder',
    ]);
    const captioner = after.captions.filter((role) => role.startsWith('captioner.')).sort();
    // the cached pair covers every step: the full-prefix text tower and decoder stay closed
    expect(captioner).toEqual(['captioner.cross', 'captioner.decoderWithPast', 'captioner.visual']);
    expect(after.captions.some((role) => role.startsWith('scorer.'))).toBe(false);
    expect(after.clipImage.filter((role) => role.startsWith('scorer.'))).toEqual(['scorer.image']);
    expect(after.clipText.filter((role) => role.startsWith('scorer.')).sort()).toEqual([
      'scorer.image',
      'scorer.text',
    ]);
    for (const session of stages!.pack.openSessions()) expect(session.openMilliseconds).toBeGreaterThan(0);
  });

  it('open the full-prefix graphs, and not the cached pair, when the cache is off', async () => {
    const { after } = await stageByStage(settingsOf({ runtime: { decoderCache: 'off' } }));
    expect(after.captions.filter((role) => role.startsWith('captioner.')).sort()).toEqual([
      'captioner.decoder',
      'captioner.text',
      'captioner.visual',
    ]);
  });

  it('give the same candidates as before the stages were lazy: cached (crops grouped), per-crop and full-prefix agree byte for byte', async () => {
    const run = async (extra: SettingsInput) => {
      stages = await openStages(await ensureDemoPack());
      // the demo pack offers grouped crops: the default captioner decodes all crops in one run per step
      expect(stages.captioner.cropGroups).toBe(true);
      const settings = settingsOf(extra);
      const { masks } = await stages.masks(scene.image, entry, settings);
      const crops = buildCrops(scene.image, masks, { size: stages.cropSize });
      const candidates = await stages.captions({
        image: scene.image,
        masks,
        crops,
        settings,
        imageKey: entry.sha256,
      });
      await stages.dispose();
      stages = null;
      return JSON.stringify(candidates);
    };
    stages = await openStages(await ensureDemoPack());
    // the run's record says which layout decoded
    expect(stages.decoding!(settingsOf()).cropGroups).toBe(true);
    expect(stages.decoding!(settingsOf({ runtime: { decoderGroups: 'off' } })).cropGroups).toBe(false);
    expect(stages.decoding!(settingsOf({ runtime: { decoderCache: 'off' } })).cropGroups).toBeUndefined();
    await stages.dispose();
    stages = null;
    const grouped = await run({});
    expect(grouped).toBe(await run({ runtime: { decoderCache: 'off' } }));
    expect(grouped).toBe(await run({ runtime: { decoderGroups: 'off' } }));
  });
});
