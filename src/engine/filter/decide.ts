/**
 * Keep decisions from stored scores (DESIGN.md §5): DoS > τ (strict), plus the documented policies for single-mask
 * images and for masks left with no kept candidate. Pure: moving τ calls this again and recomputes nothing else.
 */
import type { FilterSettings } from '../../shared/settings.ts';
import type { CandidateResult, Decision } from '../../shared/results.ts';

/** The fields `decide` reads from a candidate. */
export type ScoredCandidate = Pick<CandidateResult, 'index' | 'mask' | 'comparison'> & {
  scores: Pick<CandidateResult['scores'], 'cos' | 'dos'>;
};

/**
 * Decisions for all candidates of one image.
 *
 * @param maskCount n, the number of masks of the image: n = 1 applies the single-mask policy.
 */
export function decide(candidates: readonly ScoredCandidate[], maskCount: number, filter: FilterSettings): Decision[] {
  if (!Number.isFinite(filter.tau)) throw new Error(`tau must be a finite number, got ${filter.tau}`);
  const decisions = new Map<ScoredCandidate, Decision>();
  const exported = candidates.filter((c) => !c.comparison);
  for (const c of candidates) {
    if (c.comparison) decisions.set(c, { mask: c.mask, candidate: c.index, kept: false, reason: 'comparison' });
  }
  if (maskCount === 1) {
    decideSingleMask(exported, filter, decisions);
  } else {
    for (const c of exported) {
      const kept = c.scores.dos !== null && c.scores.dos > filter.tau;
      decisions.set(c, { mask: c.mask, candidate: c.index, kept, reason: kept ? 'dos-above-tau' : 'dos-at-or-below-tau' });
    }
    if (filter.emptyMask === 'keep-best') keepBestOfEmptyMasks(exported, decisions);
  }
  return candidates.map((c) => decisions.get(c)!);
}

/** Kept candidates of an image at τ, as a set of `mask:index` keys (convenience for exporters and reports). */
export function keptKeys(decisions: readonly Decision[]): Set<string> {
  return new Set(decisions.filter((d) => d.kept).map((d) => `${d.mask}:${d.candidate}`));
}

function decideSingleMask(candidates: readonly ScoredCandidate[], filter: FilterSettings, out: Map<ScoredCandidate, Decision>): void {
  if (filter.singleMask === 'keep-all' || filter.singleMask === 'drop') {
    const kept = filter.singleMask === 'keep-all';
    for (const c of candidates) out.set(c, { mask: c.mask, candidate: c.index, kept, reason: kept ? 'single-mask' : 'single-mask-dropped' });
    return;
  }
  // keep-by-cos-rank: the reference's loader trains single-mask images on the top share of captions by CoS.
  const byMask = groupByMask(candidates);
  for (const group of byMask.values()) {
    const keep = Math.max(1, Math.floor(group.length * filter.singleMaskShare));
    // stable order: CoS descending, then candidate index, so ties break the same way on every run
    const ranked = [...group].sort((a, b) => b.scores.cos - a.scores.cos || a.index - b.index);
    ranked.forEach((c, rank) => {
      const kept = rank < keep;
      out.set(c, { mask: c.mask, candidate: c.index, kept, reason: kept ? 'single-mask-rank' : 'single-mask-dropped' });
    });
  }
}

function keepBestOfEmptyMasks(candidates: readonly ScoredCandidate[], out: Map<ScoredCandidate, Decision>): void {
  for (const group of groupByMask(candidates).values()) {
    if (group.some((c) => out.get(c)!.kept)) continue;
    let best: ScoredCandidate | null = null;
    for (const c of group) {
      if (c.scores.dos === null) continue;
      if (best === null || c.scores.dos > best.scores.dos!) best = c;
    }
    if (best) out.set(best, { mask: best.mask, candidate: best.index, kept: true, reason: 'best-of-empty-mask' });
  }
}

function groupByMask(candidates: readonly ScoredCandidate[]): Map<number, ScoredCandidate[]> {
  const groups = new Map<number, ScoredCandidate[]>();
  for (const c of candidates) {
    const group = groups.get(c.mask) ?? [];
    group.push(c);
    groups.set(c.mask, group);
  }
  return groups;
}
