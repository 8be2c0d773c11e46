/**
 * Mask selection: reduce the generator's proposals to at most K masks per image (DESIGN.md §5 "Masks").
 *
 * The reference keeps ~5 masks per image by matching SAM masks to an unsupervised detector's masks; we have no
 * detector, so rules stand in for it, preferring whole objects over their parts and over background:
 * 1. rank by predicted IoU × stability;
 * 2. drop masks that are too small, cover too much of the image, or touch ≥ 3 image borders (background);
 * 3. walking down the ranking: drop a mask lying mostly inside a kept mask (a part of it); drop a mask that covers
 *    two or more kept masks (a group or the background around them); let a mask that covers one kept mask replace
 *    it when its score is close (the whole wins over the part); first of all, drop near-duplicates of kept masks
 *    (mask IoU ≥ 0.8; box NMS has removed most already);
 * 4. keep the best K.
 * Every proposal gets a decision with a reason string the UI can show.
 */
import { bordersTouched, maskOverlap, type BinaryMask } from '../image/index.ts';

/** What the selector needs of a proposal (a `MaskProposal` fits). */
export interface SelectableMask {
  id: number;
  mask: BinaryMask;
  area: number;
  predictedIou: number;
  stability: number;
}

/** The selector's rules and thresholds. */
export interface SelectionOptions {
  /** Masks kept at most (K). */
  maxMasks: number;
  /** Drop masks smaller than this share of the image. */
  minAreaFraction: number;
  /** Drop masks larger than this share of the image (background, the whole scene). */
  maxAreaFraction: number;
  /** Drop masks touching at least this many image borders (background); 5 turns the rule off. */
  maxBordersTouched: number;
  /** A mask with this share of its area inside another is "contained" in it. */
  containment: number;
  /** A whole replaces a kept part when its score is at least the part's score minus this. */
  wholeScoreMargin: number;
  /** Masks whose IoU with a kept mask reaches this are duplicates. */
  duplicateIou: number;
}

/** Defaults tuned to prefer whole objects; K = 5 as the reference. */
export const DEFAULT_SELECTION: Readonly<SelectionOptions> = Object.freeze({
  maxMasks: 5,
  minAreaFraction: 0.001,
  maxAreaFraction: 0.75,
  maxBordersTouched: 3,
  containment: 0.9,
  wholeScoreMargin: 0.1,
  duplicateIou: 0.8,
});

/** The selector's decision on one proposal. */
export interface SelectionDecision {
  /** The proposal's id. */
  id: number;
  kept: boolean;
  /** Rank among kept masks (0 = best), when kept. */
  rank?: number;
  /** predicted IoU × stability. */
  score: number;
  /** Why (shown in the UI), e.g. "kept: rank 1 of 4 by score 0.912" or "dropped: part of mask 7 (96 % inside)". */
  reason: string;
}

/** Selects at most `maxMasks` proposals; returns the kept ones (best first) and a decision for every proposal. */
export function selectMasks<T extends SelectableMask>(
  proposals: readonly T[],
  options: Partial<SelectionOptions> = {},
): { selected: T[]; decisions: SelectionDecision[] } {
  const o = { ...DEFAULT_SELECTION, ...options };
  if (!Number.isInteger(o.maxMasks) || o.maxMasks < 1)
    throw new RangeError(`maxMasks must be a positive integer, got ${o.maxMasks}`);
  for (const key of ['minAreaFraction', 'maxAreaFraction', 'containment', 'duplicateIou'] as const) {
    if (!(o[key] >= 0 && o[key] <= 1)) throw new RangeError(`${key} must be in [0, 1], got ${o[key]}`);
  }
  const score = (p: T) => p.predictedIou * p.stability;
  const order = [...proposals].sort((a, b) => score(b) - score(a) || a.id - b.id);
  const decisions = new Map<number, SelectionDecision>();
  const drop = (p: T, reason: string) =>
    decisions.set(p.id, { id: p.id, kept: false, score: score(p), reason: `dropped: ${reason}` });
  let kept: T[] = [];

  for (const p of order) {
    const imageArea = p.mask.width * p.mask.height;
    const share = p.area / imageArea;
    if (share < o.minAreaFraction) {
      drop(p, `too small (${percent(share)} of the image < ${percent(o.minAreaFraction)})`);
      continue;
    }
    if (share > o.maxAreaFraction) {
      drop(
        p,
        `too large (${percent(share)} of the image > ${percent(o.maxAreaFraction)}): background or scene`,
      );
      continue;
    }
    const borders = bordersTouched(p.mask);
    if (borders.count >= o.maxBordersTouched) {
      drop(p, `touches ${borders.count} image borders: background`);
      continue;
    }
    let container: { mask: T; inside: number } | null = null;
    const covered: Array<{ mask: T; inside: number }> = [];
    let duplicate: { mask: T; iou: number } | null = null;
    for (const k of kept) {
      const { intersection, areaA, areaB } = maskOverlap(p.mask, k.mask);
      if (intersection === 0) continue;
      const pInside = intersection / areaA;
      const kInside = intersection / areaB;
      const iou = intersection / (areaA + areaB - intersection);
      if (iou >= o.duplicateIou) {
        if (!duplicate || iou > duplicate.iou) duplicate = { mask: k, iou };
      } else if (pInside >= o.containment && areaA <= areaB) {
        if (!container || pInside > container.inside) container = { mask: k, inside: pInside };
      } else if (kInside >= o.containment) {
        covered.push({ mask: k, inside: kInside });
      }
    }
    if (duplicate) {
      drop(p, `duplicate of mask ${duplicate.mask.id} (IoU ${duplicate.iou.toFixed(2)})`);
      continue;
    }
    if (container) {
      drop(p, `part of mask ${container.mask.id} (${percent(container.inside)} inside it)`);
      continue;
    }
    if (covered.length >= 2) {
      drop(
        p,
        `covers ${covered.length} kept masks (${covered.map((c) => c.mask.id).join(', ')}): a group or background`,
      );
      continue;
    }
    if (covered.length === 1) {
      const part = covered[0].mask;
      if (score(p) >= score(part) - o.wholeScoreMargin) {
        kept = kept.filter((k) => k !== part);
        decisions.set(part.id, {
          id: part.id,
          kept: false,
          score: score(part),
          reason: `dropped: part of mask ${p.id} (${percent(covered[0].inside)} inside it), replaced by the whole`,
        });
      } else {
        drop(
          p,
          `contains mask ${part.id} whose score is clearly higher (${score(part).toFixed(3)} vs ${score(p).toFixed(3)})`,
        );
        continue;
      }
    }
    kept.push(p);
  }

  kept.sort((a, b) => score(b) - score(a) || a.id - b.id);
  const selected = kept.slice(0, o.maxMasks);
  kept.forEach((p, rank) => {
    if (rank < o.maxMasks) {
      decisions.set(p.id, {
        id: p.id,
        kept: true,
        rank,
        score: score(p),
        reason: `kept: rank ${rank + 1} of ${selected.length} by score ${score(p).toFixed(3)} (IoU ${p.predictedIou.toFixed(3)} × stability ${p.stability.toFixed(3)})`,
      });
    } else {
      decisions.set(p.id, {
        id: p.id,
        kept: false,
        score: score(p),
        reason: `dropped: beyond the cap of ${o.maxMasks} masks (rank ${rank + 1})`,
      });
    }
  });
  return { selected, decisions: proposals.map((p) => decisions.get(p.id) as SelectionDecision) };
}

function percent(share: number): string {
  return `${(share * 100).toFixed(share < 0.01 ? 2 : 1)} %`;
}
