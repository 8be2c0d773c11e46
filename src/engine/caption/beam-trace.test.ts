/**
 * The beam view's trace on the demo pack: re-running one crop's beam search with tracing gives the candidate a run
 * stores, byte for byte, on the cached decoder and on the full-prefix path, and the trace accounts for it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_DECODING, type DecodingOptions } from '../../shared/caption.ts';
import { renderScene } from '../demo/scenes.ts';
import { buildCrops } from '../image/crops.ts';
import { openDemoCaptioner, type DemoCaptionerForTests } from '../testing/caption-model.ts';
import { traceBeam } from './beam-trace.ts';
import { Captioner } from './captioner.ts';
import { generateCaptions } from './generate.ts';

let demo: DemoCaptionerForTests;
beforeAll(async () => {
  demo = await openDemoCaptioner();
});
afterAll(async () => {
  await demo?.dispose();
});

/** JSON with −0 and every float spelled out exactly, so equal strings mean equal bytes. */
function exact(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) =>
    typeof v === 'number' ? (Object.is(v, -0) ? '-0' : v.toString()) : v,
  );
}

/** The decoder input of scene `seed`/`index`'s masked crops with the demo tokenizer (image id `s`). */
function scene(seed: number, index: number) {
  const rendered = renderScene(seed, index);
  const [masked] = buildCrops(
    rendered.image,
    rendered.truth.objects.map((object) => object.mask),
    { crops: [{ kind: 'masked' }] },
  );
  return {
    tokenizer: demo.tokenizer,
    special: demo.special,
    crops: masked!.data,
    crop: masked!.crop,
    count: rendered.truth.objects.length,
    imageId: 's',
  };
}

const options: DecodingOptions = { ...DEFAULT_DECODING, topK: [], topP: [] };

