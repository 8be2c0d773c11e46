import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDemoPack } from '../demo/index.ts';
import { keepPolicy, type KeepPolicy } from '../filter/index.ts';
import { openStages, type PackStages } from '../pipeline/engine.ts';
import { runProject } from '../pipeline/run.ts';
import { Project } from '../pipeline/store/index.ts';
import { writeScenes } from '../testing/fixtures.ts';
import type { ImageResult } from '../../shared/results.ts';
import { parseSettings } from '../../shared/settings.ts';
import type { GroundTruth } from '../demo/index.ts';
import { evaluateResults, groundTruthToCoco, oracleCache } from './evaluate.ts';
import { formatReport } from './report.ts';

let stages: PackStages;
afterAll(async () => {
  await stages?.dispose();
});

describe('the shapes world with the paper settings (Table-13-style figures)', () => {
  let report: ReturnType<typeof evaluateResults>;
  let stored: { results: ImageResult[]; truth: GroundTruth; filter: KeepPolicy };
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pseudo-ris-eval-'));
    stages = await openStages(await ensureDemoPack());
    const { scenes, coco, truth } = await writeScenes(dir, 4, 101);
    // the default preset (beam + DCS + the plain-sampling comparison) on ground-truth masks, with two k and two p
    // values instead of five each to keep the test short (`npm run demo` prints the figures with all ten)
    const settings = parseSettings({
      masks: { source: 'imported', importPath: coco },
      captions: { topK: [5, 13], topP: [0.4, 0.8] },
      seed: 1,
    });
    await runProject({ project: join(dir, 'project'), images: scenes, settings, stages });
    const results = [...[...Project.open(join(dir, 'project')).results()]];
    stored = { results, truth, filter: keepPolicy(settings) };
    report = evaluateResults(results, truth, stored.filter);
    console.log(`\n${formatReport(report)}\n`);
  });

  it('keeps DCS candidates that identify their object more often than all candidates do', () => {
    const o = report.oracle!;
    expect(o.all.total).toBeGreaterThan(50);
    expect(o.keptByMethod.dcs.rate!).toBeGreaterThan(o.all.rate!);
  });

  it('gives the same figures with the oracle cache reused across τ moves and caption edits', () => {
    const { results, truth, filter } = stored;
    const cache = oracleCache();
    const low = { ...filter, tau: 0.9 };
    expect(evaluateResults(results, truth, low, null, cache)).toEqual(evaluateResults(results, truth, low));
    expect(evaluateResults(results, truth, filter, null, cache)).toEqual(report);
    // an edit is judged by its new text even though its mask's object was matched before
    const first = results.find((r) => r.status === 'done')!;
    const identified = report.oracle!.all.identified;
    const edits = Object.fromEntries(
      first.candidates
        .filter((c) => !c.comparison)
        .map((c) => [`${first.image.id}:${c.mask}:${c.index}`, 'a thing']),
    );
    const review = { decisions: {}, edits, deletedMasks: [] };
    const edited = evaluateResults(results, truth, filter, review, cache);
    expect(edited).toEqual(evaluateResults(results, truth, filter, review));
    expect(edited.oracle!.all.identified).toBeLessThan(identified);
  });

  it('gives DCS a higher mean DoS than plain sampling of the same crops', () => {
    expect(report.means.dcs.count).toBe(report.means.sampling.count);
    expect(report.means.dcs.dos!).toBeGreaterThan(report.means.sampling.dos!);
  });
});

describe('groundTruthToCoco', () => {
  it('writes one annotation per object with its RLE and area', () => {
    const coco = groundTruthToCoco({
      version: 1,
      seed: 0,
      images: [
        {
          file: 'x/s.png',
          id: 3,
          width: 2,
          height: 2,
          objects: [
            {
              id: 1,
              colour: 'red',
              shape: 'circle',
              pattern: 'plain',
              bbox: [0, 0, 1, 2],
              segmentation: { size: [2, 2], counts: '022' },
            },
          ],
        },
      ],
    });
    expect(coco.images).toEqual([{ id: 3, file_name: 's.png', width: 2, height: 2 }]);
    expect(coco.annotations).toEqual([
      {
        id: 1,
        image_id: 3,
        category_id: 1,
        iscrowd: 0,
        bbox: [0, 0, 1, 2],
        area: 2,
        segmentation: { size: [2, 2], counts: '022' },
      },
    ]);
  });
});
