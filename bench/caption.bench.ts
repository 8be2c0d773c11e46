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
 * Env: CAPTION_BENCH_SCENES (scene indices, default "0,1,2,3"; "3" is a 5-object scene), CAPTION_BENCH_SEED (scene
 * seed, default 2024), CAPTION_BENCH_MODES (subset of "cached,cached-per-crop,full-prefix,reference"; the reference mode on a
 * real-architecture pack takes hours on a CPU), CAPTION_BENCH_MAX_LENGTH (captions.maxLength, default 30: a
 * random-init pack never samples the end token, so every caption runs to it — 12 is the length of a typical
 * RefCOCO expression with sot/eot).
 */
import { resolve } from 'node:path';
import { DEFAULT_DECODING } from '../src/shared/caption.ts';
import {
  aggregateLogits,
  aggregationFactors,
  captionImage,
  drawToken,
  processLogits,
  samplingStep,
  topKKept,
  topPKept,
  type CaptionImageOutput,
  type PackCaptioner,
} from '../src/engine/caption/index.ts';
import { ensureDemoPack, identifies, renderScene } from '../src/engine/demo/index.ts';
import { openStages, type PackStages } from '../src/engine/pipeline/engine.ts';
import { packContracts } from '../src/engine/runtime/index.ts';

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
  crossComputations: number;
  decoderPaddingRows: number;
  sessionMilliseconds: number;
  wallMilliseconds: number;
  cropMilliseconds: number;
  captionTokens: number;
}

/** `--models DIR` from the command line (bench/run.ts passes flags through). */
export function modelsFlag(): string | undefined {
  const args = process.argv;
  const at = args.indexOf('--models');
  return at >= 0 ? args[at + 1] : undefined;
}

/** `cached`: the pack's default (crops grouped when it offers them); `cached-per-crop`: one run per crop and step. */
type Mode = 'cached' | 'cached-per-crop' | 'full-prefix' | 'reference';

const decoding = process.env.CAPTION_BENCH_MAX_LENGTH
  ? { ...DEFAULT_DECODING, maxLength: Number(process.env.CAPTION_BENCH_MAX_LENGTH) }
  : DEFAULT_DECODING;

