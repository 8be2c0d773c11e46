/**
 * The engine's side of the keep rule: the rule itself is `shared/decide.ts` (the page runs the same function);
 * this file maps stored results and the project's review state onto it.
 */
import {
  decide as decideShared,
  reviewMark,
  type DecisionInput,
  type KeepPolicy,
  type ReviewInput,
} from '../../shared/decide.ts';
import { candidateId, candidateKey } from '../../shared/ids.ts';
import type { CandidateResult, Decision, ImageResult } from '../../shared/results.ts';

export { keepPolicy, reviewMark, type KeepPolicy, type ReviewInput } from '../../shared/decide.ts';

/** The fields `decide` reads from a candidate. */
export type ScoredCandidate = Pick<CandidateResult, 'index' | 'mask' | 'comparison'> & {
  scores: Pick<CandidateResult['scores'], 'cos' | 'dos'>;
  review?: DecisionInput['review'];
};

/**
 * Decisions for all candidates of one image (see `shared/decide.ts` for the rule).
 *
 * @param maskCount n, the number of masks of the image: n = 1 applies the single-mask policy.
 */
export function decide(
  candidates: readonly ScoredCandidate[],
  maskCount: number,
  filter: KeepPolicy,
  imageId: number | string = '',
): Decision[] {
  return decideShared(
    candidates.map((c) => ({
      mask: c.mask,
      index: c.index,
      comparison: c.comparison,
      cos: c.scores.cos,
      dos: c.scores.dos,
      review: c.review ?? null,
    })),
    maskCount,
    filter,
    imageId,
  );
}

/**
 * The rule's inputs of one stored image result, its review marks applied: straight from the candidates, with no copy
 * of each candidate (an export or a report decides 100k images).
 */
export function decisionInputs(
  result: { image: Pick<ImageResult['image'], 'id'>; candidates: readonly ScoredCandidate[] },
  review?: ReviewInput | null,
): DecisionInput[] {
  return result.candidates.map((c) => ({
    mask: c.mask,
    index: c.index,
    comparison: c.comparison,
    cos: c.scores.cos,
    dos: c.scores.dos,
    review: reviewMark(review, result.image.id, c.mask, c.index),
  }));
}

/** Decisions for one stored image result with the project's review applied (accept keeps, reject and deleted masks drop). */
export function decideResult(
  result: Pick<ImageResult, 'image' | 'masks' | 'candidates'>,
  filter: KeepPolicy,
  review?: ReviewInput | null,
): Decision[] {
  return decideShared(decisionInputs(result, review), result.masks.length, filter, result.image.id);
}

/** The text a candidate is exported with: the reviewer's edit when there is one (its scores stay those of the original). */
export function reviewedText(
  imageId: number,
  candidate: Pick<CandidateResult, 'mask' | 'index' | 'text'>,
  review?: ReviewInput | null,
): { text: string; edited: boolean } {
  const edit = review?.edits[candidateId(imageId, candidate.mask, candidate.index)];
  return edit !== undefined && edit !== candidate.text
    ? { text: edit, edited: true }
    : { text: candidate.text, edited: false };
}

/** Kept candidates of an image at τ, as a set of `mask:index` keys (convenience for exporters and reports). */
export function keptKeys(decisions: readonly Decision[]): Set<string> {
  return new Set(decisions.filter((d) => d.kept).map((d) => candidateKey(d.mask, d.candidate)));
}
