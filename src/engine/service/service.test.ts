// The engine facade on the demo pack, end to end through the host protocol (in-process channel): demo project,
// a run with progress events, masks, a prompted mask, candidates with review and undo, τ counts from stored
// scores, a trace that replays the stored caption, naive vs DCS, report and export; plus confinement and the
// worker-thread host.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  InspectorAttribution,
  CandidateView,
  DosScores,
  ImagePage,
  InspectorBeamTrace,
  InspectorRerun,
  InspectorTrace,
  KeptCounts,
  MaskView,
  ProjectInfo,
  ReportView,
  RunFinished,
} from '../../shared/api.ts';
import type { EngineClient } from './client.ts';
import { startTestEngine, type TestEngine } from '../testing/engine.ts';
import { startWorkerEngine } from './worker.ts';

let base: string;
let engine: EngineClient;
const events: [string, unknown][] = [];
let testEngine: TestEngine;

beforeAll(async () => {
  testEngine = await startTestEngine('pris-service-');
  ({ base, engine } = testEngine);
  engine.onEvent((event, payload) => events.push([event, payload]));
});

afterAll(() => testEngine.close());

const call = <T>(channel: Parameters<EngineClient['request']>[0], params: unknown = {}) =>
  engine.request(channel, params) as Promise<T>;

