/**
 * The app at scale (issue 20), through the API as the page calls it: a project of a few thousand images is opened,
 * paged through (`project:images`), τ moved (`filter:counts`) and reviewed; every count equals the shared rule run on
 * every stored result, and the session holds no result beyond the page it decodes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  CandidateView,
  DosScores,
  ExportResult,
  ImagePage,
  KeptCounts,
  ProjectInfo,
  ReportView,
} from '../../shared/api.ts';
import type { ImageResult } from '../../shared/results.ts';
import { keptByMask } from '../dataset/export/context.ts';
import { readProjectReview } from '../dataset/review.ts';
import { pickleListBody } from '../dataset/pickle.ts';
import { decideResult, keepPolicy, type ReviewInput } from '../filter/index.ts';
import { readResults } from '../pipeline/index.ts';
import { startTestEngine, type TestEngine } from '../testing/engine.ts';
import { writeScaleProject } from '../testing/scale-project.ts';

const COUNT = 3000;
let testEngine: TestEngine;
let dir: string;
let results: ImageResult[];

beforeAll(async () => {
  testEngine = await startTestEngine('pris-scale-');
  dir = await writeScaleProject(join(testEngine.base, 'allowed', 'scale'), COUNT, {
    filter: { emptyMask: 'keep-best', singleMask: 'keep-by-cos-rank' },
  });
  results = readResults(dir);
}, 120_000);

afterAll(() => testEngine?.close());

const call = <T>(channel: string, params: unknown = {}) =>
  testEngine.engine.request(channel as never, params) as Promise<T>;

/** Per image id, the kept count the shared rule gives at τ with the review applied. */
function reference(
  tau: number,
  review: ReviewInput | null,
  settings: ProjectInfo['settings'],
): Map<string, number> {
  const policy = keepPolicy(settings, tau);
  return new Map(
    results
      .filter((r) => r.status === 'done')
      .map((r) => [String(r.image.id), decideResult(r, policy, review).filter((d) => d.kept).length]),
  );
}
const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

