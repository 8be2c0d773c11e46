/**
 * A small hand-made project for export and report tests: two images (two masks and one mask) with scored
 * candidates, and one failed image. Not used outside tests.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { encodeRle, rleArea, rleToBbox } from '../image/rle.ts';
import type { BinaryMask } from '../image/types.ts';
import type { CandidateResult, ImageResult, MaskResult } from '../../shared/results.ts';
import { parseSettings, type SettingsInput } from '../../shared/settings.ts';
import { decide, keepPolicy } from '../filter/decide.ts';
import { imageRecord, Project } from '../pipeline/store/index.ts';

/** A rectangle mask, with a hole at (hx, hy) when given. */
export function rectMask(
  width: number,
  height: number,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  hole?: [number, number],
): BinaryMask {
  const data = new Uint8Array(width * height);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) data[y * width + x] = 1;
  if (hole) data[hole[1] * width + hole[0]] = 0;
  return { width, height, data };
}

function maskResult(index: number, mask: BinaryMask): MaskResult {
  const rle = encodeRle(mask);
  return { index, rle, area: rleArea(rle), bbox: rleToBbox(rle), score: 1, source: 'imported' };
}

function candidate(
  mask: number,
  index: number,
  text: string,
  dos: number | null,
  cos: number,
  method: 'beam' | 'dcs' | 'sampling' = 'dcs',
): CandidateResult {
  const setting =
    method === 'beam'
      ? { kind: 'beam' as const, beams: 6, groups: 3, scoring: 'raw-logits' as const }
      : { kind: 'top-k' as const, k: 5, distinctive: method === 'dcs' };
  return {
    index,
    mask,
    crop: { kind: 'box', margin: 1.2 },
    cropKey: 'box-1.2',
    setting,
    settingKey: method === 'beam' ? 'beam' : method === 'dcs' ? 'dcs-top-k-5' : 'top-k-5',
    method,
    text,
    tokens: [49406, 1, 49407],
    seed: 7,
    comparison: method === 'sampling',
    scores: {
      theta: 25,
      cos,
      uos: dos,
      dos,
      confusedWith: dos === null ? null : 1 - mask,
      headNoun: 'circle',
      nounPrompt: 'a photo of a circle',
    },
  };
}

/**
 * The released texts `writeTestProject(dir, { released: true })` gives image a.png's candidates, in candidate order:
 * a beam/eot caption's trailing space, pad-stopped rows' "!" runs (b.png's stay without one, as results written
 * before the field).
 */
export const TEST_RELEASED_TEXTS = [
  'a red circle ',
  'the "left" red circle !!!!',
  'a red circle ',
  'a shape !',
  'a red café circle ',
  'a dotted square !!',
  'a square ',
];

