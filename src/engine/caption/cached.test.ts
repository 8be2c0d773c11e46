/**
 * Equivalence before speed: on the demo pack the cached decoder (cross + decoderWithPast) gives byte-identical logits,
 * and so every caption, trace and score, to the full-prefix text + decoder graphs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_DECODING, type DecodingOptions } from '../../shared/caption.ts';
import { renderScene } from '../demo/scenes.ts';
import { buildCrops } from '../image/crops.ts';
import { Captioner } from './captioner.ts';
import { generateCaptions } from './generate.ts';
import { openDemoCaptioner, type DemoCaptionerForTests } from '../testing/caption-model.ts';

let demo: DemoCaptionerForTests;
beforeAll(async () => {
  demo = await openDemoCaptioner();
});
afterAll(async () => {
  await demo?.dispose();
});

function crops(seed: number, index: number) {
  const scene = renderScene(seed, index);
  const [masked] = buildCrops(
    scene.image,
    scene.truth.objects.map((object) => object.mask),
    { crops: [{ kind: 'masked' }] },
  );
  return { data: masked!.data, crop: masked!.crop, count: scene.truth.objects.length };
}

/** Captions (with traces) of scene `seed`/`index`'s masked crops by `captioner`. */
function decode(captioner: Captioner, seed: number, index: number, options: Partial<DecodingOptions>) {
  const { data, crop, count } = crops(seed, index);
  return generateCaptions({
    captioner,
    tokenizer: demo.tokenizer,
    special: demo.special,
    crops: data,
    count,
    crop,
    imageId: `scene-${seed}-${index}`,
    options: { ...DEFAULT_DECODING, ...options },
    trace: { topN: 8 },
  });
}

/** Both paths on the same crops and options; returns their outputs and captioners. */
async function bothPaths(seed: number, index: number, options: Partial<DecodingOptions>) {
  const run = async (cache: 'auto' | 'off') => {
    const captioner = new Captioner(demo.sessions, { cache });
    return { out: await decode(captioner, seed, index, options), captioner };
  };
  return { cached: await run('auto'), full: await run('off'), count: crops(seed, index).count };
}

/** JSON with −0 and every float spelled out exactly, so equal strings mean equal bytes. */
function exact(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) =>
    typeof v === 'number' ? (Object.is(v, -0) ? '-0' : v.toString()) : v,
  );
}

type WithPastFeeds = Parameters<NonNullable<DemoCaptionerForTests['sessions']['decoderWithPast']>['run']>[0];

/** The demo decoder-with-past session, calling `record` with the feeds of every run. */
function recordingWithPast(record: (feeds: WithPastFeeds) => void) {
  const inner = demo.sessions.decoderWithPast!;
  return {
    inputNames: inner.inputNames,
    inputs: inner.inputs,
    inputMetadata: inner.inputMetadata,
    run: (feeds: WithPastFeeds) => {
      record(feeds);
      return inner.run(feeds);
    },
  };
}

