/**
 * Synthetic results of the shape a real run writes (masks as COCO RLE, 4 crops × (beam + 10 DCS + 10 plain-sampling
 * comparisons) per mask, scores, stream ids, decisions by the shared rule), seeded, for the store's tests and the
 * scale bench. Not used outside tests and benches.
 */
import type { CandidateResult, ImageResult, MaskResult } from '../../shared/results.ts';
import type { CropType, DecodingSetting } from '../../shared/caption.ts';
import { decide, keepPolicy } from '../filter/decide.ts';
import { parseSettings } from '../../shared/settings.ts';
import { encodeRle, rleArea, rleToBbox } from '../image/rle.ts';
import { mulberry32 } from '../../shared/testing/random.ts';

// the fixtures' seeded generator, re-exported for the test tooling that imports it from here
export { mulberry32 };

const WORDS = [
  'a',
  'the',
  'red',
  'blue',
  'green',
  'striped',
  'dotted',
  'circle',
  'square',
  'triangle',
  'on',
  'left',
];
const CROPS: Array<[CropType, string]> = [
  [{ kind: 'masked' }, 'masked'],
  [{ kind: 'box', margin: 1 }, 'box-1.0'],
  [{ kind: 'box', margin: 1.1 }, 'box-1.1'],
  [{ kind: 'box', margin: 1.2 }, 'box-1.2'],
];

/** Options of {@link syntheticResult}. */
export interface SyntheticOptions {
  masks?: number;
  /** Distinct texts per mask to draw from (fewer = more repeated captions, as the demo captioner gives). */
  textsPerMask?: number;
  seed?: number;
  status?: 'done' | 'failed';
  /** The image's SHA-256 (hex), which its candidates' stream ids name as a run's do; drawn from the seed by default. */
  sha256?: string;
}

/** A synthetic result for image `id`. */
export function syntheticResult(id: number, options: SyntheticOptions = {}): ImageResult {
  const { masks: maskCount = 5, textsPerMask = 25, seed = id, status = 'done' } = options;
  const random = mulberry32(seed);
  const drawn = Array.from({ length: 32 }, () =>
    Math.floor(random() * 256)
      .toString(16)
      .padStart(2, '0'),
  ).join('');
  const sha256 = options.sha256 ?? drawn;
  const image = { id, path: `/data/images/${id}.png`, name: `${id}.png`, sha256, width: 64, height: 48 };
  if (status === 'failed')
    return {
      version: 1,
      revision: 0,
      image: { ...image, width: 0, height: 0 },
      status: 'failed',
      error: { stage: 'load', code: 'corrupt', message: `the file ${id}.png is not an image` },
      masks: [],
      candidates: [],
      decisions: [],
    };
  const masks: MaskResult[] = [];
  for (let m = 0; m < maskCount; m++) {
    const data = new Uint8Array(64 * 48);
    const x0 = Math.floor(random() * 40);
    const y0 = Math.floor(random() * 30);
    for (let y = y0; y < y0 + 12; y++) for (let x = x0; x < x0 + 16; x++) data[y * 64 + x] = 1;
    const rle = encodeRle({ width: 64, height: 48, data });
    masks.push({
      index: m,
      rle,
      area: rleArea(rle),
      bbox: rleToBbox(rle),
      score: random(),
      source: 'generated',
      predictedIou: random(),
      stability: random(),
    });
  }
  const candidates: CandidateResult[] = [];
  for (let m = 0; m < maskCount; m++) {
    const texts = Array.from({ length: textsPerMask }, () => {
      const words = Array.from(
        { length: 3 + Math.floor(random() * 5) },
        () => WORDS[Math.floor(random() * WORDS.length)],
      );
      return { text: words.join(' '), tokens: [49406, ...words.map((w) => 300 + WORDS.indexOf(w)), 49407] };
    });
    const scores = texts.map(() => {
      const dos = maskCount > 1 ? random() * 3 : null;
      return {
        theta: 20 + random() * 10,
        cos: 20 + random() * 10,
        uos: dos === null ? null : random() * 2,
        dos,
      };
    });
    let index = 0;
    for (const [crop, cropKey] of CROPS) {
      const settings: Array<[DecodingSetting, string]> = [
        [{ kind: 'beam', beams: 6, groups: 3, scoring: 'raw-logits' }, 'beam'],
        ...[5, 7, 9, 11, 13].map((k): [DecodingSetting, string] => [
          { kind: 'top-k', k, distinctive: true },
          `dcs-top-k-${k}`,
        ]),
        ...[0.4, 0.5, 0.6, 0.7, 0.8].map((p): [DecodingSetting, string] => [
          { kind: 'top-p', p, distinctive: true },
          `dcs-top-p-${p}`,
        ]),
        ...[5, 7, 9, 11, 13].map((k): [DecodingSetting, string] => [
          { kind: 'top-k', k, distinctive: false },
          `top-k-${k}`,
        ]),
        ...[0.4, 0.5, 0.6, 0.7, 0.8].map((p): [DecodingSetting, string] => [
          { kind: 'top-p', p, distinctive: false },
          `top-p-${p}`,
        ]),
      ];
      for (const [setting, settingKey] of settings) {
        const t = Math.floor(random() * textsPerMask);
        const method = setting.kind === 'beam' ? 'beam' : setting.distinctive ? 'dcs' : 'sampling';
        candidates.push({
          index: index++,
          mask: m,
          crop,
          cropKey,
          setting,
          settingKey,
          method,
          text: texts[t].text,
          tokens: texts[t].tokens,
          seed: method === 'beam' ? 0 : 7,
          ...(method === 'beam'
            ? {}
            : { streamId: `${sha256}|mask${m}|${cropKey}|${settingKey.replace(/^dcs-/, '')}` }),
          ...(method === 'beam' ? { beamScore: -random() } : {}),
          comparison: method === 'sampling',
          scores: {
            ...scores[t],
            confusedWith: maskCount > 1 ? (m + 1) % maskCount : null,
            headNoun: 'circle',
            nounPrompt: 'a photo of a circle',
          },
        });
      }
    }
  }
  const policy = keepPolicy(parseSettings({}));
  return {
    version: 1,
    revision: 0,
    image,
    status: 'done',
    masks,
    candidates,
    decisions: decide(candidates, maskCount, policy, id),
    counters: {
      masks: maskCount,
      candidates: candidates.length,
      clipImageEncodes: 2 * maskCount,
      clipTextEncodes: 60,
      stageMs: { load: random() * 10, masks: random() * 1000, captions: random() * 5000 },
    },
  };
}
