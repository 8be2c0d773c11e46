/**
 * The shapes-world evaluation: the oracle's identification rate (demo-world's `identifies`) for all candidates,
 * kept candidates, and per decoding method — the Table-13-style figures of the issue.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { DecodingMethod, ImageResult } from '../../shared/results.ts';
import { identifies, type OracleImage, type GroundTruth } from '../demo/index.ts';
import { decodeRle } from '../image/index.ts';
import { reviewedText, type KeepPolicy, type ReviewInput } from '../filter/index.ts';
import { buildReport, decideForReport, type OracleRate, type QualityReport } from './report.ts';

const METHODS: DecodingMethod[] = ['beam', 'sampling', 'dcs'];

/** Reads a `ground-truth.json` written by the scene generator. */
export function readGroundTruth(path: string): GroundTruth {
  let truth: GroundTruth;
  try {
    truth = JSON.parse(readFileSync(path, 'utf8')) as GroundTruth;
  } catch (error) {
    throw new Error(`--ground-truth ${path}: ${(error as Error).message}`, { cause: error });
  }
  if (!truth || !Array.isArray(truth.images))
    throw new Error(`--ground-truth ${path} is not a ground-truth.json (no "images" list)`);
  return truth;
}

/** The report with the oracle's identification rates added. Images without ground truth are left out of the rates. */
export function evaluateResults(
  results: readonly ImageResult[],
  truth: GroundTruth,
  policy: KeepPolicy,
  review?: ReviewInput | null,
): QualityReport & { oracleImages: number } {
  const report = buildReport(results, policy, review);
  const byName = new Map(truth.images.map((i) => [basename(i.file), i]));
  const tally = () => ({ identified: 0, total: 0 });
  const all = tally();
  const kept = tally();
  const byMethod = Object.fromEntries(METHODS.map((m) => [m, tally()])) as Record<
    DecodingMethod,
    { identified: number; total: number }
  >;
  const keptByMethod = Object.fromEntries(METHODS.map((m) => [m, tally()])) as Record<
    DecodingMethod,
    { identified: number; total: number }
  >;
  let matched = 0;
  for (const result of results) {
    if (result.status !== 'done') continue;
    const gt = byName.get(basename(result.image.path)) ?? byName.get(result.image.name);
    if (!gt) continue;
    matched++;
    const oracle: OracleImage = { objects: gt.objects };
    const masks = result.masks.map((m) => decodeRle(m.rle));
    const decisions = decideForReport(result, policy, review);
    result.candidates.forEach((c, k) => {
      // the oracle judges the text that is exported: a reviewer's edit when there is one
      const ok = identifies(oracle, masks[c.mask], reviewedText(result.image.id, c, review).text);
      const add = (t: { identified: number; total: number }) => {
        t.total++;
        if (ok) t.identified++;
      };
      add(byMethod[c.method]);
      if (decisions[k]) add(keptByMethod[c.method]);
      if (c.comparison) return;
      add(all);
      if (decisions[k]) add(kept);
    });
  }
  const rate = (t: { identified: number; total: number }): OracleRate => ({
    ...t,
    rate: t.total > 0 ? t.identified / t.total : null,
  });
  return {
    ...report,
    oracle: {
      all: rate(all),
      kept: rate(kept),
      byMethod: Object.fromEntries(METHODS.map((m) => [m, rate(byMethod[m])])) as Record<
        DecodingMethod,
        OracleRate
      >,
      keptByMethod: Object.fromEntries(METHODS.map((m) => [m, rate(keptByMethod[m])])) as Record<
        DecodingMethod,
        OracleRate
      >,
    },
    oracleImages: matched,
  };
}

/** The ground truth as a COCO instances file, so its masks can be imported (`generate --masks`). */
export function groundTruthToCoco(truth: GroundTruth): {
  images: object[];
  annotations: object[];
  categories: object[];
} {
  let annotationId = 1;
  return {
    images: truth.images.map((i) => ({
      id: i.id,
      file_name: basename(i.file),
      width: i.width,
      height: i.height,
    })),
    annotations: truth.images.flatMap((i) =>
      i.objects.map((o) => ({
        id: annotationId++,
        image_id: i.id,
        category_id: 1,
        iscrowd: 0,
        bbox: o.bbox,
        area: decodeRle(o.segmentation).data.reduce((s, v) => s + v, 0),
        segmentation: o.segmentation,
      })),
    ),
    categories: [{ id: 1, name: 'object', supercategory: 'object' }],
  };
}