describe('the cached decoder on the demo pack', () => {
  it('gives byte-identical beam captions and scores (beams reordered by origin every step)', async () => {
    const { cached, full } = await bothPaths(3, 0, { topK: [], topP: [] });
    expect(cached.captioner.path).toBe('cached');
    expect(full.captioner.path).toBe('full-prefix');
    expect(cached.out.candidates.length).toBeGreaterThan(1);
    expect(exact(cached.out.candidates)).toBe(exact(full.out.candidates));
    expect(cached.out.steps).toBe(full.out.steps);
  });

  it('gives byte-identical DCS captions and traces with n > 1 other crops, rows finishing at different steps', async () => {
    const { cached, full, count } = await bothPaths(5, 1, { beam: null, alsoPlain: true, seed: 9 });
    expect(count).toBeGreaterThanOrEqual(3);
    const traces = cached.out.traces;
    expect(traces.some((t) => t.calibrated && t.steps[0]!.others!.length >= 2)).toBe(true);
    // rows leave the batch at different steps
    expect(new Set(cached.out.candidates.map((c) => c.tokenIds.length)).size).toBeGreaterThan(1);
    expect(exact(cached.out.candidates)).toBe(exact(full.out.candidates));
    expect(exact(traces)).toBe(exact(full.out.traces));
  });

  it('gives byte-identical plain sampling captions and traces', async () => {
    const { cached, full } = await bothPaths(2, 2, { beam: null, distinctive: false, seed: 4 });
    expect(cached.out.traces.every((t) => !t.calibrated)).toBe(true);
    expect(exact(cached.out.candidates)).toBe(exact(full.out.candidates));
    expect(exact(cached.out.traces)).toBe(exact(full.out.traces));
  });

  it('decodes beam and DCS together with one decoder run per step and crop, one token position per row and one cross K/V per crop', async () => {
    const { cached, full, count } = await bothPaths(4, 3, { seed: 2 });
    expect(exact(cached.out.candidates)).toBe(exact(full.out.candidates));
    const a = cached.captioner.counters;
    const b = full.captioner.counters;
    expect(a.crossComputations).toBe(count);
    // DCS decodes every other crop on the target's prefixes: the first steps have rows on all `count` crops
    expect(a.decoderRuns).toBeGreaterThan(cached.out.steps);
    expect(a.decoderRuns).toBeLessThanOrEqual(cached.out.steps * count);
    expect(a.textRuns).toBe(0);
    expect(a.decoderTokenPositions).toBe(a.decoderRows);
    expect(b.decoderTokenPositions).toBeGreaterThan(a.decoderTokenPositions);
  });

  it("feeds each crop's cross K/V once as [1,Hx,T,Dx] for all its rows, one crop per run, chunked by the batch size", async () => {
    const runs: { rows: number; cross: number[] }[] = [];
    const recording = recordingWithPast((feeds) =>
      runs.push({ rows: feeds.input_ids!.dims[0]!, cross: [...feeds.cross_key_0!.dims] }),
    );
    const captioner = new Captioner({ ...demo.sessions, decoderWithPast: recording }, { decoderBatch: 3 });
    const out = await decode(captioner, 5, 1, { seed: 3 });
    const full = await decode(new Captioner(demo.sessions, { cache: 'off' }), 5, 1, { seed: 3 });
    expect(exact(out.candidates)).toBe(exact(full.candidates));
    expect(exact(out.traces)).toBe(exact(full.traces));
    expect(runs.length).toBe(captioner.counters.decoderRuns);
    expect(runs.every((r) => r.cross[0] === 1 && r.rows >= 1 && r.rows <= 3)).toBe(true);
    expect(runs.reduce((sum, r) => sum + r.rows, 0)).toBe(captioner.counters.decoderRows);
    expect(runs.some((r) => r.rows === 3)).toBe(true);
  });

  it('gives the full-prefix logits bit for bit for any prefixes, also when a caller skips steps', async () => {
    const { data, count } = crops(6, 0);
    const cachedCaptioner = new Captioner(demo.sessions);
    const fullCaptioner = new Captioner(demo.sessions, { cache: 'off' });
    const encodedA = await cachedCaptioner.encode(data, count);
    const encodedB = await fullCaptioner.encode(data, count);
    const { sot } = demo.special;
    const words = ['a', 'photo', 'of', 'a', 'red', 'circle', 'on', 'a', 'grey', 'background'].map(
      (w) => demo.tokenizer.encodeForCaptioner(w)[1]!,
    );
    // Step by step for two beams that swap origins, then a jump to a longer prefix with no cached parent.
    const steps = [
      [[sot], [sot]],
      [
        [sot, words[0]!],
        [sot, words[1]!],
      ],
      [
        [sot, words[1]!, words[2]!],
        [sot, words[1]!, words[3]!],
      ],
      [words.slice(0, 7).reduce<number[]>((p, w) => [...p, w], [sot])],
    ];
    for (const prefixes of steps) {
      const pairs = prefixes.flatMap((prefix) =>
        Array.from({ length: count }, (_, image) => ({ prefix, image })),
      );
      const a = await cachedCaptioner.nextLogits(pairs, encodedA);
      const b = await fullCaptioner.nextLogits(pairs, encodedB);
      a.forEach((row, i) => expect(Buffer.from(row.buffer).equals(Buffer.from(b[i]!.buffer))).toBe(true));
    }
  });

  it('falls back to the full-prefix graphs when the sessions lack the cached contract', () => {
    const { cross: _cross, decoderWithPast: _past, ...plain } = demo.sessions;
    expect(new Captioner(plain).path).toBe('full-prefix');
    expect(new Captioner(demo.sessions, { cache: 'off' }).path).toBe('full-prefix');
  });

  it('measures the cached decoder batch size once, at the first cached step', async () => {
    const { data, count } = crops(1, 0);
    const captioner = new Captioner(demo.sessions, { decoderBatch: 'auto', maxBatch: 16 });
    expect(captioner.decoderBatch).toBeNull();
    const encoded = await captioner.encode(data, count);
    await captioner.nextLogits([{ prefix: [demo.special.sot], image: 0 }], encoded);
    const choice = captioner.decoderBatch!;
    expect(choice.source).toBe('measured');
    expect([1, 4, 16]).toContain(choice.size);
    expect(choice.timings!.map((t) => t.batch)).toEqual([1, 4, 16].slice(0, choice.timings!.length));
    expect(() => new Captioner(demo.sessions, { decoderBatch: 0 })).toThrow(
      "decoderBatch must be an integer ≥ 1 or 'auto', got 0",
    );
  });

  it('refuses a cached decoder without past or cross inputs, or with symbolic head dims, naming the input', () => {
    const run = () => Promise.resolve({});
    const decoderWithPast = (inputs: Record<string, { shape: (number | string)[] }>) => ({
      run,
      inputNames: Object.keys(inputs),
      inputs,
    });
    const sessions = (inputs: Record<string, { shape: (number | string)[] }>) => ({
      ...demo.sessions,
      decoderWithPast: decoderWithPast(inputs),
    });
    expect(() => new Captioner(sessions({ input_ids: { shape: ['B', 1] } }))).toThrow(
      'captioner.decoderWithPast has 0 past_key_<i> and 0 cross_key_<j> inputs; it needs at least one of each',
    );
    expect(
      () =>
        new Captioner(
          sessions({
            past_key_0: { shape: ['B', 'heads', 'P', 64] },
            past_value_0: { shape: ['B', 'heads', 'P', 64] },
            cross_key_0: { shape: ['B', 12, 255, 64] },
          }),
        ),
    ).toThrow(
      'captioner.decoderWithPast input "past_key_0" has shape [B,heads,P,64]; the cached decoder needs fixed head count H and head size D ([B,H,P,D])',
    );
  });
});

