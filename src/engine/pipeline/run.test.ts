import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDemoPack } from '../demo/index.ts';
import { writeBadImageCorpus } from '../testing/bad-image-corpus.ts';
import { exportProject } from '../dataset/export.ts';
import { openStages, type PackStages } from './engine.ts';
import { runProject } from './run.ts';
import { Project, RESULTS_FILE } from './store/index.ts';
import { fastSettings, withoutTimings, writeScenes } from '../testing/fixtures.ts';
import type { RunProgress } from '../../shared/results.ts';

let dir: string;
let stages: PackStages;
let scenes: { scenes: string; coco: string };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pseudo-ris-run-'));
  stages = await openStages(await ensureDemoPack());
  scenes = await writeScenes(dir, 3);
});
afterAll(async () => {
  await stages?.dispose();
});

describe('runProject on the demo pack', () => {
  it('reproduces identical results with the same settings and seed, and reports progress', async () => {
    const settings = fastSettings(scenes.coco, { seed: 5 });
    const events: RunProgress[] = [];
    const a = await runProject({
      project: join(dir, 'a'),
      images: scenes.scenes,
      settings,
      stages,
      onProgress: (p) => events.push(p),
    });
    const b = await runProject({ project: join(dir, 'b'), images: scenes.scenes, settings, stages });
    expect(a).toMatchObject({ imagesTotal: 3, imagesDone: 3, imagesFailed: 0, cancelled: false });
    expect(b.imagesDone).toBe(3);
    const ra = [...[...Project.open(join(dir, 'a')).results()]];
    const rb = [...[...Project.open(join(dir, 'b')).results()]];
    expect(ra.map(withoutTimings)).toEqual(rb.map(withoutTimings));
    // 4 crops × (beam + 1 top-k + 1 top-p) = 12 candidates per mask
    for (const r of ra) expect(r.candidates).toHaveLength(12 * r.masks.length);
    expect(ra[0].counters?.clipImageEncodes).toBe(2 * ra[0].masks.length);
    expect(events.map((e) => e.stage)).toEqual(
      expect.arrayContaining(['start', 'load', 'masks', 'crops', 'captions', 'scores', 'commit', 'done']),
    );
    expect(events.at(-1)).toMatchObject({ imagesDone: 3, imagesTotal: 3, stage: 'done' });
    expect(events.at(-1)!.rate).toBeGreaterThan(0);
  });

  it('gives different samples with another seed', async () => {
    await runProject({
      project: join(dir, 'c'),
      images: scenes.scenes,
      settings: fastSettings(scenes.coco, { seed: 6 }),
      stages,
    });
    const a = [...[...Project.open(join(dir, 'a')).results()]].flatMap((r) =>
      r.candidates.filter((c) => c.method === 'dcs').map((c) => c.text),
    );
    const c = [...[...Project.open(join(dir, 'c')).results()]].flatMap((r) =>
      r.candidates.filter((c) => c.method === 'dcs').map((c) => c.text),
    );
    expect(a).not.toEqual(c);
  });

  it('allows a new τ on resume but refuses changed generation settings', async () => {
    const settings = fastSettings(scenes.coco, { seed: 5, filter: { tau: 2 } });
    const again = await runProject({ project: join(dir, 'a'), images: scenes.scenes, settings, stages });
    expect(again).toMatchObject({ imagesSkipped: 3, imagesDone: 3 });
    expect(Project.open(join(dir, 'a')).file.settings.filter.tau).toBe(2);
    await expect(
      runProject({
        project: join(dir, 'a'),
        images: scenes.scenes,
        settings: fastSettings(scenes.coco, { seed: 9 }),
        stages,
      }),
    ).rejects.toThrow(/generated with other settings \(seed: 5 → 9\)/);
  });

  it('stops at an image boundary when aborted and resumes without duplicates', async () => {
    const controller = new AbortController();
    const settings = fastSettings(scenes.coco, { seed: 5 });
    const first = await runProject({
      project: join(dir, 'd'),
      images: scenes.scenes,
      settings,
      stages,
      signal: controller.signal,
      onCommit: () => controller.abort(),
    });
    expect(first).toMatchObject({ cancelled: true, imagesDone: 1 });
    const second = await runProject({ project: join(dir, 'd'), settings, stages });
    expect(second).toMatchObject({ cancelled: false, imagesDone: 3, imagesSkipped: 1 });
    const lines = readFileSync(join(dir, 'd', RESULTS_FILE), 'utf8')
      .trim()
      .split('\n');
    expect(lines).toHaveLength(3);
    const a = [...[...Project.open(join(dir, 'a')).results()]].map(withoutTimings);
    expect([...[...Project.open(join(dir, 'd')).results()]].map(withoutTimings)).toEqual(a);
  });

  it('records SAM predicted IoU and a stability in (0, 1] for every generated mask', async () => {
    const settings = fastSettings(scenes.coco, {
      masks: { source: 'generated', pointsPerSide: 8, importPath: undefined },
      captions: { topK: [5], topP: [], beam: false },
    });
    await runProject({
      project: join(dir, 'generated'),
      images: [
        join(
          scenes.scenes,
          readdirSync(scenes.scenes)
            .filter((f) => f.endsWith('.png'))
            .sort()[0],
        ),
      ],
      settings,
      stages,
    });
    const masks = [...[...Project.open(join(dir, 'generated')).results()]].flatMap((r) => r.masks);
    expect(masks.length).toBeGreaterThanOrEqual(2);
    for (const mask of masks) {
      expect(mask.source).toBe('generated');
      expect(mask.stability).toBeGreaterThan(0);
      expect(mask.stability).toBeLessThanOrEqual(1);
      expect(mask.predictedIou).toBeGreaterThan(0);
      // the selector's score is their product
      expect(mask.predictedIou! * mask.stability!).toBeCloseTo(mask.score, 10);
    }
  });

  it('completes a folder with the bad-image corpus, recording each refusal, and exports the rest', async () => {
    const folder = join(dir, 'bad');
    const cases = await writeBadImageCorpus(folder);
    // generated masks on the readable ones (tiny grid: the point is the batch, not the masks)
    const settings = fastSettings(scenes.coco, {
      masks: { source: 'generated', pointsPerSide: 4, importPath: undefined },
      captions: { topK: [5], topP: [], beam: false },
    });
    const summary = await runProject({ project: join(dir, 'bad-project'), images: folder, settings, stages });
    const refused = cases.filter((c) => 'code' in c.expected);
    expect(summary.imagesTotal).toBe(cases.length);
    expect(summary.imagesFailed).toBe(refused.length);
    const results = [...[...Project.open(join(dir, 'bad-project')).results()]];
    for (const c of refused) {
      const r = results.find((x) => x.image.name === c.file)!;
      expect(r.status, c.file).toBe('failed');
      expect(r.error).toMatchObject({ stage: 'load', code: (c.expected as { code: string }).code });
    }
    const done = results.filter((r) => r.status === 'done');
    expect(done.length).toBe(cases.length - refused.length);
    const exported = await exportProject(join(dir, 'bad-project'), {
      format: 'jsonl',
      out: join(dir, 'bad-export'),
    });
    expect(exported.images).toBe(done.length);
  });
});
