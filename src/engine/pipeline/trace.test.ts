import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayTrace } from '../caption/trace.ts';
import { ensureDemoPack } from '../demo/index.ts';
import { openStages, type PackStages } from './engine.ts';
import { runProject } from './run.ts';
import { Project } from './store/index.ts';
import { fastSettings, writeScenes } from '../testing/fixtures.ts';
import { decodeBeamWithTrace, traceCandidate, type DecodeBeamInput } from './trace.ts';

let stages: PackStages;
let project: string;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pseudo-ris-trace-'));
  stages = await openStages(await ensureDemoPack());
  const { scenes, coco } = await writeScenes(dir, 1, 31);
  project = join(dir, 'project');
  await runProject({ project, images: scenes, settings: fastSettings(coco, { seed: 4 }), stages });
});
afterAll(async () => {
  await stages?.dispose();
});

describe('traceCandidate', () => {
  it('regenerates a stored DCS candidate with the same text and a replayable trace', async () => {
    const result = [...[...Project.open(project).results()]][0];
    const candidate = result.candidates.find((c) => c.method === 'dcs' && c.mask === 1)!;
    const { trace, reproduced } = await traceCandidate(
      project,
      { image: 1, mask: 1, candidate: candidate.index },
      stages,
    );
    expect(reproduced).toBe(true);
    expect(trace!.text).toBe(candidate.text);
    expect(trace!.calibrated).toBe(result.masks.length >= 2);
    expect(replayTrace(trace!).tokenIds).toEqual(candidate.tokens);
  });

  it('gives a beam candidate its beam trace, whose winner is the stored caption and score, and names what does not exist', async () => {
    const result = [...[...Project.open(project).results()]][0];
    const beam = result.candidates.find((c) => c.method === 'beam' && c.mask === 1)!;
    const traced = await traceCandidate(
      project,
      { image: 1, mask: beam.mask, candidate: beam.index },
      stages,
    );
    expect(traced.trace).toBeNull();
    expect(traced.reproduced).toBe(true);
    expect(traced.beam!.tokenIds).toEqual(beam.tokens);
    expect(traced.beam!.target).toEqual({ maskIndex: 1, crop: beam.crop });
    expect(traced.beam!.hypotheses[traced.beam!.winner]!.score).toBe(beam.beamScore);
    await expect(traceCandidate(project, { image: 9, mask: 0, candidate: 0 }, stages)).rejects.toThrow(
      'image 9 has no committed result',
    );
    await expect(traceCandidate(project, { image: 1, mask: 0, candidate: 999 }, stages)).rejects.toThrow(
      /has candidates 0\.\.\d+, not 999/,
    );
  });

  it('says an image has no masks (SAM may find none) rather than masks 0..-1', async () => {
    const result = { ...[...[...Project.open(project).results()]][0]!, masks: [], candidates: [] };
    await expect(decodeBeamWithTrace({ result, mask: 0 } as unknown as DecodeBeamInput)).rejects.toThrow(
      /^the image has no masks, not 0$/,
    );
  });
});
