/**
 * Caption benchmark (DESIGN.md §10): the reference decoding (beam + 10 DCS samples for each of the 4 crops of every
 * mask) on shapes-world scenes with the demo pack, in the engine's mode (crops encoded once and shared by beam search
 * and every sampling setting; one text + one decoder run per step over the distinct prefixes and (prefix, crop)
 * pairs) and in a reference-equivalent mode (beam search re-encodes every crop once per beam, beam and sampling run
 * separately, nothing is deduplicated, DCS targets and others are two decoder calls per step), side by side.
 *
 * Prints per mode: decoder token positions per caption (Σ B·L of the decoder; the reference without a KV cache costs
 * L(L+1)/2 per row), encoder runs per crop, session runs per step, wall time vs summed `session.run` time, and the
 * engine/reference ratios. Also the oracle's identification share of DCS vs plain sampling on the same crops.
 *
 * Env: CAPTION_BENCH_SCENES (scene indices, default "0,1,2,3"), CAPTION_BENCH_SEED (scene seed, default 2024).
 */
import { basename, resolve } from 'node:path';
import { DEFAULT_DECODING } from '../src/shared/caption.ts';
import {
  aggregateLogits,
  aggregationFactors,
  captionImage,
  drawToken,
  openPackCaptioner,
  processLogits,
  samplingStep,
  topKKept,
  topPKept,
  type CaptionImageOutput,
} from '../src/engine/caption/index.ts';
import { ensureDemoPack, identifies, renderScene } from '../src/engine/demo/index.ts';
import { loadModelPack } from '../src/engine/runtime/index.ts';

interface Totals {
  captions: number;
  crops: number;
  masks: number;
  steps: number;
  visualRuns: number;
  textRuns: number;
  decoderRuns: number;
  imagesEncoded: number;
  decoderTokenPositions: number;
  decoderRows: number;
  sessionMilliseconds: number;
  wallMilliseconds: number;
  cropMilliseconds: number;
  captionTokens: number;
}

export async function run(): Promise<void> {
  const scenes = (process.env.CAPTION_BENCH_SCENES ?? '0,1,2,3').split(',').map(Number);
  const seed = Number(process.env.CAPTION_BENCH_SEED ?? 2024);
  const dir = await ensureDemoPack();
  const pack = await loadModelPack(resolve(dir));
  try {
    console.log(
      `demo pack ${basename(dir)}, scene seed ${seed}, scenes ${scenes.join(', ')}; 4 crops per mask; beam (6×3) + DCS top-k {5..13} + top-p {0.4..0.8}`,
    );
    const results: Record<'engine' | 'reference', Totals> = {
      engine: emptyTotals(),
      reference: emptyTotals(),
    };
    const oracle = { dcs: [0, 0], plain: [0, 0], beam: [0, 0] };
    for (const mode of ['engine', 'reference'] as const) {
      const model = await openPackCaptioner(pack, mode);
      // Warm-up run (session creation, first-run allocations) outside the figures.
      await captionOnce(model, scenes[0]!, seed, mode);
      for (const index of scenes) {
        const { output, masks } = await captionOnce(model, index, seed, mode);
        add(results[mode], output, masks);
        if (mode === 'engine') {
          const scene = renderScene(seed, index);
          for (const candidate of output.candidates) {
            const kind =
              candidate.setting.kind === 'beam' ? 'beam' : candidate.setting.distinctive ? 'dcs' : 'plain';
            oracle[kind][1]!++;
            if (identifies(scene.truth, scene.truth.objects[candidate.maskIndex]!.id, candidate.text))
              oracle[kind][0]!++;
          }
        }
      }
    }
    const rows: [string, (t: Totals) => number, number][] = [
      ['decoder token positions per caption', (t) => t.decoderTokenPositions / t.captions, 1],
      ['decoder rows per caption', (t) => t.decoderRows / t.captions, 1],
      ['encoder runs per crop (images encoded)', (t) => t.imagesEncoded / t.crops, 2],
      ['visual session runs per image', (t) => t.visualRuns / scenes.length, 1],
      ['decoding steps per image', (t) => t.steps / scenes.length, 1],
      ['session runs per step (text + decoder)', (t) => (t.textRuns + t.decoderRuns) / t.steps, 2],
      ['wall ms per image (crops + decoding)', (t) => t.wallMilliseconds / scenes.length, 0],
      ['  of which building the 4 crops', (t) => t.cropMilliseconds / scenes.length, 0],
      ['decoding wall ms per image', (t) => (t.wallMilliseconds - t.cropMilliseconds) / scenes.length, 0],
      ['session.run ms per image', (t) => t.sessionMilliseconds / scenes.length, 0],
      [
        'decoding wall / session.run',
        (t) => (t.wallMilliseconds - t.cropMilliseconds) / t.sessionMilliseconds,
        2,
      ],
    ];
    console.log(
      `${'figure'.padEnd(42)}${'engine'.padStart(12)}${'reference'.padStart(12)}${'ratio'.padStart(10)}`,
    );
    for (const [name, figure, digits] of rows) {
      const a = figure(results.engine);
      const b = figure(results.reference);
      console.log(
        `${name.padEnd(42)}${a.toFixed(digits).padStart(12)}${b.toFixed(digits).padStart(12)}${(a / b).toFixed(3).padStart(10)}`,
      );
    }
    const e = results.engine;
    const meanLength = e.captionTokens / e.captions;
    console.log(
      `captions ${e.captions} (${e.masks} masks × 4 crops × 11); mean caption length ${meanLength.toFixed(1)} tokens incl. sot/eot; ` +
        `one row without a KV cache costs L(L+1)/2 ≈ ${((meanLength * (meanLength + 1)) / 2).toFixed(0)} decoder token positions`,
    );
    const share = ([hit, total]: number[]) => `${hit}/${total} = ${(hit! / total!).toFixed(3)}`;
    console.log(`oracle identification: DCS ${share(oracle.dcs)}, beam ${share(oracle.beam)}`);
    // Plain sampling of the same crops and streams, for the DCS-vs-plain comparison (DESIGN.md §7 report figure).
    const model = await openPackCaptioner(pack, 'engine');
    const plain = [0, 0];
    const dcs = [0, 0];
    for (const index of scenes) {
      const scene = renderScene(seed, index);
      const output = await captionImage({
        model,
        image: scene.image,
        masks: scene.truth.objects.map((object) => object.mask),
        imageId: `scene-${index}`,
        options: { ...DEFAULT_DECODING, beam: null, alsoPlain: true },
      });
      for (const candidate of output.candidates) {
        const bucket = candidate.setting.kind !== 'beam' && candidate.setting.distinctive ? dcs : plain;
        bucket[1]!++;
        if (identifies(scene.truth, scene.truth.objects[candidate.maskIndex]!.id, candidate.text))
          bucket[0]!++;
      }
    }
    console.log(
      `oracle identification, same crops and random streams: DCS ${share(dcs)} vs plain sampling ${share(plain)}`,
    );
  } finally {
    await pack.dispose();
  }
  mathsAtCocaVocabulary();
}