describe('the engine facade on the demo pack', () => {
  it('refuses a project outside the allowed folders', async () => {
    await expect(call('project:openDemo', { dir: join(base, 'elsewhere'), count: 1 })).rejects.toThrow(
      'demo project folder is outside the allowed folders',
    );
    await expect(call('project:images')).rejects.toThrow('no project is open');
  });

  it('runs the flow the UI needs, from demo scenes to export', async () => {
    const project = await call<ProjectInfo>('project:openDemo', {
      dir: join(base, 'allowed', 'demo'),
      count: 2,
      seed: 3,
    });
    expect(project.imageCount).toBe(2);
    expect(project.pack?.demo).toBe(true);
    expect(project.settings.masks.pointsPerSide).toBe(8);

    const images = (await call<ImagePage>('project:images')).images;
    expect(images.map((i) => i.status)).toEqual(['pending', 'pending']);
    await call('run:start', { imageIds: [images[0].id] });
    await expect(call('run:start', {})).rejects.toThrow('a run is already going');
    const finished = await new Promise<RunFinished>((resolve) => {
      const off = engine.onEvent((event, payload) => {
        if (event === 'run:finished') {
          off();
          resolve(payload as RunFinished);
        }
      });
    });
    expect(finished).toMatchObject({ outcome: 'completed', imagesDone: 1, imagesFailed: 0, error: null });
    expect(
      events.some(
        ([event, payload]) => event === 'run:progress' && (payload as { stage: string }).stage === 'captions',
      ),
    ).toBe(true);
    const after = (await call<ImagePage>('project:images')).images;
    expect(after.map((i) => i.status)).toEqual(['done', 'pending']);

    const masks = await call<MaskView[]>('image:masks', { imageId: images[0].id });
    expect(masks.length).toBeGreaterThanOrEqual(2);
    expect(masks[0].selectionReason).toMatch(/^rank \d of \d by predicted IoU × stability/);
    // generated masks carry SAM's own predicted IoU and stability through to the mask list
    for (const mask of masks) {
      expect(mask.stability).toBeGreaterThan(0);
      expect(mask.stability).toBeLessThanOrEqual(1);
      expect(mask.predictedIou).toBeGreaterThan(0);
    }
    const [x, y, w, h] = masks[0].bbox;
    const added = await call<MaskView>('mask:add', {
      imageId: images[0].id,
      prompt: { points: [{ x: x + w / 2, y: y + h / 2, label: 1 }] },
    });
    expect(added.source).toBe('prompt');
    expect(added.area).toBeGreaterThan(0);
    expect(await call<MaskView[]>('image:masks', { imageId: images[0].id })).toHaveLength(masks.length + 1);
    await call('mask:delete', { maskId: added.id });
    expect(await call<MaskView[]>('image:masks', { imageId: images[0].id })).toHaveLength(masks.length);
    // undo of a delete: the mask counts again; restoring one that is not deleted is named
    await call('mask:restore', { maskId: added.id });
    expect(await call<MaskView[]>('image:masks', { imageId: images[0].id })).toHaveLength(masks.length + 1);
    await expect(call('mask:restore', { maskId: added.id })).rejects.toThrow(
      `mask "${added.id}" is not deleted`,
    );
    await call('mask:delete', { maskId: added.id });
    expect(await call<MaskView[]>('image:masks', { imageId: images[0].id })).toHaveLength(masks.length);

    const candidates = await call<CandidateView[]>('candidates:list', {
      imageId: images[0].id,
      maskId: masks[0].id,
    });
    // 4 crops × (beam + 2 DCS) exportable + 2 plain-sampling comparison rows per crop
    expect(candidates.filter((c) => c.exportable)).toHaveLength(12);
    expect(candidates.every((c) => c.maskId === masks[0].id)).toBe(true);
    const decided = await call<CandidateView>('candidates:decide', {
      candidateId: candidates[0].id,
      decision: 'rejected',
    });
    expect(decided.decision).toBe('rejected');
    const undone = await call<{ candidate: CandidateView }>('candidates:undo');
    expect(undone.candidate.decision).toBeNull();
    // a group decision (equal captions, accept-all-kept) is one undo step; a bad id changes nothing
    const group = candidates.slice(0, 3).map((c) => c.id);
    await call('candidates:decide', { candidateId: group[1], decision: 'rejected' });
    const many = await call<CandidateView[]>('candidates:decideMany', {
      candidateIds: group,
      decision: 'accepted',
    });
    expect(many.map((c) => [c.id, c.decision])).toEqual(group.map((id) => [id, 'accepted']));
    await expect(
      call('candidates:decideMany', {
        candidateIds: [group[0], `${images[0].id}:0:999`],
        decision: 'rejected',
      }),
    ).rejects.toThrow(`no candidate with id "${images[0].id}:0:999"`);
    const groupUndone = await call<{ candidates: CandidateView[] }>('candidates:undo');
    expect(groupUndone.candidates.map((c) => c.decision)).toEqual([null, 'rejected', null]);
    await call('candidates:undo');
    const listed = await call<CandidateView[]>('candidates:list', {
      imageId: images[0].id,
      maskId: masks[0].id,
    });
    expect(listed.filter((c) => group.includes(c.id)).map((c) => c.decision)).toEqual([null, null, null]);

    const low = await call<KeptCounts>('filter:counts', { tau: 0 });
    const high = await call<KeptCounts>('filter:counts', { tau: 10 });
    expect(low.candidates).toBe(high.candidates);
    expect(low.kept).toBeGreaterThan(high.kept);

    const dcs = candidates.find((c) => c.method === 'dcs')!;
    const traced = await call<InspectorTrace>('inspector:trace', { candidateId: dcs.id });
    expect(traced.trace.text).toBe(dcs.text);
    expect(traced.trace.steps.length).toBeGreaterThan(0);
    expect(traced.maskIds[traced.trace.target.maskIndex]).toBe(dcs.maskId);
    const rerun = await call<InspectorRerun>('inspector:rerun', { candidateId: dcs.id, overrides: {} });
    expect(rerun.dcs.text).toBe(dcs.text);
    expect(rerun.naive.calibrated).toBe(false);
    expect(rerun.comparison.right.text).toBe(rerun.dcs.text);
    // Occlusion attribution of step 1: a 2×2 grid gives four drops per distribution, the token is the candidate's.
    const attribution = await call<InspectorAttribution>('inspector:attribute', {
      candidateId: dcs.id,
      step: 1,
      grid: 2,
    });
    expect(attribution.candidateId).toBe(dcs.id);
    expect(attribution.token).toBe(traced.trace.tokenIds[2]);
    expect(attribution.boxes).toEqual([
      { x: 0, y: 0, width: 112, height: 112 },
      { x: 112, y: 0, width: 112, height: 112 },
      { x: 0, y: 112, width: 112, height: 112 },
      { x: 112, y: 112, width: 112, height: 112 },
    ]);
    expect(attribution.naive.drop).toHaveLength(4);
    expect(attribution.dcs.drop).toHaveLength(4);
    await expect(call('inspector:attribute', { candidateId: dcs.id, step: 1, grid: 1 })).rejects.toThrow(
      'grid must be 2–16 patches per side',
    );
    await expect(
      call('inspector:attribute', { candidateId: dcs.id, step: traced.trace.tokenIds.length - 1 }),
    ).rejects.toThrow(`step must be in 0..${traced.trace.tokenIds.length - 2}`);
    // The beam view: the crop's search replayed with tracing; its winner is the stored candidate and score.
    const beam = candidates.find((c) => c.method === 'beam')!;
    const beamed = await call<InspectorBeamTrace>('inspector:beam', { candidateId: beam.id });
    expect(beamed.trace.text).toBe(beam.text);
    expect(beamed.storedScore).toBe(beamed.trace.score);
    expect(beamed.trace.hypotheses[beamed.trace.winner]!.score).toBe(beamed.trace.score);
    expect(beamed.maskIds[beamed.trace.target.maskIndex]).toBe(beam.maskId);
    await expect(call('inspector:beam', { candidateId: dcs.id })).rejects.toThrow(
      `candidate ${dcs.id} is sampled (${dcs.settingKey}), not beam search`,
    );
    await expect(call('inspector:trace', { candidateId: beam.id })).rejects.toThrow(
      'beam-search candidates have no sampling trace: ask for their beam trace (inspector:beam)',
    );

    const exported = await call<{ dest: string; files: string[] }>('export:run', { formats: ['refcoco'] });
    expect(exported.dest).toBe(join(base, 'allowed', 'demo', 'exports'));
    expect(exported.files.some((f) => f.endsWith('refs(umd).p'))).toBe(true);
    for (const file of exported.files) expect(existsSync(file)).toBe(true);
    // review: a rejected candidate leaves the export, an edited text replaces the generated one
    const everyCandidate = await call<CandidateView[]>('candidates:list', { imageId: images[0].id });
    const kept = everyCandidate.filter(
      (c) => c.exportable && c.dos !== null && c.dos > project.settings.filter.tau,
    );
    // the rejected one has a text no other kept candidate shares, so its absence from the CSV is observable
    const rejected = kept.find((c) => kept.filter((k) => k.text === c.text).length === 1)!;
    const edited = kept.find((c) => c.id !== rejected.id)!;
    expect(rejected && edited).toBeTruthy();
    const csvBefore = await call<{ files: string[] }>('export:run', {
      formats: ['csv'],
      dest: join(base, 'allowed', 'plain'),
    });
    expect(
      readFileSync(
        csvBefore.files.find((f) => f.endsWith('.csv'))!,
        'utf8',
      ),
    ).toContain(rejected.text);
    await call('candidates:decide', { candidateId: rejected.id, decision: 'rejected' });
    await call('candidates:edit', { candidateId: edited.id, text: 'the edited expression' });
    const csv = await call<{ files: string[] }>('export:run', {
      formats: ['csv'],
      dest: join(base, 'allowed', 'reviewed'),
    });
    const table = readFileSync(
      csv.files.find((f) => f.endsWith('.csv'))!,
      'utf8',
    );
    expect(table).toContain('the edited expression');
    expect(table).not.toContain(rejected.text);

    // accept keeps below τ: the page's count (shared index over filter:scores), filter:counts, the report and the
    // jsonl export agree on it
    const below = everyCandidate.find(
      (c) => c.exportable && c.dos !== null && c.dos <= project.settings.filter.tau,
    )!;
    expect(below).toBeDefined();
    await call('candidates:decide', { candidateId: below.id, decision: 'accepted' });
    const tau = project.settings.filter.tau;
    const scores = await call<DosScores>('filter:scores');
    // the gallery's tiles (engine pages) sum to the top bar's count
    const tiles = await call<ImagePage>('project:images', { tau });
    const page = tiles.images.reduce((sum, image) => sum + image.kept, 0);
    const counts = await call<KeptCounts>('filter:counts', { tau });
    expect(scores.candidates).toBe(counts.candidates);
    expect(scores.histogram.counts.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    const report = await call<ReportView>('report:get', { tau });
    const jsonl = await call<{ files: string[] }>('export:run', {
      formats: ['jsonl'],
      dest: join(base, 'allowed', 'agree'),
    });
    const lines = readFileSync(
      jsonl.files.find((f) => f.endsWith('.jsonl'))!,
      'utf8',
    )
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            kept: boolean;
            candidate: number;
            mask: number;
            image_id: number;
            edited: boolean;
          },
      );
    expect([page, counts.kept, report.kept]).toEqual([
      lines.filter((l) => l.kept).length,
      lines.filter((l) => l.kept).length,
      lines.filter((l) => l.kept).length,
    ]);
    const line = (id: string) => lines.find((l) => `${l.image_id}:${l.mask}:${l.candidate}` === id)!;
    expect([line(rejected.id).kept, line(edited.id).edited]).toEqual([false, true]);
    expect(line(below.id).kept).toBe(true);
    await expect(call('export:run', { formats: ['csv'], dest: join(base, 'outside') })).rejects.toThrow(
      'export destination is outside the allowed folders',
    );
  });

  it('cancels a run inside an image without committing it: the image stays pending', async () => {
    await call('project:openDemo', { dir: join(base, 'allowed', 'demo'), count: 2, seed: 3 });
    const finished = new Promise<RunFinished>((resolve) => {
      const off = engine.onEvent((event, payload) => {
        if (event === 'run:progress' && (payload as { stage: string }).stage === 'masks')
          void call('run:cancel');
        if (event === 'run:finished') {
          off();
          resolve(payload as RunFinished);
        }
      });
    });
    await call('run:start', { imageIds: ['2'] });
    expect(await finished).toMatchObject({ outcome: 'cancelled' });
    const images = (await call<ImagePage>('project:images')).images;
    expect(images.find((i) => i.id === '2')?.status).toBe('pending');
    expect(await call('run:status')).toBeNull();
  });

  it('creates no project when the image folder given to project:create does not exist', async () => {
    const dir = join(base, 'allowed', 'no-images-project');
    await expect(
      call('project:create', { dir, images: join(base, 'allowed', 'missing-folder') }),
    ).rejects.toThrow('missing-folder');
    expect(existsSync(join(dir, 'project.json'))).toBe(false);
  });

  it('pauses after committing the image in flight, reports paused (not cancelled), and resumes the rest', async () => {
    await call('project:openDemo', { dir: join(base, 'allowed', 'demo-pause'), count: 2, seed: 3 });
    const events: string[] = [];
    let paused: Promise<unknown> | null = null;
    let during: Promise<ImagePage> | null = null;
    const finished = new Promise<RunFinished>((resolve) => {
      const off = engine.onEvent((event, payload) => {
        const p = payload as { stage?: string; state?: string; outcome?: string };
        if (event === 'run:progress' && (p.stage === 'paused' || p.stage === 'cancelled'))
          events.push(`${p.stage}:${p.state}`);
        if (event === 'run:progress' && p.stage === 'masks' && !paused) {
          // the image in flight is running; the one the run has not reached is pending
          during = call<ImagePage>('project:images');
          paused = call('run:pause');
        }
        if (event === 'run:finished') {
          events.push(`finished:${p.outcome}`);
          off();
          resolve(payload as RunFinished);
        }
      });
    });
    const started = await call<{ runId: string }>('run:start', {});
    await expect.poll(() => paused, { timeout: 60_000 }).not.toBeNull();
    expect((await during!).images.map((i) => i.status)).toEqual(['running', 'pending']);
    expect(await paused).toMatchObject({ state: 'paused', imagesDone: 1 });
    expect(await call('run:status')).toMatchObject({ state: 'paused' });
    expect(events).toEqual(['paused:paused']);
    const images = (await call<ImagePage>('project:images')).images;
    expect(images.map((i) => i.status)).toEqual(['done', 'pending']);
    // the same run goes on, with its total and what it has done (not a new run counting from 0/1)
    expect(await call('run:resume')).toMatchObject({
      runId: started.runId,
      state: 'running',
      imagesDone: 1,
      imagesTotal: 2,
    });
    expect(await finished).toMatchObject({ outcome: 'completed', imagesDone: 2, runId: started.runId });
    expect(events).toEqual(['paused:paused', 'finished:completed']);
    const after = (await call<ImagePage>('project:images')).images;
    expect(after.map((i) => i.status)).toEqual(['done', 'done']);
  });

  it('names unknown ids and refuses malformed payloads in the host', async () => {
    await call('project:openDemo', { dir: join(base, 'allowed', 'demo'), count: 2, seed: 3 });
    await expect(call('image:masks', { imageId: '99' })).rejects.toThrow('no image with id "99"');
    await expect(call('inspector:trace', { candidateId: '1:0:999' })).rejects.toThrow(
      'no candidate with id "1:0:999"',
    );
    await expect(call('filter:counts', { tau: -1 })).rejects.toThrow('tau must be ≥ 0');
  });
});

describe('the worker-thread engine host', () => {
  it('answers requests from its own thread and reports validation errors with their code', async () => {
    const worker = startWorkerEngine({
      mode: 'served',
      version: 'w',
      packDirs: [],
      allowedRoots: [],
      defaultProjectDir: '/tmp',
    });
    try {
      await expect(worker.request('app:info', {})).resolves.toMatchObject({ mode: 'served', version: 'w' });
      await expect(worker.request('project:open', { dir: 'relative' })).rejects.toMatchObject({
        code: 'invalid-params',
      });
    } finally {
      await worker.close();
    }
  });
});