export async function run(): Promise<void> {
  const given = modelsFlag();
  const dir = given ? resolve(given) : await ensureDemoPack();
  // the one opener (pipeline/engine.ts); each captioner below is its own, with the runtime overrides it compares
  const stages = await openStages(resolve(dir));
  const { pack } = stages;
  const demo = pack.manifest.demo;
  // A real-architecture pack on a CPU decodes slowly: one scene by default.
  const scenes = (process.env.CAPTION_BENCH_SCENES ?? (demo ? '0,1,2,3' : '0')).split(',').map(Number);
  const seed = Number(process.env.CAPTION_BENCH_SEED ?? 2024);
  try {
    const contracts = packContracts(pack.manifest);
    console.log(
      `pack ${pack.name}${demo ? ' (demo)' : ''} at ${dir}, captioner contract ${contracts.captioner}; scene seed ${seed}, scenes ${scenes.join(', ')}; 4 crops per mask; beam (6×3) + DCS top-k {5..13} + top-p {0.4..0.8}`,
    );
    await stepBench(stages, contracts.captioner === 'cached');
    const grouped = contracts.captioner === 'cached' && pack.manifest.captioner.crossGrouped === true;
    const offered: Mode[] =
      contracts.captioner === 'cached'
        ? ['cached', ...(grouped ? (['cached-per-crop'] as const) : []), 'full-prefix', 'reference']
        : ['full-prefix', 'reference'];
    const chosen = process.env.CAPTION_BENCH_MODES?.split(',').map((m) => m.trim());
    const modes = chosen ? offered.filter((m) => chosen.includes(m)) : offered;
    if (modes.length === 0)
      throw new Error(
        `CAPTION_BENCH_MODES: none of ${chosen!.join(', ')} is offered (${offered.join(', ')})`,
      );
    if (process.env.CAPTION_BENCH_MAX_LENGTH)
      console.log(`captions.maxLength ${decoding.maxLength} (CAPTION_BENCH_MAX_LENGTH)`);
    const results: Partial<Record<Mode, Totals>> = {};
    const outputs: Partial<Record<Mode, string[]>> = {};
    const oracle = { dcs: [0, 0], plain: [0, 0], beam: [0, 0] };
    for (const mode of modes) {
      results[mode] = emptyTotals();
      outputs[mode] = [];
      const model = await stages.captionModelWith({
        mode: mode === 'reference' ? 'reference' : 'engine',
        decoderCache: mode.startsWith('cached') ? 'auto' : 'off',
        decoderBatch: 'auto',
        decoderGroups: mode === 'cached-per-crop' ? 'off' : 'auto',
      });
      // Warm-up run (session creation, batch-size measurement, first-run allocations) outside the figures; on a
      // real-architecture pack one mask is enough (the whole scene costs minutes there).
      await captionOnce(model, scenes[0]!, seed, mode, demo ? undefined : 1);
      if (mode === 'cached') {
        console.log(
          `cached decoder: ${model.captioner.cropGroups ? 'crops grouped, one run per step for all crops' : 'one run per crop and step'}`,
        );
        const choice = model.captioner.decoderBatch;
        console.log(
          `cached decoder batch: ${choice?.size} rows per run (${choice?.source}${choice?.timings ? `: ${choice.timings.map((t) => `B=${t.batch} ${t.msPerRow.toFixed(2)} ms/row`).join(', ')}` : ''})`,
        );
      }
      for (const index of scenes) {
        const { output, masks } = await captionOnce(model, index, seed, mode);
        add(results[mode]!, output, masks);
        if (!demo)
          console.log(
            `  ${mode}, scene ${index}: ${masks} masks, ${output.steps} steps, ${(output.wallMilliseconds / 1000).toFixed(1)} s (session.run ${(output.counters.sessionMilliseconds / 1000).toFixed(1)} s)`,
          );
        // cached vs full-prefix: whole candidates (texts, tokens, beam scores); vs the reference: the tokens (its beam
        // search decodes every crop's beams in one batch, so only the captions are comparable)
        outputs[mode]!.push(
          JSON.stringify(mode === 'reference' ? output.candidates.map((c) => c.tokenIds) : output.candidates),
        );
        if (mode === modes[0] && demo) {
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
      ['cross K/V computations per crop', (t) => t.crossComputations / t.crops, 2],
      ['encoder runs per crop (images encoded)', (t) => t.imagesEncoded / t.crops, 2],
      ['visual session runs per image', (t) => t.visualRuns / scenes.length, 1],
      ['decoding steps per image', (t) => t.steps / scenes.length, 1],
      ['decoder session runs per caption step', (t) => t.decoderRuns / t.steps, 2],
      ['decoder session runs per image', (t) => t.decoderRuns / scenes.length, 1],
      ['decoder padding rows per image (grouped)', (t) => t.decoderPaddingRows / scenes.length, 1],
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
    const first = modes[0]!;
    const ratioHeads = modes.slice(1).map((m) => `${first}/${m}`);
    console.log(
      `${'figure'.padEnd(42)}${modes.map((m) => m.padStart(16)).join('')}${ratioHeads.map((h) => h.padStart(24)).join('')}`,
    );
    for (const [name, figure, digits] of rows) {
      const values = modes.map((m) => figure(results[m]!));
      console.log(
        `${name.padEnd(42)}${values.map((v) => v.toFixed(digits).padStart(16)).join('')}${values
          .slice(1)
          .map((v) => (v === 0 ? '—' : (values[0]! / v).toFixed(3)).padStart(24))
          .join('')}`,
      );
    }
    const e = results[first]!;
    const meanLength = e.captionTokens / e.captions;
    console.log(
      `captions ${e.captions} (${e.masks} masks × 4 crops × 11); mean caption length ${meanLength.toFixed(1)} tokens incl. sot/eot; ` +
        `one row without a KV cache costs L(L+1)/2 ≈ ${((meanLength * (meanLength + 1)) / 2).toFixed(0)} decoder token positions, with one ≤ L + 1`,
    );
    const tokensOnly = (text: string) =>
      JSON.stringify((JSON.parse(text) as { tokenIds: number[] }[]).map((c) => c.tokenIds));
    for (const mode of modes.slice(1)) {
      const same = outputs[mode]!.every((o, i) =>
        mode === 'reference' ? o === tokensOnly(outputs[first]![i]!) : o === outputs[first]![i],
      );
      const what = mode === 'reference' ? 'caption tokens' : 'candidates (texts, tokens, beam scores)';
      console.log(`${what}, ${first} vs ${mode}: ${same ? 'identical' : 'DIFFERENT'}`);
    }
    if (!demo) return;
    const share = ([hit, total]: number[]) => `${hit}/${total} = ${(hit! / total!).toFixed(3)}`;
    console.log(`oracle identification: DCS ${share(oracle.dcs)}, beam ${share(oracle.beam)}`);
    // Plain sampling of the same crops and streams, for the DCS-vs-plain comparison (DESIGN.md §7 report figure).
    const model = await stages.captionModelWith({ mode: 'engine' });
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
    await stages.dispose();
  }
  mathsAtCocaVocabulary();
}

/**
 * One decoding step at prefix 10 (sot + 9 tokens) for R rows on one crop, cached against full-prefix: what the
 * issue's prototype measured (env CAPTION_BENCH_ROWS, default "5,50"). The cached rows are built by steps 1..9
 * first, outside the timing; each figure is the best of 3.
 */
async function stepBench(stages: PackStages, cached: boolean): Promise<void> {
  const { pack } = stages;
  const rowsList = (process.env.CAPTION_BENCH_ROWS ?? '5,50').split(',').map(Number);
  const prefixLength = 10;
  const size = pack.manifest.captioner.preprocess.size;
  const { sot, eot } = pack.manifest.captioner.specialTokens;
  const vocab = pack.manifest.captioner.vocabSize;
  const crop = new Float32Array(3 * size * size).map((_, i) => Math.sin(i * 0.001));
  const time = async (job: () => Promise<unknown>) => {
    let best = Infinity;
    for (let r = 0; r < 3; r++) {
      const started = performance.now();
      await job();
      best = Math.min(best, performance.now() - started);
    }
    return best;
  };
  const full = (await stages.captionModelWith({ mode: 'engine', decoderCache: 'off' })).captioner;
  const fast = cached
    ? (await stages.captionModelWith({ mode: 'engine', decoderCache: 'auto', decoderBatch: 'auto' }))
        .captioner
    : null;
  const encodedFull = await full.encode(crop, 1, size);
  const encodedFast = fast ? await fast.encode(crop, 1, size) : null;
  for (const rows of rowsList) {
    // distinct prefixes (no row shares a prefix, so nothing is deduplicated)
    const prefixes = Array.from({ length: rows }, (_, r) => [
      sot,
      ...Array.from(
        { length: prefixLength - 1 },
        (_, t) => 1 + ((r * 131 + t * 17 + r * t) % (vocab - 3)),
      ).map((id) => (id === sot || id === eot ? 1 : id)),
    ]);
    const pairs = (length: number) => prefixes.map((p) => ({ prefix: p.slice(0, length), image: 0 }));
    const fullMs = await time(() => full.nextLogits(pairs(prefixLength), encodedFull));
    let line = `one step at prefix ${prefixLength}, ${rows} rows: full-prefix ${fullMs.toFixed(1)} ms`;
    if (fast && encodedFast) {
      for (let length = 1; length < prefixLength; length++) await fast.nextLogits(pairs(length), encodedFast);
      let best = Infinity;
      for (let r = 0; r < 3; r++) {
        const started = performance.now();
        await fast.nextLogits(pairs(prefixLength), encodedFast);
        best = Math.min(best, performance.now() - started);
        // the step dropped its parents: rebuild them for the next repeat, untimed
        for (let length = 1; length < prefixLength; length++)
          await fast.nextLogits(pairs(length), encodedFast);
      }
      line += `, cached ${best.toFixed(1)} ms (${(fullMs / best).toFixed(1)}× faster; ${(best / rows).toFixed(2)} vs ${(fullMs / rows).toFixed(2)} ms per row)`;
    }
    console.log(line);
  }
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
  model: PackCaptioner,
  index: number,
  seed: number,
  mode: Mode,
  maskCount?: number,
): Promise<{ output: CaptionImageOutput; masks: number }> {
  const scene = renderScene(seed, index);
  const masks = scene.truth.objects.map((object) => object.mask).slice(0, maskCount);
  const output = await captionImage({
    model,
    image: scene.image,
    masks,
    imageId: `scene-${index}`,
    options: decoding,
    mode: mode === 'reference' ? 'reference' : 'engine',
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
    crossComputations: 0,
    decoderPaddingRows: 0,
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
  totals.crossComputations += c.crossComputations;
  totals.decoderPaddingRows += c.decoderPaddingRows;
  totals.sessionMilliseconds += c.sessionMilliseconds;
  totals.wallMilliseconds += output.wallMilliseconds;
  totals.cropMilliseconds += output.cropMilliseconds;
  totals.captionTokens += output.candidates.reduce((sum, candidate) => sum + candidate.tokenIds.length, 0);
}
