/**
 * The shapes-world evaluation: the oracle's identification rate (demo-world's `identifies`) for all candidates,
 * kept candidates, and per decoding method — the Table-13-style figures of the issue.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { DecodingMethod, ImageResult } from '../../shared/results.ts';
import {
  identifies,
  resolveTarget,
  type GroundTruth,
  type GroundTruthImage,
  type OracleImage,
} from '../demo/index.ts';
import { decodeRle } from '../image/index.ts';
import { reviewedText, type KeepPolicy, type ReviewInput } from '../filter/index.ts';
import {
  buildReport,
  decideForReport,
  type OracleRate,
  type QualityReport,
  type ReportOptions,
} from './report.ts';

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

/**
 * What the oracle's verdicts cost to prepare, kept between reports of one ground truth: each image's objects with
 * their masks decoded, and each stored result's masks matched to their objects (both independent of τ and of the
 * review). Keyed by object identity: a re-captioned image is a new result and is matched again. Use one cache per
 * ground-truth object (a new `ground-truth.json` read needs a new cache).
 */
export interface OracleCache {
  objects: WeakMap<GroundTruthImage, OracleImage>;
  /** By `imageId:revision` (results streamed from the store are new objects on every read). */
  targets: Map<string, (number | null)[]>;
}

/** An empty {@link OracleCache}. */
export function oracleCache(): OracleCache {
  return { objects: new WeakMap(), targets: new Map() };
}

/**
 * The report with the oracle's identification rates added. Images without ground truth are left out of the rates.
 *
 * @param results read twice (the report, then the oracle): an array, or a store's re-iterable `catalog.latest()`.
 * @param cache reused across calls (e.g. every τ of the Report view) so that only the τ-dependent work is redone.
 */
export function evaluateResults(
  results: Iterable<ImageResult>,
  truth: GroundTruth,
  policy: KeepPolicy,
  review?: ReviewInput | null,
  cache: OracleCache = oracleCache(),
  options: ReportOptions = {},
): QualityReport & { oracleImages: number } {
  const report = buildReport(results, policy, review, options);
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
    // each object's mask decoded once, and each mask matched to its object once (not once per caption: matching
    // decodes and compares every object's mask, ~10 ms a candidate on a 1024 px scene — issue 12's 30 s report)
    let oracle = cache.objects.get(gt);
    if (!oracle) {
      oracle = {
        objects: gt.objects.map((o) => ({
          ...o,
          mask: o.segmentation ? decodeRle(o.segmentation) : undefined,
        })),
      };
      cache.objects.set(gt, oracle);
    }
    const key = `${result.image.id}:${result.revision ?? 0}`;
    let targets = cache.targets.get(key);
    if (!targets) {
      const objects = oracle;
      targets = result.masks.map((m) => resolveTarget(objects, decodeRle(m.rle)));
      cache.targets.set(key, targets);
    }
    const decisions = decideForReport(result, policy, review);
    result.candidates.forEach((c, k) => {
      // the oracle judges the text that is exported: a reviewer's edit when there is one
      const target = targets[c.mask];
      const ok =
        target !== null &&
        target !== undefined &&
        identifies(oracle, target, reviewedText(result.image.id, c, review).text);
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
