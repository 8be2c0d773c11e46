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
 * τ enters only through comparisons with candidates' DoS values, so the kept count is a step function of τ whose
 * steps sit at DoS values: `buildKeptIndex` samples this same `decide` once per step and answers any τ with a
 * binary search. The app counts a whole project with kept-counter.ts instead (in the engine, from the store's
 * columns: the page never holds every candidate), which its tests hold equal to this `decide`.
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

// ---------------------------------------------------------------------------------------------------------------
// The page's index: the kept count at any τ in O(log n), built from `decide` itself.

/** Review marks as small integers, for the columnar form. */
export const REVIEW_CODES = { none: 0, accepted: 1, rejected: 2, 'mask-deleted': 3 } as const;
const MARKS: (ReviewMark | null)[] = [null, 'accepted', 'rejected', 'mask-deleted'];

/** Exportable candidates of a project as columns (what `filter:scores` sends the page). */
export interface DecisionColumns {
  // in: per candidate, int32[n]: index into `maskCounts` (the candidate's image); candidates of an image are contiguous
  image: Int32Array;
  // in: per candidate, int32[n]: mask index within its image
  mask: Int32Array;
  // in: per candidate, float64[n]: CoS and DoS; NaN = none (DoS of a single-mask image)
  cos: Float64Array;
  dos: Float64Array;
  // in: per candidate, int8[n]: REVIEW_CODES
  review: Int8Array;
  // in: per image, int32[m]: the image's mask count n
  maskCounts: Int32Array;
  /** Per image, its id (the mask ids `emptyMask: 'random'` draws from); positions stand in when absent. */
  imageIds?: readonly (number | string)[];
}

/** Columns of no candidates (before a project's scores arrive). */
export function emptyColumns(): DecisionColumns {
  return {
    image: new Int32Array(0),
    mask: new Int32Array(0),
    cos: new Float64Array(0),
    dos: new Float64Array(0),
    review: new Int8Array(0),
    maskCounts: new Int32Array(0),
  };
}

/** The decision columns of the wire's `filter:scores` answer (its `imageIndex` is the columns' `image`). */
export function scoreColumns(
  scores: Omit<DecisionColumns, 'image'> & { imageIndex: Int32Array },
): DecisionColumns {
  const { mask, cos, dos, review, maskCounts, imageIds } = scores;
  return { image: scores.imageIndex, mask, cos, dos, review, maskCounts, imageIds };
}

/** A kept count as a step function of τ: `base` below the first step, `counts[i]` for τ ≥ `steps[i]`. */
export interface KeptSteps {
  base: number;
  // in: ascending distinct τ where the count changes, float64[s]; counts after each, int32[s]
  steps: Float64Array;
  counts: Int32Array;
}

/**
 * The project's kept count as a step function of τ, and each image's: `images[i]` is the image at position i of
 * `maskCounts`, and at every τ the images' counts sum to the project's (both come from the same `decide` samples), so
 * the gallery's tiles and the top bar's total cannot disagree.
 */
export interface KeptIndex extends KeptSteps {
  total: number;
  images: KeptSteps[];
}

/**
 * Builds the kept-count index for one policy (τ is ignored) by running `decide` on every mask's candidates (with
 * their image's n) at each of their distinct finite DoS values: between two consecutive values every `dos > τ`
 * comparison has the same outcome, so decisions are constant there. Cost per mask is O(steps × candidates)
 * (≤ 45 × 44 with the defaults).
 */
