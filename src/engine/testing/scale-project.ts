/**
 * A large synthetic project for the app's scale tests and bench (issue 20): `count` images whose entries point at a
 * few real PNG files, with results in the store's own line format (`encodeLine`, as `Project.commit` writes them, but
 * in one write instead of one fsync per image: 100k commits would take minutes): single- and multi-mask images, DoS
 * values with ties, a failed image every `failedEvery`, and the last `pendingShare` left pending. Deterministic for
 * a seed. Not used outside tests and the bench.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { CandidateResult, ImageResult } from '../../shared/results.ts';
import { parseSettings, type SettingsInput } from '../../shared/settings.ts';
import { decide, keepPolicy } from '../filter/decide.ts';
import { encodeRle, rleArea, rleToBbox } from '../image/rle.ts';
import { encodeLine, imageRecord, Project, RESULTS_FILE } from '../pipeline/store/index.ts';
import { mulberry32 } from './synthetic.ts';

/** A small deterministic generator (mulberry32, shared with the synthetic results). */
export const seeded = mulberry32;

export interface ScaleOptions {
  seed?: number;
  failedEvery?: number;
  pendingShare?: number;
  filter?: SettingsInput['filter'];
}

/** Writes the project into `dir/project` (its images under `dir/images`); answers the project folder. */
export async function writeScaleProject(
  dir: string,
  count: number,
  options: ScaleOptions = {},
): Promise<string> {
  const { seed = 1, failedEvery = 50, pendingShare = 0.05 } = options;
  const random = seeded(seed);
  const images = join(dir, 'images');
  mkdirSync(images, { recursive: true });
  const files = ['s0.png', 's1.png', 's2.png', 's3.png'].map((f) => join(images, f));
  for (const [k, file] of files.entries())
    await sharp({ create: { width: 16, height: 12, channels: 3, background: { r: 60 * k, g: 90, b: 30 } } })
      .png()
      .toFile(file);
  const settings = parseSettings({
    filter: options.filter,
    masks: { source: 'imported', importPath: images },
  });
  const project = await Project.create(join(dir, 'project'), { images: files, settings });
  const real = project.file.images;
  // the project's list: `count` entries over the few real files (same content key), each its own id and name
  project.file.images = Array.from({ length: count }, (_, k) => ({
    ...real[k % real.length],
    id: k + 1,
    name: `img-${String(k + 1).padStart(6, '0')}.png`,
  }));
  project.save();
  const policy = keepPolicy(settings);
  const masks = [0, 1, 2, 3].map((m) => {
    const data = new Uint8Array(16 * 12);
    for (let y = 2; y < 8; y++) for (let x = 3 * m; x < 3 * m + 3; x++) data[y * 16 + x] = 1;
    return encodeRle({ width: 16, height: 12, data });
  });
  const committed = Math.round(count * (1 - pendingShare));
  const lines: Buffer[] = [];
  for (const entry of project.file.images.slice(0, committed)) {
    const image = imageRecord(entry, { width: 16, height: 12 });
    if (entry.id % failedEvery === 0) {
      lines.push(
        encodeLine({
          version: 1,
          image,
          status: 'failed',
          error: { stage: 'load', code: 'corrupt', message: `image ${entry.id} is not an image` },
          masks: [],
          candidates: [],
          decisions: [],
        }),
      );
      continue;
    }
    const n = random() < 0.15 ? 1 : 2 + Math.floor(random() * 3);
    const candidates: CandidateResult[] = [];
    for (let m = 0; m < n; m++) {
      const perMask = 1 + Math.floor(random() * 6);
      for (let j = 0; j < perMask; j++) {
        const dos = n === 1 ? null : Math.round((0.4 + random() * 2.2) * 20) / 20;
        candidates.push({
          index: j,
          mask: m,
          crop: { kind: 'box', margin: 1.2 },
          cropKey: 'box-1.2',
          setting: { kind: 'top-k', k: 5, distinctive: true },
          settingKey: 'dcs-top-k-5',
          method: 'dcs',
          text: `shape ${m} caption ${j}`,
          tokens: [49406, 1, 49407],
          seed: 7,
          comparison: false,
          scores: {
            theta: 25,
            cos: 20 + Math.round(random() * 100) / 10,
            uos: dos,
            dos,
            confusedWith: dos === null ? null : (m + 1) % n,
            headNoun: 'shape',
            nounPrompt: 'a photo of a shape',
          },
        });
      }
    }
    const result: ImageResult = {
      version: 1,
      image,
      status: 'done',
      masks: masks.slice(0, n).map((rle, index) => ({
        index,
        rle,
        area: rleArea(rle),
        bbox: rleToBbox(rle),
        score: 1,
        source: 'imported',
      })),
      candidates,
      decisions: decide(candidates, n, policy, entry.id),
    };
    lines.push(encodeLine(result));
  }
  project.close();
  writeFileSync(join(project.dir, RESULTS_FILE), Buffer.concat(lines));
  return project.dir;
}