describe('crop-grouped cached decoding on the demo pack (one run per step for all crops)', () => {
  /** Per-crop runs against grouped runs on the same crops and options, recording each grouped run's feeds. */
  async function bothLayouts(
    seed: number,
    index: number,
    options: Partial<DecodingOptions>,
    decoderBatch = 256,
  ) {
    const runs: { rows: number; crops: number }[] = [];
    const recording = recordingWithPast((feeds) =>
      runs.push({ rows: feeds.input_ids!.dims[0]!, crops: feeds.cross_key_0!.dims[0]! }),
    );
    const perCrop = new Captioner(demo.sessions, { decoderBatch });
    const grouped = new Captioner(
      { ...demo.sessions, decoderWithPast: recording },
      { decoderBatch, cropGroups: true },
    );
    return {
      perCrop: { out: await decode(perCrop, seed, index, options), captioner: perCrop },
      grouped: { out: await decode(grouped, seed, index, options), captioner: grouped },
      runs,
    };
  }

  it('gives byte-identical beam candidates in fewer runs, all crops fed together as [C,Hx,T,Dx]', async () => {
    const { perCrop, grouped, runs } = await bothLayouts(3, 0, { topK: [], topP: [] });
    expect(grouped.out.candidates.length).toBeGreaterThan(1);
    expect(exact(grouped.out.candidates)).toBe(exact(perCrop.out.candidates));
    expect(grouped.captioner.counters.decoderRuns).toBeLessThan(perCrop.captioner.counters.decoderRuns);
    expect(runs.some((run) => run.crops > 1)).toBe(true);
    expect(runs.every((run) => run.rows % run.crops === 0)).toBe(true);
  });

  it('gives byte-identical DCS candidates and traces with rows finishing at different steps (padded groups)', async () => {
    const { perCrop, grouped } = await bothLayouts(5, 1, { beam: null, alsoPlain: true, seed: 9 });
    expect(new Set(grouped.out.candidates.map((c) => c.tokenIds.length)).size).toBeGreaterThan(1);
    expect(exact(grouped.out.candidates)).toBe(exact(perCrop.out.candidates));
    expect(exact(grouped.out.traces)).toBe(exact(perCrop.out.traces));
    expect(grouped.captioner.counters.decoderPaddingRows).toBeGreaterThan(0);
  });

  it('gives byte-identical plain sampling candidates and traces', async () => {
    const { perCrop, grouped } = await bothLayouts(2, 2, { beam: null, distinctive: false, seed: 4 });
    expect(exact(grouped.out.candidates)).toBe(exact(perCrop.out.candidates));
    expect(exact(grouped.out.traces)).toBe(exact(perCrop.out.traces));
  });

  it('splits grouped runs by the batch size and still matches beam + DCS together', async () => {
    const { perCrop, grouped, runs } = await bothLayouts(4, 3, { seed: 2 }, 4);
    expect(exact(grouped.out.candidates)).toBe(exact(perCrop.out.candidates));
    expect(exact(grouped.out.traces)).toBe(exact(perCrop.out.traces));
    expect(runs.every((run) => run.rows <= 4 || run.crops === 1)).toBe(true);
  });
});
