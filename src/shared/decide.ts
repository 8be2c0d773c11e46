/**
 * The one keep rule (DESIGN.md §5 Scores) used by the engine (stored decisions, exports, reports, gallery counts)
 * and by the page (the τ slider's kept count, the candidates table). Pure, plain data and typed arrays, no Node.
 *
 * A candidate is decided in this order:
 * 1. comparison (plain-sampling) candidates are never kept;
 * 2. review: a candidate of a deleted mask is dropped, a rejected one is dropped, an accepted one is kept — whatever
 *    τ says (an edit changes only the exported text, never the decision);
 * 3. scores: with several masks, DoS > τ (strict); an image with one mask has no ratio and its single-mask policy
 *    decides (keep-all / keep-by-cos-rank over the mask's exportable candidates / drop);
 * 4. empty masks: with `emptyMask: 'keep-best'`, a mask of a multi-mask image left with no kept candidate keeps its
 *    candidate with the highest DoS among those not rejected (first on ties); with `'random'`, one of those drawn
 *    by {@link emptyMaskPick} from the run's seed (settings.seed) and the mask id. The released loader instead draws
 *    with numpy's global `np.random.choice(num_sent)` each time it loads the mask (settings.ts REFERENCE_DIFFERENCES).
 *
 * The app counts a whole project at any τ with kept-counter.ts (in the engine, from the store's columns: the page
 * never holds every candidate), which its tests hold equal to this `decide`.
 */
import { candidateId, maskId, tryParseId } from './ids.ts';
import { numpyArgsort } from './numpy-argsort.ts';
import type { Decision } from './results.ts';
import type { FilterSettings } from './settings.ts';

/** The filter settings the rule reads. */
export type KeepPolicy = Pick<FilterSettings, 'tau' | 'singleMask' | 'singleMaskShare' | 'emptyMask'> & {
  /** Tied CoS under `keep-by-cos-rank` (settings.ts); `index` when absent. */
  singleMaskTies?: FilterSettings['singleMaskTies'];
  /** The run's seed (settings.seed): `emptyMask: 'random'` draws from it, so page, exports and stored decisions agree. */
  seed: number;
};

/**
 * The keep policy of a run's settings: its filter policies and its seed, at `tau` (the settings' own τ by default).
 * Every caller builds its policy here, so none can leave the seed out.
 */
export function keepPolicy(settings: { filter: FilterSettings; seed: number }, tau?: number): KeepPolicy {
  const { singleMask, singleMaskShare, singleMaskTies, emptyMask } = settings.filter;
  return {
    tau: tau ?? settings.filter.tau,
    singleMask,
    singleMaskShare,
    singleMaskTies,
    emptyMask,
    seed: settings.seed,
  };
}

/** A reviewer's mark on a candidate: accepted, rejected, or its mask deleted. */
export type ReviewMark = 'accepted' | 'rejected' | 'mask-deleted';

/** What the rule reads from a candidate. `dos` null (or NaN) means no ratio exists (single-mask image). */
export interface DecisionInput {
  mask: number;
  index: number;
  comparison: boolean;
  cos: number | null;
  dos: number | null;
  review?: ReviewMark | null;
}

/**
 * Review state as the project's `review.json` holds it (ids `image:mask:candidate`, masks `image:mask`).
 * Edits never change a decision; they are listed so one object carries the whole review to the exporters.
 */
export interface ReviewInput {
  decisions: Record<string, 'accepted' | 'rejected'>;
  edits: Record<string, string>;
  deletedMasks: readonly string[];
}

/** The review mark of candidate `index` of mask `mask` of image `imageId`, or null. */
export function reviewMark(
  review: ReviewInput | null | undefined,
  imageId: number | string,
  mask: number,
  index: number,
): ReviewMark | null {
  if (!review) return null;
  if (review.deletedMasks.includes(maskId(imageId, mask))) return 'mask-deleted';
  return review.decisions[candidateId(imageId, mask, index)] ?? null;
}

const hasRatio = (dos: number | null): dos is number => dos !== null && !Number.isNaN(dos);

/**
 * Decisions for all candidates of one image, in input order.
 *
 * @param maskCount n, the number of masks the image's scores were computed over: n = 1 applies the single-mask policy.
 */