describe('the beam trace on the demo pack', () => {
  for (const cache of ['auto', 'off'] as const) {
    it(`replays every crop's stored beam candidate byte for byte, tracing changing nothing (${cache === 'auto' ? 'cached decoder' : 'full-prefix path'})`, async () => {
      const common = scene(3, 0);
      // the run, untraced on the same decoder path: every crop's beams (and nothing else) batched together
      const run = await generateCaptions({
        ...common,
        captioner: new Captioner(demo.sessions, { cache }),
        options,
      });
      expect(run.candidates).toHaveLength(common.count);
      for (let target = 0; target < common.count; target++) {
        const captioner = new Captioner(demo.sessions, { cache });
        expect(captioner.path).toBe(cache === 'auto' ? 'cached' : 'full-prefix');
        const { candidate, trace } = await traceBeam({ ...common, captioner, options, target });
        const stored = run.candidates[target]!;
        expect(exact(candidate)).toBe(exact(stored));
        expect(trace.tokenIds).toEqual(stored.tokenIds);
        expect(trace.text).toBe(stored.text);
        // the winner's final score is the stored candidate's score
        expect(trace.hypotheses[trace.winner]!.score).toBe(stored.beamScore);
        expect(trace.score).toBe(stored.beamScore);
        expect(trace.target.maskIndex).toBe(target);
      }
    });
  }

  it('records 6 beams in 3 groups of 2 per step, and every finished hypothesis where its eot pair ranked', async () => {
    const { trace } = await traceBeam({
      ...scene(3, 0),
      captioner: new Captioner(demo.sessions),
      options,
      target: 0,
    });
    expect(trace.config.setting).toEqual({ kind: 'beam', beams: 6, groups: 3, scoring: 'raw-logits' });
    expect(trace.steps.length).toBeGreaterThan(1);
    expect(trace.steps.length).toBeLessThanOrEqual(options.maxLength - 1);
    for (const step of trace.steps) {
      expect(step.groups).toHaveLength(3);
      for (const group of step.groups) {
        // a group that is done is padded: it ranks nothing and holds no beams
        expect(group.beams).toHaveLength(group.done ? 0 : 2);
        for (const beam of group.beams) {
          expect(beam.tokenIds).toHaveLength(step.step + 2);
          expect(beam.normalized).toBeCloseTo(beam.score / beam.tokenIds.length, 12);
        }
        // pairs best first; exactly group-size of them became beams
        const scores = group.pairs.map((pair) => pair.score);
        expect(scores).toEqual([...scores].sort((a, b) => b - a));
        if (!group.done) expect(group.pairs.filter((p) => p.outcome === 'beam')).toHaveLength(2);
      }
    }
    // one finished hypothesis per eot pair ranked < group size (outcome 'hypothesis'), at that step and group
    const closing = trace.steps.flatMap((step) =>
      step.groups.flatMap((group) =>
        group.pairs.filter((p) => p.outcome === 'hypothesis').map(() => [step.step, group.group]),
      ),
    );
    const finished = trace.hypotheses.filter((h) => h.step !== null);
    expect(finished.map((h) => [h.step, h.group])).toEqual(closing);
    expect(finished.length).toBeGreaterThan(0);
    for (const h of trace.hypotheses) expect(h.score).toBeCloseTo(h.sum / h.tokenIds.length, 12);
    // each group keeps at most group-size hypotheses; the winner is the best kept one
    for (let g = 0; g < 3; g++)
      expect(trace.hypotheses.filter((h) => h.group === g && h.kept).length).toBeLessThanOrEqual(2);
    const best = Math.max(...trace.hypotheses.filter((h) => h.kept).map((h) => h.score));
    expect(trace.hypotheses[trace.winner]!.score).toBe(best);
    expect(trace.hypotheses[trace.winner]!.kept).toBe(true);
    // every token of the trace has its text
    for (const id of trace.tokenIds) expect(typeof trace.tokenTexts[id]).toBe('string');
  });

  it('hand-checked on scene 3/0, mask 0: 3 finished hypotheses per group, the first pushed out, the winner as stored', async () => {
    const common = scene(3, 0);
    const run = await generateCaptions({ ...common, captioner: new Captioner(demo.sessions), options });
    const { trace } = await traceBeam({
      ...common,
      captioner: new Captioner(demo.sessions),
      options,
      target: 0,
    });
    const text = (ids: number[]) => demo.tokenizer.decode(ids);
    // Without a diversity penalty the 3 groups are copies: each closes "a photo of a square" at step 5 (its eot pair
    // ranks 2nd, within the group size 2), then "… blue square" and "… blue shape" at step 6. The list holds 2, so the
    // shorter, worse hypothesis is pushed out: 9 finished, 6 kept.
    const finished = trace.hypotheses.filter((h) => h.step !== null);
    expect(finished).toHaveLength(9);
    for (let g = 0; g < 3; g++) {
      const own = finished.filter((h) => h.group === g);
      expect(own.map((h) => [h.step, text(h.tokenIds), h.admitted, h.kept])).toEqual([
        [5, 'a photo of a square', true, false],
        [6, 'a photo of a blue square', true, true],
        [6, 'a photo of a blue shape', true, true],
      ]);
      expect(own[1]!.score).toBeCloseTo(own[1]!.sum / 7, 12);
      expect(own[1]!.score).toBeGreaterThan(own[2]!.score);
    }
    expect(trace.steps[5]!.groups[0]!.pairs.map((p) => p.outcome)).toEqual([
      'beam',
      'hypothesis',
      'beam',
      'unused',
    ]);
    // Step 6's best pair is an eot (−2.09 / 8 > the worst kept −0.36): not done until step 7, the last one.
    expect(trace.steps.map((s) => s.groups[0]!.doneAfter)).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
      false,
      true,
    ]);
    // Equal best scores in every group: the later one wins (Python's stable sort + pop()), group 2's.
    expect(trace.hypotheses[trace.winner]!.group).toBe(2);
    expect(text(trace.hypotheses[trace.winner]!.tokenIds)).toBe('a photo of a blue square');
    expect(trace.hypotheses[trace.winner]!.score).toBe(run.candidates[0]!.beamScore);
    expect(trace.text).toBe(run.candidates[0]!.text);
  });

  it('rejects a target outside the crops and options without a beam setting', async () => {
    const input = { ...scene(3, 0), captioner: new Captioner(demo.sessions), options };
    const { count } = input;
    await expect(traceBeam({ ...input, target: count })).rejects.toThrow(
      `target crop ${count} is not one of the ${count} crops`,
    );
    await expect(traceBeam({ ...input, options: { ...options, beam: null }, target: 0 })).rejects.toThrow(
      'traceBeam needs a beam setting (options.beam is null)',
    );
  });
});
