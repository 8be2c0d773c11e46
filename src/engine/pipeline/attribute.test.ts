import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLOURS } from '../demo/world.ts';
import { ensureDemoPack } from '../demo/index.ts';
import { runDemoProject } from '../testing/fixtures.ts';
import { attributeCandidate, attributeOcclusion } from './attribute.ts';
import { openStages, type PackStages } from './engine.ts';
import { Project } from './store/index.ts';
import { storedCandidate, storedCropsInput } from './trace.ts';

let stages: PackStages;
let project: string;

beforeAll(async () => {
  stages = await openStages(await ensureDemoPack());
  project = await runDemoProject('pseudo-ris-attribute-', stages, { images: 1, sceneSeed: 31, seed: 4 });
});
afterAll(async () => {
  await stages?.dispose();
});

/** The first DCS candidate of the scene whose step-1 token is a colour word ("a yellow circle …"). */
function colourCandidate() {
  const result = [...Project.open(project).results()][0]!;
  const candidate = result.candidates.find(
    (c) =>
      c.method === 'dcs' && COLOURS.includes(stages.captionTokenizer.tokenText(c.tokens[2]!).trim() as never),
  )!;
  return { result, candidate, where: { image: 1, mask: candidate.mask, candidate: candidate.index } };
}

describe('attributeOcclusion', () => {
  it('gives a patch over the whole crop exactly the log-probabilities of a grey crop fed to the captioner', async () => {
    const { where } = colourCandidate();
    const { project: open, result, candidate } = storedCandidate(project, where);
    const settings = open.file.settings;
    const image = await stages.load(result.image.path, settings.maxPixels);
    const input = { image, result, settings, stages, mask: where.mask, crop: candidate.crop };
    const size = stages.cropSize;
    const whole = await attributeOcclusion({
      ...input,
      tokens: candidate.tokens,
      step: 1,
      boxes: [{ x: 0, y: 0, width: size, height: size }],
    });
    // By hand: the n crops, then a crop of zeros (the normalised mean); naive log softmax(z / T) at the token.
    const stored = storedCropsInput(input);
    const plane = 3 * size * size;
    const crops = new Float32Array((stored.count + 1) * plane);
    crops.set(stored.crops);
    const encoded = await stages.captioner.encode(crops, stored.count + 1, size);
    const prefix = candidate.tokens.slice(0, 2);
    const [grey, intact] = await stages.captioner.nextLogits(
      [
        { prefix, image: stored.count },
        { prefix, image: where.mask },
      ],
      encoded,
    );
    const logSoftmax = (z: Float32Array) => {
      const t = settings.captions.temperature;
      // prefix length 2 < minLength: eot is forbidden (−∞) at this step
      const values = [...z].map((v, id) =>
        id === stored.special.eot && settings.captions.minLength > 2 ? -Infinity : v / t,
      );
      const max = Math.max(...values);
      const sum = values.reduce((s, v) => s + Math.exp(v - max), 0);
      return values[candidate.tokens[2]!]! - max - Math.log(sum);
    };
    expect(whole.token).toBe(candidate.tokens[2]);
    expect(whole.grid).toBe(0);
    expect(whole.naive.occluded[0]).toBeCloseTo(logSoftmax(grey!), 10);
    expect(whole.naive.base).toBeCloseTo(logSoftmax(intact!), 10);
    expect(whole.naive.drop[0]).toBeCloseTo(logSoftmax(intact!) - logSoftmax(grey!), 10);
    expect(whole.calibrated).toBe(result.masks.length >= 2);
    expect(whole.dcs.occluded[0]).not.toBeNull();
  });

  it('gives the same numbers when asked twice', async () => {
    const { where } = colourCandidate();
    const first = await attributeCandidate(project, where, stages, { step: 1 });
    const second = await attributeCandidate(project, where, stages, { step: 1 });
    expect(second).toEqual(first);
    expect(first.boxes).toHaveLength(64);
    expect(first.naive.drop).toHaveLength(64);
    expect(first.dcs.drop).toHaveLength(64);
    expect(first.prefixText.trim()).toBe('a');
  });

  it('drops a colour word more when the patch covers the object than when it covers the fill around it', async () => {
    // The demo captioner's colour histogram is gated by saturation and weighted toward the crop centre (DESIGN.md §6,
    // demo/captioner-features.ts); the masked crop centres the object and fills the rest with near-grey.
    const { candidate, where } = colourCandidate();
    expect(candidate.crop).toEqual({ kind: 'masked' });
    const attribution = await attributeCandidate(project, where, stages, { step: 1, grid: 8 });
    const centre = [27, 28, 35, 36];
    const corners = [0, 7, 56, 63];
    for (const side of [attribution.naive, attribution.dcs]) {
      const atCentre = Math.min(...centre.map((p) => side.drop[p]!));
      const atCorners = Math.max(...corners.map((p) => side.drop[p]!));
      expect(atCentre).toBeGreaterThan(atCorners);
      expect(atCentre).toBeGreaterThan(0);
    }
  });

  it('names the allowed range of a step, a token and a grid', async () => {
    const { where, candidate } = colourCandidate();
    await expect(
      attributeCandidate(project, where, stages, { step: candidate.tokens.length - 1 }),
    ).rejects.toThrow(`step must be an integer in 0..${candidate.tokens.length - 2}`);
    await expect(attributeCandidate(project, where, stages, { step: 0, token: -1 })).rejects.toThrow(
      'token must be an id in 0..',
    );
    await expect(attributeCandidate(project, where, stages, { step: 0, grid: 300 })).rejects.toThrow(
      'grid must be an integer in 1..224',
    );
  });
});