export function decide(
  candidates: readonly DecisionInput[],
  maskCount: number,
  policy: KeepPolicy,
  imageId: number | string = '',
): Decision[] {
  if (!Number.isFinite(policy.tau)) throw new Error(`tau must be a finite number, got ${policy.tau}`);
  const out: Decision[] = new Array<Decision>(candidates.length);
  const set = (k: number, kept: boolean, reason: Decision['reason']) => {
    out[k] = { mask: candidates[k].mask, candidate: candidates[k].index, kept, reason };
  };
  // exportable candidates by mask, as positions into `candidates`
  const groups = new Map<number, number[]>();
  candidates.forEach((c, k) => {
    if (c.comparison) return set(k, false, 'comparison');
    const group = groups.get(c.mask);
    if (group) group.push(k);
    else groups.set(c.mask, [k]);
  });
  const single = maskCount === 1;
  for (const group of groups.values()) {
    if (single) decideSingleMask(candidates, group, policy, set);
    else
      for (const k of group) {
        const dos = candidates[k].dos;
        const kept = hasRatio(dos) && dos > policy.tau;
        set(k, kept, kept ? 'dos-above-tau' : 'dos-at-or-below-tau');
      }
    // review wins over scores
    for (const k of group) {
      const mark = candidates[k].review;
      if (mark === 'mask-deleted') set(k, false, 'mask-deleted');
      else if (mark === 'rejected') set(k, false, 'rejected');
      else if (mark === 'accepted') set(k, true, 'accepted');
    }
    if (!single && policy.emptyMask === 'keep-best' && !group.some((k) => out[k].kept)) {
      let best = -1;
      for (const k of group) {
        const { dos, review } = candidates[k];
        if (review === 'rejected' || review === 'mask-deleted' || !hasRatio(dos)) continue;
        if (best < 0 || dos > (candidates[best].dos as number)) best = k;
      }
      if (best >= 0) set(best, true, 'best-of-empty-mask');
    }
    if (!single && policy.emptyMask === 'random' && !group.some((k) => out[k].kept)) {
      const open = group.filter((k) => {
        const { dos, review } = candidates[k];
        return review !== 'rejected' && review !== 'mask-deleted' && hasRatio(dos);
      });
      if (open.length > 0) {
        const mask = candidates[group[0]].mask;
        set(
          open[emptyMaskPick(policy.seed, maskId(imageId, mask), open.length)],
          true,
          'random-of-empty-mask',
        );
      }
    }
  }
  return out;
}

/**
 * The position (0 ≤ i < count) of the candidate an empty mask keeps under `emptyMask: 'random'`: FNV-1a over the
 * run's seed and the mask id, then one xorshift32 step — deterministic, identical in the engine and the page.
 */
export function emptyMaskPick(seed: number, maskId: string, count: number): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < maskId.length; i++) h = Math.imul(h ^ maskId.charCodeAt(i), 0x01000193);
  h ^= h << 13;
  h ^= h >>> 17;
  h ^= h << 5;
  return (h >>> 0) % count;
}

function decideSingleMask(
  candidates: readonly DecisionInput[],
  group: number[],
  policy: KeepPolicy,
  set: (k: number, kept: boolean, reason: Decision['reason']) => void,
): void {
  if (policy.singleMask !== 'keep-by-cos-rank') {
    const kept = policy.singleMask === 'keep-all';
    for (const k of group) set(k, kept, kept ? 'single-mask' : 'single-mask-dropped');
    return;
  }
  // keep-by-cos-rank: the reference's loader trains single-mask images on the top share of captions by CoS.
  const keep = Math.max(1, Math.floor(group.length * policy.singleMaskShare));
  const cos = (k: number) => candidates[k].cos ?? Number.NEGATIVE_INFINITY;
  const byIndex = [...group].sort((a, b) => candidates[a].index - candidates[b].index);
  const ranked =
    policy.singleMaskTies === 'numpy'
      ? // the released loader: np.argsort(doc)[::-1] over the captions in their order (pseudo_datasets.py l. 658–660)
        numpyArgsort(byIndex.map(cos))
          .reverse()
          .map((i) => byIndex[i])
      : // CoS descending, then candidate index, so ties break the same way on every run
        byIndex.sort((a, b) => cos(b) - cos(a) || candidates[a].index - candidates[b].index);
  ranked.forEach((k, rank) => set(k, rank < keep, rank < keep ? 'single-mask-rank' : 'single-mask-dropped'));
}

/** What `decideViews` reads from the API's candidate view (shared/api.ts `CandidateView`). */
export interface CandidateViewInput {
  /** `image:mask:candidate`. */
  id: string;
  exportable: boolean;
  cos: number | null;
  dos: number | null;
  singleMask: boolean;
  decision: 'accepted' | 'rejected' | null;
}

/**
 * Kept flags of candidate views (the page's candidates table: one or more whole masks of one image) at the policy's
 * τ, by the same `decide`. Every rule works mask by mask, so one mask's candidates decide as they do in their image.
 */
export function decideViews(views: readonly CandidateViewInput[], policy: KeepPolicy): boolean[] {
  const inputs = views.map((v): DecisionInput => {
    const parts = tryParseId(v.id, 'candidate');
    if (!parts) throw new Error(`decideViews: candidate id "${v.id}" is not image:mask:candidate`);
    return {
      mask: parts.mask!,
      index: parts.candidate!,
      comparison: !v.exportable,
      cos: v.cos,
      dos: v.dos,
      review: v.decision,
    };
  });
  // only n = 1 versus n > 1 matters to the rule
  const maskCount = views.some((v) => v.singleMask) ? 1 : 2;
  const imageId = views.length > 0 ? tryParseId(views[0].id, 'candidate')!.image : '';
  return decide(inputs, maskCount, policy, imageId).map((d) => d.kept);
}