export function buildKeptIndex(columns: DecisionColumns, policy: Omit<KeepPolicy, 'tau'>): KeptIndex {
  const n = columns.image.length;
  for (const name of ['mask', 'cos', 'dos', 'review'] as const) {
    if (columns[name].length !== n)
      throw new Error(
        `buildKeptIndex: ${name} has ${columns[name].length} values, expected ${n} (one per candidate)`,
      );
  }
  const deltas = new Map<number, number>();
  let base = 0;
  const imageSteps: KeptSteps[] = [];
  let start = 0;
  while (start < n) {
    const image = columns.image[start];
    let end = start + 1;
    while (end < n && columns.image[end] === image) end++;
    const maskCount = columns.maskCounts[image];
    const imageId = columns.imageIds?.[image] ?? image;
    if (maskCount === undefined)
      throw new Error(
        `buildKeptIndex: candidate ${start} names image ${image}, but maskCounts has ${columns.maskCounts.length} images`,
      );
    // every rule works mask by mask (only n crosses masks), so each mask is sampled on its own: O(m²) per mask of
    // m candidates instead of per image
    const byMask = new Map<number, DecisionInput[]>();
    for (let k = start; k < end; k++) {
      const dos = columns.dos[k];
      const input: DecisionInput = {
        mask: columns.mask[k],
        index: k - start,
        comparison: false,
        cos: Number.isNaN(columns.cos[k]) ? null : columns.cos[k],
        dos: Number.isNaN(dos) ? null : dos,
        review: MARKS[columns.review[k]] ?? null,
      };
      const group = byMask.get(input.mask);
      if (group) group.push(input);
      else byMask.set(input.mask, [input]);
    }
    const imageDeltas = new Map<number, number>();
    let imageBase = 0;
    for (const inputs of byMask.values()) {
      const taus = new Set<number>();
      for (const input of inputs) if (input.dos !== null && Number.isFinite(input.dos)) taus.add(input.dos);
      const count = (tau: number) =>
        decide(inputs, maskCount, { ...policy, tau }, imageId).reduce((s, d) => s + (d.kept ? 1 : 0), 0);
      const sorted = [...taus].sort((a, b) => a - b);
      // below every step: any τ under the smallest DoS (or 0 when the mask has none)
      let previous = count(sorted.length > 0 ? sorted[0] - Math.max(1, Math.abs(sorted[0])) : 0);
      imageBase += previous;
      for (const tau of sorted) {
        const now = count(tau);
        if (now !== previous) imageDeltas.set(tau, (imageDeltas.get(tau) ?? 0) + now - previous);
        previous = now;
      }
    }
    base += imageBase;
    for (const [tau, delta] of imageDeltas) deltas.set(tau, (deltas.get(tau) ?? 0) + delta);
    imageSteps[image] = stepsOf(imageBase, imageDeltas);
    start = end;
  }
  const images = Array.from(columns.maskCounts, (_, i) => imageSteps[i] ?? stepsOf(0, new Map()));
  return { total: n, images, ...stepsOf(base, deltas) };
}

/** The step function of a count that is `base` below every τ of `deltas` and changes by `deltas.get(τ)` at each. */
function stepsOf(base: number, deltas: Map<number, number>): KeptSteps {
  const steps = Float64Array.from([...deltas.keys()].sort((a, b) => a - b));
  const counts = new Int32Array(steps.length);
  let running = base;
  steps.forEach((tau, i) => (counts[i] = running += deltas.get(tau)!));
  return { base, steps, counts };
}

/**
 * Kept candidates of image position `image` (an index into the columns' `maskCounts`) at τ; 0 for an image with no
 * exportable candidate. The gallery's tile counts: they sum to {@link keptCountAt} at every τ.
 */
export function imageKeptAt(index: KeptIndex, image: number, tau: number): number {
  const steps = index.images[image];
  if (!steps)
    throw new Error(`imageKeptAt: image ${image} is not in the index (it has ${index.images.length} images)`);
  return keptCountAt(steps, tau);
}

/** Kept candidates at τ: one binary search on the index (the project's, or one image's `KeptSteps`). */
export function keptCountAt(index: KeptSteps, tau: number): number {
  if (Number.isNaN(tau)) throw new Error('keptCountAt: tau must be a number, got NaN');
  // last step ≤ τ
  let lo = 0;
  let hi = index.steps.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (index.steps[mid] <= tau) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? index.base : index.counts[lo - 1];
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
