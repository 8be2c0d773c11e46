import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_DECODING, type DecodingOptions } from '../../shared/caption.ts';
import { renderScene } from '../demo/scenes.ts';
import { buildCrops } from '../image/crops.ts';
import { Captioner } from './captioner.ts';
import { generateCaptions, type GenerateInput } from './generate.ts';
import { openDemoCaptioner, type DemoCaptionerForTests } from '../testing/caption-model.ts';
import { compareTraces, replayTrace } from './trace.ts';

let demo: DemoCaptionerForTests;
beforeAll(async () => {
  demo = await openDemoCaptioner();
});
afterAll(async () => {
  await demo?.dispose();
});

/** The masked crops of a shapes-world scene's objects. */
function sceneCrops(seed: number, index: number) {
  const scene = renderScene(seed, index);
  const [masked] = buildCrops(
    scene.image,
    scene.truth.objects.map((object) => object.mask),
    { crops: [{ kind: 'masked' }] },
  );
  return { scene, batch: masked! };
}

function input(
  seed: number,
  index: number,
  options: Partial<DecodingOptions> = {},
  extra: Partial<GenerateInput> = {},
): GenerateInput {
  const { batch, scene } = sceneCrops(seed, index);
  return {
    captioner: new Captioner(demo.sessions),
    tokenizer: demo.tokenizer,
    special: demo.special,
    crops: batch.data,
    count: scene.truth.objects.length,
    crop: batch.crop,
    imageId: `scene-${seed}-${index}`,
    options: { ...DEFAULT_DECODING, ...options },
    ...extra,
  };
}

