// Re-captioning through the engine facade on the demo pack: a finished image gets a mask by prompt and loses one,
// `run:start` with `force` regenerates and re-scores the candidates over the edited mask set (a new revision in
// results.jsonl), the review state of the old candidates is dropped, exports follow the new revision, a second
// re-caption works, and a review file left stale by a crash is reconciled on open.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  CandidateView,
  ImagePage,
  ImageSummary,
  InspectorTrace,
  MaskView,
  RunFinished,
  RunProgress,
} from '../../shared/api.ts';
import type { ImageResult } from '../../shared/results.ts';
import type { EngineClient } from './client.ts';
import { REVIEW_FILE } from './session.ts';
import { decodeLine } from '../pipeline/index.ts';
import { startTestEngine, type TestEngine } from '../testing/engine.ts';

let base: string;
let engine: EngineClient;
let testEngine: TestEngine;

beforeAll(async () => {
  testEngine = await startTestEngine('pris-recaption-');
  ({ base, engine } = testEngine);
});

afterAll(() => testEngine.close());

const call = <T>(channel: Parameters<EngineClient['request']>[0], params: unknown = {}) =>
  engine.request(channel, params) as Promise<T>;

/** Starts a run and answers its `run:finished` payload and the stages its progress events named. */
async function run(
  params: unknown,
): Promise<{ finished: RunFinished; stages: Set<string>; images: ImageSummary[] }> {
  const stages = new Set<string>();
  const images: ImageSummary[] = [];
  const finished = new Promise<RunFinished>((resolve) => {
    const off = engine.onEvent((event, payload) => {
      if (event === 'run:progress') stages.add((payload as RunProgress).stage);
      if (event === 'run:image') images.push(payload as ImageSummary);
      if (event === 'run:finished') {
        off();
        resolve(payload as RunFinished);
      }
    });
  });
  await call('run:start', params);
  return { finished: await finished, stages, images };
}