/**
 * The decoding maths alone (processors, kept set, DCS aggregate and calibration, draw) at CoCa's vocabulary size,
 * on synthetic peaked logits: what one DCS step costs in JavaScript per row, beside the model's session time.
 */
function mathsAtCocaVocabulary(): void {
  const vocab = 49408;
  const crops = 5;
  let state = 1;
  const random = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const logits = Array.from({ length: crops }, () =>
    Float32Array.from({ length: vocab }, (_, id) => (id < 50 ? 10 + random() * 8 : random() * 6 - 3)),
  );
  const settings = [5, 7, 9, 11, 13, 0.4, 0.5, 0.6, 0.7, 0.8];
  const step = () => {
    for (let i = 0; i < crops; i++) {
      for (const setting of settings) {
        const processed = processLogits(logits[i]!, [49406, 320, 1125], {
          minLength: 5,
          repetitionPenalty: 1,
          eot: 49407,
        });
        const kept = setting >= 1 ? topKKept(processed, setting) : topPKept(processed, setting);
        const others = logits.filter((_, j) => j !== i);
        const aggregate = aggregateLogits(
          others,
          aggregationFactors(
            others.map(() => 0.8),
            'mean',
          ),
          kept,
        );
        const result = samplingStep({ processed, kept, temperature: 1, eot: 49407, aggregate });
        drawToken(result, random());
      }
    }
  };
  step();
  const started = performance.now();
  const repeats = 3;
  for (let r = 0; r < repeats; r++) step();
  const perStep = (performance.now() - started) / repeats;
  console.log(
    `decoding maths at V = ${vocab}, n = ${crops} crops × 10 DCS settings: ${perStep.toFixed(0)} ms per step ` +
      `(${(perStep / (crops * settings.length)).toFixed(2)} ms per row)`,
  );
}

async function captionOnce(
  model: Awaited<ReturnType<typeof openPackCaptioner>>,
  index: number,
  seed: number,
  mode: 'engine' | 'reference',
): Promise<{ output: CaptionImageOutput; masks: number }> {
  const scene = renderScene(seed, index);
  const masks = scene.truth.objects.map((object) => object.mask);
  const output = await captionImage({
    model,
    image: scene.image,
    masks,
    imageId: `scene-${index}`,
    options: DEFAULT_DECODING,
    mode,
  });
  return { output, masks: masks.length };
}

function emptyTotals(): Totals {
  return {
    captions: 0,
    crops: 0,
    masks: 0,
    steps: 0,
    visualRuns: 0,
    textRuns: 0,
    decoderRuns: 0,
    imagesEncoded: 0,
    decoderTokenPositions: 0,
    decoderRows: 0,
    sessionMilliseconds: 0,
    wallMilliseconds: 0,
    cropMilliseconds: 0,
    captionTokens: 0,
  };
}

function add(totals: Totals, output: CaptionImageOutput, masks: number): void {
  const c = output.counters;
  totals.captions += output.candidates.length;
  totals.crops += masks * 4;
  totals.masks += masks;
  totals.steps += output.steps;
  totals.visualRuns += c.visualRuns;
  totals.textRuns += c.textRuns;
  totals.decoderRuns += c.decoderRuns;
  totals.imagesEncoded += c.imagesEncoded;
  totals.decoderTokenPositions += c.decoderTokenPositions;
  totals.decoderRows += c.decoderRows;
  totals.sessionMilliseconds += c.sessionMilliseconds;
  totals.wallMilliseconds += output.wallMilliseconds;
  totals.cropMilliseconds += output.cropMilliseconds;
  totals.captionTokens += output.candidates.reduce((sum, candidate) => sum + candidate.tokenIds.length, 0);
}