describe(`a project of ${COUNT} images`, () => {
  it('opens, pages and re-counts at every τ as the shared rule does', { timeout: 300_000 }, async () => {
    const started = performance.now();
    const info = await call<ProjectInfo>('project:open', { dir });
    const first = await call<ImagePage>('project:images', { offset: 0, limit: 60 });
    const openMs = performance.now() - started;
    expect(info.imageCount).toBe(COUNT);
    expect(first.total).toBe(COUNT);
    expect(first.images.map((i) => i.id)).toEqual(Array.from({ length: 60 }, (_, k) => String(k + 1)));
    const failed = results.filter((r) => r.status === 'failed').length;
    expect(first.counts).toEqual({
      pending: COUNT - results.length,
      running: 0,
      done: results.length - failed,
      error: failed,
    });
    const settings = info.settings;

    // τ moves: the top bar's count and every tile's equal the rule on each stored result
    const moves: number[] = [];
    for (const tau of [0, 0.5, 0.95, 1.3, 1.35, 2.05, 3]) {
      const at = performance.now();
      const counts = await call<KeptCounts>('filter:counts', {
        tau,
        imageIds: first.images.map((i) => i.id),
      });
      moves.push(performance.now() - at);
      const expected = reference(tau, null, settings);
      expect(counts.kept).toBe(sum(expected));
      for (const image of first.images)
        if (image.status === 'done') expect(counts.perImage[image.id].kept).toBe(expected.get(image.id));
    }

    // the whole gallery in pages at one τ: tiles sum to the top bar, pages are disjoint and in project order
    const tau = 1.3;
    const seen: string[] = [];
    let tiles = 0;
    for (let offset = 0; offset < COUNT; offset += 1000) {
      const page = await call<ImagePage>('project:images', { offset, limit: 1000, tau });
      seen.push(...page.images.map((i) => i.id));
      tiles += page.images.reduce((s, i) => s + i.kept, 0);
    }
    expect(seen).toEqual(Array.from({ length: COUNT }, (_, k) => String(k + 1)));
    expect(tiles).toBe(sum(reference(tau, null, settings)));

    // review marks: accept below τ, reject above, delete a mask; counts follow the rule with the review applied
    const marked = results.filter((r) => r.status === 'done' && r.masks.length > 1).slice(0, 40);
    for (const [k, result] of marked.entries()) {
      const list = await call<CandidateView[]>('candidates:list', { imageId: String(result.image.id) });
      const pick = list[k % list.length];
      if (k % 3 === 2) await call('mask:delete', { maskId: pick.maskId });
      else
        await call('candidates:decide', { candidateId: pick.id, decision: k % 3 ? 'rejected' : 'accepted' });
    }
    const review = JSON.parse(
      (await import('node:fs')).readFileSync(join(dir, 'review.json'), 'utf8'),
    ) as ReviewInput;
    for (const t of [0.5, 1.3, 2]) {
      const expected = reference(t, review, settings);
      const counts = await call<KeptCounts>('filter:counts', {
        tau: t,
        imageIds: marked.map((r) => String(r.image.id)),
      });
      expect(counts.kept).toBe(sum(expected));
      for (const r of marked)
        expect(counts.perImage[String(r.image.id)].kept).toBe(expected.get(String(r.image.id)));
    }
    const report = await call<ReportView>('report:get', { tau });
    expect(report.kept).toBe(sum(reference(tau, review, settings)));
    // its kept-share curve (read from the columnar counter) is the rule's at every τ of the grid
    const exportable = results
      .filter((r) => r.status === 'done')
      .reduce((n, r) => n + r.candidates.filter((c) => !c.comparison).length, 0);
    expect(report.keptShareVsTau.share).toEqual(
      report.keptShareVsTau.tau.map((t) => sum(reference(t, review, settings)) / exportable),
    );
    const again = performance.now();
    expect(await call<ReportView>('report:get', { tau })).toEqual(report);
    const cachedReportMs = performance.now() - again;

    // filters and orders are the engine's: most kept first, names in order, failed only, unreviewed only
    const byKept = await call<ImagePage>('project:images', { order: 'kept', limit: 1000, tau });
    const keptValues = byKept.images.map((i) => i.kept);
    expect(keptValues).toEqual([...keptValues].sort((a, b) => b - a));
    expect(keptValues[0]).toBe(Math.max(...reference(tau, review, settings).values()));
    const byName = await call<ImagePage>('project:images', { order: 'name', offset: 100, limit: 50 });
    expect(byName.images.map((i) => i.file)).toEqual(
      Array.from({ length: 50 }, (_, k) => `img-${String(k + 101).padStart(6, '0')}.png`),
    );
    const failedPage = await call<ImagePage>('project:images', { filter: 'failed', limit: 1000 });
    expect(failedPage.total).toBe(failed);
    expect(failedPage.images[0].error?.message).toMatch(/is not an image/);
    const unreviewed = await call<ImagePage>('project:images', { filter: 'unreviewed', limit: 10 });
    const reviewedIds = new Set(Object.keys(review.decisions).map((id) => id.split(':')[0]));
    expect(unreviewed.total).toBeGreaterThan(0);
    expect(unreviewed.images.every((i) => i.status === 'done')).toBe(true);
    expect(reviewedIds.size).toBeGreaterThan(0);

    // the slider's histogram counts every stored DoS, never ships them
    const scores = await call<DosScores>('filter:scores');
    const ratios = results.flatMap((r) =>
      r.status === 'done' && r.masks.length > 1 ? r.candidates.filter((c) => !c.comparison) : [],
    ).length;
    expect(scores.histogram.counts.reduce((a, b) => a + b, 0)).toBe(ratios);
    expect(Object.keys(scores)).not.toContain('dos');

    console.log(
      `scale: ${COUNT} images: open → first page ${openMs.toFixed(0)} ms; τ move (filter:counts with a 60-tile page) ` +
        `${moves.map((m) => m.toFixed(1)).join(', ')} ms; cached report ${cachedReportMs.toFixed(1)} ms`,
    );
  });

  it(
    'exports refcoco streamed: one ref per mask that keeps a caption, the saved review applied',
    { timeout: 300_000 },
    async () => {
      await call<ProjectInfo>('project:open', { dir });
      const dest = join(testEngine.base, 'allowed', 'scale-export');
      const done = await call<ExportResult>('export:run', { formats: ['refcoco'], dest });
      // the reference: each mask with at least one distinct kept caption is one ref (keptByMask, the exports' rule,
      // with the review the app saved)
      const saved = readProjectReview(dir);
      const settings = (await call<ProjectInfo>('project:open', { dir })).settings;
      const policy = keepPolicy(settings);
      let refs = 0;
      let expressions = 0;
      for (const r of results.filter((x) => x.status === 'done')) {
        for (const texts of keptByMask(r, policy, saved).values()) {
          const distinct = new Set(texts.map((c) => c.text.trim()).filter((t) => t !== ''));
          if (distinct.size > 0) refs++;
          expressions += distinct.size;
        }
      }
      expect(refs).toBeGreaterThan(COUNT);
      const pickle = pickleListBody(readFileSync(join(dest, 'refcoco', 'refcocog', 'refs(umd).p')));
      expect(pickle.count).toBe(refs);
      const instances = JSON.parse(
        readFileSync(join(dest, 'refcoco', 'refcocog', 'instances.json'), 'utf8'),
      ) as {
        annotations: Array<{ id: number }>;
      };
      expect(instances.annotations.map((a) => a.id)).toEqual(Array.from({ length: refs }, (_, k) => k + 1));
      expect(done.splits.map((s) => [s.format, s.refs, s.expressions])).toEqual([
        ['refcoco', refs, expressions],
      ]);
      // the plan's scratch file is gone with the export
      expect(readdirSync(join(dest, 'refcoco')).filter((f) => f.includes('refs-plan'))).toEqual([]);
    },
  );
});