const results = (dir: string): ImageResult[] =>
  readFileSync(join(dir, 'results.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => decodeLine(line));

describe('re-captioning an image with its edited masks', () => {
  it('regenerates and re-scores the candidates over the current mask set, revision after revision', async () => {
    const dir = join(base, 'allowed', 'demo');
    await call('project:openDemo', { dir, count: 1, seed: 3 });
    expect((await run({ imageIds: ['1'] })).finished).toMatchObject({ outcome: 'completed', imagesDone: 1 });
    const before = await call<MaskView[]>('image:masks', { imageId: '1' });
    expect(before.length).toBeGreaterThanOrEqual(2);
    const oldCandidates = await call<CandidateView[]>('candidates:list', { imageId: '1' });
    await call('candidates:decide', { candidateId: oldCandidates[0].id, decision: 'rejected' });
    await call('candidates:edit', { candidateId: oldCandidates[1].id, text: 'an edit of the old caption' });

    // edit the mask set: one mask by a click inside the first mask's box, the last generated mask deleted
    const [x, y, w, h] = before[0].bbox;
    const added = await call<MaskView>('mask:add', {
      imageId: '1',
      prompt: { points: [{ x: x + w / 2, y: y + h / 2, label: 1 }] },
    });
    expect(added.selectionReason).toContain('not captioned yet');
    const gone = before[before.length - 1];
    await call('mask:delete', { maskId: gone.id });

    const first = run({ imageIds: ['1'], force: true });
    // the mask set was taken when the run started: edits of the image wait for its new revision
    await expect(call('mask:delete', { maskId: before[0].id })).rejects.toThrow(
      'image 1 is being re-captioned: wait for it to finish',
    );
    const { finished, stages, images } = await first;
    expect(finished).toMatchObject({ outcome: 'completed', imagesDone: 1, imagesFailed: 0, error: null });
    // the committed re-caption says which old mask became which new one: kept masks keep their place, the deleted
    // one maps to null, the prompted mask (1:u0) comes last
    const committed = images.filter((image) => image.maskIds);
    expect(committed).toHaveLength(1);
    const n = before.length;
    expect(committed[0].maskIds).toEqual({
      ...Object.fromEntries(before.slice(0, -1).map((m, k) => [m.id, `1:${k}`])),
      [gone.id]: null,
      [added.id]: `1:${n - 1}`,
    });
    expect(added.id).toBe('1:u0');
    expect(stages.has('captions') && stages.has('scores')).toBe(true);

    const after = await call<MaskView[]>('image:masks', { imageId: '1' });
    expect(after).toHaveLength(before.length);
    expect(after.map((m) => m.id)).toEqual(after.map((m, k) => `1:${k}`));
    expect(after.map((m) => m.area)).toEqual([...before.slice(0, -1).map((m) => m.area), added.area]);
    const recaptioned = after[after.length - 1];
    expect(recaptioned.source).toBe('prompt');
    expect(recaptioned.candidates).toBe(12);
    const own = await call<CandidateView[]>('candidates:list', { imageId: '1', maskId: recaptioned.id });
    expect(own.filter((c) => c.exportable)).toHaveLength(12);
    for (const c of own) {
      expect(c.text.length).toBeGreaterThan(0);
      expect(Number.isFinite(c.uos) && Number.isFinite(c.cos) && Number.isFinite(c.dos)).toBe(true);
    }
    // the inspector replays a re-captioned candidate from the stored masks and seed: the same seed rules held
    const dcs = own.find((c) => c.method === 'dcs')!;
    const traced = await call<InspectorTrace>('inspector:trace', { candidateId: dcs.id });
    expect(traced.trace.text).toBe(dcs.text);
    expect(traced.maskIds).toEqual(after.map((m) => m.id));
    // dropped, not remapped: the old decision and edit would otherwise sit on regenerated captions
    const everyCandidate = await call<CandidateView[]>('candidates:list', { imageId: '1' });
    expect(everyCandidate.every((c) => c.decision === null && c.editedText === null)).toBe(true);
    const review = JSON.parse(readFileSync(join(dir, REVIEW_FILE), 'utf8'));
    expect(review).toMatchObject({
      decisions: {},
      edits: {},
      userMasks: {},
      deletedMasks: [],
      revisions: { 1: 1 },
    });
    expect(results(dir).map((r) => r.revision)).toEqual([0, 1]);
    // the prompted mask keeps SAM's figures from its prompt in the stored result
    expect(results(dir)[1].masks.at(-1)).toMatchObject({
      source: 'prompt',
      area: added.area,
      predictedIou: added.predictedIou,
      stability: added.stability,
    });
    const summary = (await call<ImagePage>('project:images')).images[0];
    expect(summary).toMatchObject({ status: 'done', masks: before.length });

    // the exports read the new revision
    const exported = await call<{ files: string[] }>('export:run', {
      formats: ['jsonl'],
      dest: join(base, 'allowed', 'export'),
    });
    const lines = readFileSync(
      exported.files.find((f) => f.endsWith('candidates.jsonl'))!,
      'utf8',
    )
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { mask: number; text: string; dos: number });
    expect(lines).toHaveLength(everyCandidate.length);
    expect(lines.filter((l) => l.mask === recaptioned.index).map((l) => l.text)).toEqual(
      own.map((c) => c.text),
    );

    // a second re-caption: the prompted mask is now stored; deleting it brings the set back down
    await call('mask:delete', { maskId: recaptioned.id });
    expect((await run({ imageIds: ['1'], force: true })).finished).toMatchObject({ outcome: 'completed' });
    const again = await call<MaskView[]>('image:masks', { imageId: '1' });
    expect(again.map((m) => m.area)).toEqual(before.slice(0, -1).map((m) => m.area));
    expect(again.every((m) => m.candidates === 12)).toBe(true);
    expect(results(dir).map((r) => r.revision)).toEqual([0, 1, 2]);

    // a crash between the commit and the review update leaves entries of revision 1: opening drops them
    writeFileSync(
      join(dir, REVIEW_FILE),
      JSON.stringify({
        ...review,
        decisions: { '1:0:0': 'accepted' },
        deletedMasks: ['1:0'],
        revisions: { 1: 1 },
      }),
    );
    await call('project:open', { dir });
    expect(await call<MaskView[]>('image:masks', { imageId: '1' })).toHaveLength(again.length);
    const reopened = await call<CandidateView[]>('candidates:list', { imageId: '1', maskId: '1:0' });
    expect(reopened[0].decision).toBeNull();
    expect(JSON.parse(readFileSync(join(dir, REVIEW_FILE), 'utf8')).revisions).toEqual({ 1: 2 });
  });
});