describe('generating captions with the demo captioner', () => {
  it('gives 11 candidates per crop (beam + 5 top-k + 5 top-p DCS), each ending in eot, decoded to words', async () => {
    const request = input(3, 0);
    const { candidates } = await generateCaptions(request);
    expect(candidates).toHaveLength(request.count * 11);
    for (let mask = 0; mask < request.count; mask++) {
      const own = candidates.filter((candidate) => candidate.maskIndex === mask);
      expect(own.map((candidate) => candidate.settingKey)).toEqual([
        'beam',
        'dcs-top-k-5',
        'dcs-top-k-7',
        'dcs-top-k-9',
        'dcs-top-k-11',
        'dcs-top-k-13',
        'dcs-top-p-0.4',
        'dcs-top-p-0.5',
        'dcs-top-p-0.6',
        'dcs-top-p-0.7',
        'dcs-top-p-0.8',
      ]);
    }
    for (const candidate of candidates) {
      expect(candidate.tokenIds[0]).toBe(demo.special.sot);
      expect(candidate.tokenIds.at(-1)).toBe(demo.special.eot);
      expect(candidate.tokenIds.length).toBeGreaterThanOrEqual(5);
      expect(candidate.tokenIds.length).toBeLessThanOrEqual(30);
      expect(candidate.text).toMatch(/^[a-z]+( [a-z]+)+$/);
      expect(demo.tokenizer.decode(demo.tokenizer.encodeForCaptioner(candidate.text))).toBe(candidate.text);
    }
  });

  it('reproduces every sample with the same seed and changes with another seed', async () => {
    const first = await generateCaptions(input(5, 1, { seed: 11, beam: null }));
    const again = await generateCaptions(input(5, 1, { seed: 11, beam: null }));
    const other = await generateCaptions(input(5, 1, { seed: 12, beam: null }));
    expect(again.candidates.map((c) => c.tokenIds)).toEqual(first.candidates.map((c) => c.tokenIds));
    expect(other.candidates.map((c) => c.tokenIds)).not.toEqual(first.candidates.map((c) => c.tokenIds));
  });

  it('gives the same captions in engine mode and in the reference-equivalent mode, with fewer runs', async () => {
    const engineInput = input(2, 2, { seed: 4 });
    const engine = await generateCaptions(engineInput);
    const referenceInput = input(
      2,
      2,
      { seed: 4 },
      { captioner: new Captioner(demo.sessions, { dedupe: false, cache: 'off' }), mode: 'reference' },
    );
    const reference = await generateCaptions(referenceInput);
    expect(engine.candidates.map((c) => c.tokenIds)).toEqual(reference.candidates.map((c) => c.tokenIds));
    const a = engineInput.captioner.counters;
    const b = referenceInput.captioner.counters;
    expect(engineInput.captioner.path).toBe('cached');
    expect(referenceInput.captioner.path).toBe('full-prefix');
    expect(a.imagesEncoded).toBe(engineInput.count);
    expect(b.imagesEncoded).toBe(engineInput.count * 7);
    // one cached-decoder run per step and crop with rows (each crop's cross K/V broadcast over its rows)
    expect(a.decoderRuns).toBeGreaterThanOrEqual(engine.steps);
    expect(a.decoderRuns).toBeLessThanOrEqual(engine.steps * engineInput.count);
    // The cached decoder folds the text tower in and computes each crop's cross keys/values once.
    expect(a.textRuns).toBe(0);
    expect(a.crossComputations).toBe(engineInput.count);
    expect(b.textRuns).toBeGreaterThan(0);
    expect(a.decoderTokenPositions).toBeLessThan(b.decoderTokenPositions);
  });

  it('records traces that replay to the same tokens without the model', async () => {
    const { traces, candidates } = await generateCaptions(
      input(7, 0, { beam: null, alsoPlain: true }, { trace: { topN: 5 } }),
    );
    expect(traces).toHaveLength(candidates.length);
    for (const trace of traces) {
      const replay = replayTrace(JSON.parse(JSON.stringify(trace)));
      expect(replay.firstMismatch).toBeNull();
      expect(replay.tokenIds).toEqual(trace.tokenIds);
    }
    const dcs = traces.find((trace) => trace.calibrated)!;
    expect(dcs.steps[0]!.others).toHaveLength(dcs.cropCount - 1);
    expect(dcs.config.vocabSize).toBe(demo.tokenizer.vocabularySize());
    expect(dcs.steps[0]!.tokens.length).toBeLessThan(dcs.config.vocabSize);
    for (const step of dcs.steps) {
      expect(step.tokens.filter((token) => token.kept)).toHaveLength(step.keptCount);
      expect(step.tokens.some((token) => token.id === step.chosen)).toBe(true);
    }
  });

  it('detects a tampered trace', async () => {
    const { traces } = await generateCaptions(input(7, 0, { beam: null, topP: [] }, { trace: {} }));
    const trace = JSON.parse(
      JSON.stringify(traces.find((t) => t.calibrated && t.steps.length > 6)!),
    ) as (typeof traces)[number];
    const step = trace.steps[5]!;
    // Give all the weight to another kept token by moving the uniform to the other end.
    const keptIds = step.tokens.filter((token) => token.kept).map((token) => token.id);
    if (keptIds.length > 1) {
      step.draw = { uniform: keptIds.indexOf(step.chosen) === 0 ? 0.999999 : 0 };
      expect(replayTrace(trace).firstMismatch).toBe(5);
    }
  });

  it('compares the naive and DCS traces of one crop drawn from the same random stream', async () => {
    const { traces } = await generateCaptions(
      input(9, 3, { beam: null, alsoPlain: true, topP: [] }, { trace: {} }),
    );
    const dcs = traces.find(
      (trace) =>
        trace.calibrated && trace.target.maskIndex === 0 && trace.config.settingKey === 'dcs-top-k-5',
    )!;
    const naive = traces.find(
      (trace) => !trace.calibrated && trace.target.maskIndex === 0 && trace.config.settingKey === 'top-k-5',
    )!;
    expect(naive.config.streamId).toBe(dcs.config.streamId);
    expect(naive.steps[0]!.draw).toEqual(dcs.steps[0]!.draw);
    const comparison = compareTraces(naive, dcs);
    expect(comparison.steps.length).toBe(Math.max(naive.steps.length, dcs.steps.length));
    if (naive.text === dcs.text) expect(comparison.firstDivergence).toBeNull();
    else {
      const at = comparison.firstDivergence!;
      expect(naive.steps.slice(0, at).map((s) => s.chosen)).toEqual(
        dcs.steps.slice(0, at).map((s) => s.chosen),
      );
      expect(naive.steps[at]?.chosen).not.toBe(dcs.steps[at]?.chosen);
    }
  });

  it('falls back to plain sampling for a single crop (n = 1)', async () => {
    const { batch } = sceneCrops(3, 0);
    const single = input(
      3,
      0,
      { beam: null, alsoPlain: true, topP: [] },
      { crops: batch.data.subarray(0, 3 * 224 * 224), count: 1, trace: {} },
    );
    const { candidates, traces } = await generateCaptions(single);
    expect(
      traces.every((trace) => !trace.calibrated && trace.steps.every((step) => step.others === undefined)),
    ).toBe(true);
    const byKey = new Map(candidates.map((c) => [c.settingKey, c.tokenIds]));
    expect(byKey.get('dcs-top-k-5')).toEqual(byKey.get('top-k-5'));
  });

  it('rejects crops of the wrong size', async () => {
    await expect(
      generateCaptions(input(3, 0, {}, { crops: new Float32Array(10), count: 2 })),
    ).rejects.toThrow('crops hold 10 values, expected 2×3×224×224');
  });
});