/** Writes the project into `dir` (images under `dir/images`) and returns its folder. */
export async function writeTestProject(
  dir: string,
  options: { released?: boolean } = {},
): Promise<{ project: string; masks: Map<string, BinaryMask> }> {
  const images = join(dir, 'images');
  mkdirSync(images, { recursive: true });
  const files = ['a.png', 'b.png', 'broken.png'].map((f) => join(images, f));
  await sharp({ create: { width: 12, height: 10, channels: 3, background: { r: 200, g: 10, b: 10 } } })
    .png()
    .toFile(files[0]);
  await sharp({ create: { width: 8, height: 6, channels: 3, background: { r: 10, g: 200, b: 10 } } })
    .png()
    .toFile(files[1]);
  await sharp({ create: { width: 4, height: 4, channels: 3, background: { r: 0, g: 0, b: 0 } } })
    .png()
    .toFile(files[2]);
  const settings = parseSettings({ masks: { source: 'imported', importPath: images } });
  const project = await Project.create(join(dir, 'project'), { images: files, settings });
  const masks = new Map<string, BinaryMask>();
  const a0 = rectMask(12, 10, 1, 1, 6, 5);
  const a1 = rectMask(12, 10, 6, 3, 11, 9, [8, 6]); // a hole: polygons cannot say it → RLE
  const b0 = rectMask(8, 6, 2, 1, 7, 5);
  masks.set('1:0', a0).set('1:1', a1).set('2:0', b0);
  const aCandidates = [
    candidate(0, 0, 'a red circle', 1.5, 30, 'beam'),
    candidate(0, 1, 'the "left" red circle', 2.0, 31),
    candidate(0, 2, 'a red circle', 1.6, 29),
    candidate(0, 3, 'a shape', 1.1, 20),
    candidate(0, 4, 'a red café circle', 3, 30, 'sampling'),
    candidate(1, 0, 'a dotted square', 1.31, 25),
    candidate(1, 1, 'a square', null, 24),
  ];
  if (options.released)
    aCandidates.forEach((c, k) => Object.assign(c, { releasedText: TEST_RELEASED_TEXTS[k] }));
  const bCandidates = [
    candidate(0, 0, 'a green square', null, 28, 'beam'),
    candidate(0, 1, 'a square, green', null, 27),
  ];
  const policy = keepPolicy(settings);
  const entries = project.file.images;
  const resultA: ImageResult = {
    version: 1,
    image: imageRecord(entries[0], { width: 12, height: 10 }),
    status: 'done',
    masks: [maskResult(0, a0), maskResult(1, a1)],
    candidates: aCandidates,
    decisions: decide(aCandidates, 2, policy, entries[0].id),
  };
  const resultB: ImageResult = {
    version: 1,
    image: imageRecord(entries[1], { width: 8, height: 6 }),
    status: 'done',
    masks: [maskResult(0, b0)],
    candidates: bCandidates,
    decisions: decide(bCandidates, 1, policy, entries[1].id),
  };
  const failed: ImageResult = {
    version: 1,
    image: imageRecord(entries[2], { width: 0, height: 0 }),
    status: 'failed',
    error: { stage: 'load', code: 'corrupt', message: 'the file is not an image' },
    masks: [],
    candidates: [],
    decisions: [],
  };
  project.commit(resultA);
  project.commit(resultB);
  project.commit(failed);
  project.close();
  return { project: project.dir, masks };
}

/** One image of {@link writeMaskProject}: its fill colour and masks, each with captions as [text, DoS, CoS]. */
export interface TestImageSpec {
  name: string;
  width: number;
  height: number;
  colour: [number, number, number];
  masks: Array<{ mask: BinaryMask; captions: Array<[string, number | null, number]> }>;
}

/**
 * Writes a project of the given images (all done) into `dir/project`, images under `dir/images`: masks as given,
 * one DCS candidate per caption (candidate k of mask m is `image:m:k`). For exports of masks with holes, several parts and single-mask images.
 * `overrides` (filter policies, seed) are merged into the settings; stored decisions follow them.
 */
export async function writeMaskProject(
  dir: string,
  specs: readonly TestImageSpec[],
  overrides: Pick<SettingsInput, 'filter' | 'seed'> = {},
): Promise<string> {
  const images = join(dir, 'images');
  mkdirSync(images, { recursive: true });
  const files = specs.map((s) => join(images, s.name));
  for (const [k, s] of specs.entries()) {
    const [r, g, b] = s.colour;
    await sharp({ create: { width: s.width, height: s.height, channels: 3, background: { r, g, b } } })
      .png()
      .toFile(files[k]);
  }
  const settings = parseSettings({ ...overrides, masks: { source: 'imported', importPath: images } });
  const project = await Project.create(join(dir, 'project'), { images: files, settings });
  project.file.images.forEach((entry, k) => {
    const spec = specs[k];
    const candidates = spec.masks.flatMap((m, maskIndex) =>
      m.captions.map(([text, dos, cos], j) =>
        candidate(maskIndex, j, text, spec.masks.length === 1 ? null : dos, cos),
      ),
    );
    project.commit({
      version: 1,
      image: imageRecord(entry, { width: spec.width, height: spec.height }),
      status: 'done',
      masks: spec.masks.map((m, index) => maskResult(index, m.mask)),
      candidates,
      decisions: decide(candidates, spec.masks.length, keepPolicy(settings), entry.id),
    });
  });
  project.close();
  return project.dir;
}
