/**
 * The Report view's engine work (issue 12): `report:get` on a demo project builds the quality report and, because demo
 * projects carry ground truth, the oracle's identification rates. Prints, for 8 and 24 generated scenes with the
 * default candidate grid per mask (4 crops × (beam + 5 DCS top-k + 5 DCS top-p + 10 plain-sampling comparison)), the
 * time of one report (report + oracle) at τ 1.3, then after τ moves to 0.9 and 1.5 — what the view waits for after each
 * τ move — and the size of the answer the page receives. Before issue 12 the oracle matched each caption's mask to
 * the scene's objects once per caption and per τ: 24–30 s for 8 scenes and 100–210 s for 24 on the shared 2-core
 * machine; now each mask is matched once and kept across τ moves.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CandidateResult, ImageResult } from '../src/shared/results.ts';
import { parseSettings } from '../src/shared/settings.ts';
import { cropKey } from '../src/shared/caption.ts';
import { generateScenes, type GroundTruth } from '../src/engine/demo/index.ts';
import { evaluateResults, oracleCache, readGroundTruth } from '../src/engine/dataset/index.ts';
import { keepPolicy } from '../src/shared/decide.ts';

const CROPS = [
  { kind: 'masked' },
  { kind: 'box', margin: 1 },
  { kind: 'box', margin: 1.1 },
  { kind: 'box', margin: 1.2 },
] as const;

/** Results whose masks are the ground-truth objects and whose captions name some of each object's attributes. */
export function results(truth: GroundTruth): ImageResult[] {
  let s = 17;
  const random = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  return truth.images.map((image): ImageResult => {
    const candidates: CandidateResult[] = [];
    image.objects.forEach((object, mask) => {
      let index = 0;
      for (const crop of CROPS)
        for (let k = 0; k < 21; k++) {
          const words = [object.colour, object.pattern, object.shape].filter(
            (_, i) => i === 2 || random() < 0.5,
          );
          const method = k === 0 ? 'beam' : k <= 10 ? 'dcs' : 'sampling';
          candidates.push({
            index: index++,
            mask,
            crop: crop as CandidateResult['crop'],
            cropKey: cropKey(crop as CandidateResult['crop']),
            setting: {
              kind: 'beam',
              beams: 3,
              scoring: 'raw-logits',
            } as unknown as CandidateResult['setting'],
            settingKey: `s${k}`,
            method,
            text: `a ${words.join(' ')}`,
            tokens: [],
            seed: 0,
            comparison: method === 'sampling',
            scores: {
              theta: 30,
              cos: 20 + random() * 10,
              uos: random(),
              dos: random() * 3,
              confusedWith: null,
              headNoun: object.shape,
              nounPrompt: `a photo of a ${object.shape}`,
            },
          });
        }
    });
    return {
      version: 1,
      image: {
        id: image.id,
        path: image.file,
        name: image.file,
        sha256: '',
        width: image.width,
        height: image.height,
      },
      status: 'done',
      masks: image.objects.map((o, index) => ({
        index,
        rle: o.segmentation,
        area: 1,
        bbox: o.bbox,
        score: 1,
        source: 'imported',
      })),
      candidates,
      decisions: [],
    } as unknown as ImageResult;
  });
}

/** Prints the figures. */
export async function run(): Promise<void> {
  const policy = keepPolicy(parseSettings({}));
  for (const count of [8, 24]) {
    const dir = mkdtempSync(join(tmpdir(), 'pris-report-bench-'));
    try {
      const truth = await generateScenes({ count, seed: 5, outDir: dir });
      const path = join(dir, 'ground-truth.json');
      writeFileSync(path, JSON.stringify(truth));
      const list = results(truth);
      const candidates = list.reduce((n, r) => n + r.candidates.length, 0);
      // as the service answers `report:get`: the ground truth read once, the oracle's cache kept across τ moves
      const truthRead = readGroundTruth(path);
      const cache = oracleCache();
      const times: string[] = [];
      let bytes = 0;
      for (const tau of [1.3, 0.9, 1.5]) {
        const start = performance.now();
        const report = evaluateResults(list, truthRead, { ...policy, tau }, null, cache);
        times.push(`τ ${tau}: ${(performance.now() - start).toFixed(0)} ms`);
        bytes = JSON.stringify(report).length;
      }
      console.log(
        `${count} scenes, ${candidates} candidates: report + oracle ${times.join(', ')} (first: cold cache); answer ${(bytes / 1024).toFixed(1)} KiB`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