describe('stopOnPad (the released decoder ends a caption at a sampled pad)', () => {
  it('ends each sampled row just before the first pad it draws, its earlier tokens unchanged', async () => {
    const plain = await generateCaptions(input(3, 0, { beam: null }));
    // stand-in pad: the first sampled token of the first candidate, so that some rows do draw it
    const pad = plain.candidates[0]!.tokenIds[1]!;
    const stopped = await generateCaptions(
      input(3, 0, { beam: null, stopOnPad: true }, { special: { ...demo.special, pad } }),
    );
    let cut = 0;
    stopped.candidates.forEach((candidate, k) => {
      const before = plain.candidates[k]!.tokenIds;
      const at = before.indexOf(pad, 1);
      if (at > 0) cut++;
      expect(candidate.tokenIds).toEqual(at > 0 ? before.slice(0, at) : before);
    });
    expect(cut).toBeGreaterThan(0);
    expect(stopped.candidates[0]!.tokenIds).toEqual([plain.candidates[0]!.tokenIds[0]]);
  });

  it('keeps the released text: pad-stopped rows end in pads up to the longest row of the call, others untrimmed', async () => {
    const plain = await generateCaptions(input(3, 0, { beam: null }));
    const pad = plain.candidates[0]!.tokenIds[1]!;
    const { candidates } = await generateCaptions(
      input(3, 0, { beam: null, stopOnPad: true }, { special: { ...demo.special, pad } }),
    );
    // every row ends in eot (forced at maxLength) unless it stopped on the pad, which its released row still holds
    const stoppedOnPad = (c: (typeof candidates)[number]) => c.tokenIds.at(-1) !== demo.special.eot;
    const longest = Math.max(...candidates.map((c) => c.tokenIds.length + (stoppedOnPad(c) ? 1 : 0)));
    expect(candidates.filter(stoppedOnPad).length).toBeGreaterThan(1);
    for (const c of candidates) {
      if (stoppedOnPad(c)) {
        const pads = longest - c.tokenIds.length;
        expect(pads).toBeGreaterThanOrEqual(1);
        expect(c.releasedText).toBe(
          demo.tokenizer.releasedText(c.tokenIds) + demo.tokenizer.tokenText(pad).repeat(pads),
        );
      } else {
        // the demo's words are whole-word tokens: the released text is the trimmed one and the last word's space
        expect(c.releasedText).toBe(`${c.text} `);
      }
    }
    // the row that drew the pad first holds nothing but pads
    expect(candidates[0]!.releasedText).toBe(demo.tokenizer.tokenText(pad).repeat(longest - 1));
  });
});
