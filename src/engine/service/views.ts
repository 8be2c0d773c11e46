/**
 * Maps the pipeline's stored results (shared/results.ts) to the API's view types (shared/api.ts), and the ids the
 * UI uses to the store's numeric positions: image `7`, mask `7:2`, candidate `7:2:13`, prompted mask `7:u0`.
 * Pure functions: no file or model access.
 */
import { candidateId as idOf, maskId, tryParseId, userMaskId } from '../../shared/ids.ts';
import { type CandidateView, type ImageSummary, type MaskView } from '../../shared/api.ts';
import type { CandidateResult, ImageResult, MaskResult } from '../../shared/results.ts';
import { decideResult, reviewMark, type KeepPolicy, type ReviewInput } from '../filter/index.ts';
import type { ImageEntry } from '../pipeline/index.ts';
import type { ResultCatalog } from '../pipeline/index.ts';
import type { ReviewState } from './review-store.ts';

/** Review state kept beside the results: its one schema is shared/review.ts `ReviewFileSchema`. */
export { emptyReview, type ReviewState } from './review-store.ts';

export { maskId, parseId, userMaskId } from '../../shared/ids.ts';

/** The id of a stored candidate of image `image`. */
export const candidateId = (image: number, candidate: CandidateResult): string =>
  idOf(image, candidate.mask, candidate.index);

/**
 * Kept flags of every candidate of a result at the policy's τ, by the shared rule (shared/decide.ts) with the review
 * applied: accepted kept, rejected and deleted masks' candidates dropped, comparison candidates never kept.
 */
export function keptFlags(result: ImageResult, policy: KeepPolicy, review?: ReviewInput | null): boolean[] {
  return decideResult(result, policy, review).map((d) => d.kept);
}

/** The gallery summary of one image. */
export function imageSummary(
  entry: ImageEntry,
  result: ImageResult | undefined,
  policy: KeepPolicy,
  running: boolean,
  folder: string,
  review?: ReviewInput | null,
): ImageSummary {
  const base: ImageSummary = {
    id: String(entry.id),
    file: entry.name,
    folder,
    width: null,
    height: null,
    status: running ? 'running' : 'pending',
    error: null,
    masks: 0,
    candidates: 0,
    kept: 0,
    reviewed: 0,
  };
  if (!result) return base;
  if (result.status === 'failed') {
    return {
      ...base,
      status: 'error',
      error: { code: result.error?.code ?? 'error', message: result.error?.message ?? 'the image failed' },
    };
  }
  const kept = keptFlags(result, policy, review);
  return {
    ...base,
    status: 'done',
    width: result.image.width,
    height: result.image.height,
    masks: result.masks.length,
    candidates: result.candidates.filter((c) => !c.comparison).length,
    kept: kept.filter(Boolean).length,
    reviewed: reviewedCount(result, review),
  };
}

/** Exportable candidates of a result the review accepted or rejected (a deleted mask's are not reviewed). */
function reviewedCount(result: ImageResult, review?: ReviewInput | null): number {
  if (!review) return 0;
  let reviewed = 0;
  for (const c of result.candidates) {
    if (c.comparison) continue;
    const mark = reviewMark(review, result.image.id, c.mask, c.index);
    if (mark === 'accepted' || mark === 'rejected') reviewed++;
  }
  return reviewed;
}

/**
 * Per image id, its candidates the review accepted or rejected (masks not deleted), from the review alone: the
 * gallery's pages and its "unreviewed" filter count them without reading any result.
 */
export function reviewedByImage(review: ReviewInput): Map<number, number> {
  const deleted = new Set(review.deletedMasks);
  const out = new Map<number, number>();
  for (const id of Object.keys(review.decisions)) {
    const parts = tryParseId(id, 'candidate');
    if (!parts || deleted.has(maskId(parts.image, parts.mask!))) continue;
    out.set(parts.image, (out.get(parts.image) ?? 0) + 1);
  }
  return out;
}

/** The image size a result was made at, read from its record's header (no decoding of masks or candidates). */
export function recordSize(
  catalog: ResultCatalog,
  id: number,
): { width: number | null; height: number | null } {
  const r = catalog.record(id);
  if (r === undefined) return { width: null, height: null };
  const line = catalog.log.read(catalog.columns.offset.view()[r], catalog.columns.length.view()[r]);
  const image = (JSON.parse(line) as { image?: { width?: unknown; height?: unknown } }).image;
  const size = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  return { width: size(image?.width), height: size(image?.height) };
}

/** The views of an image's masks: stored masks (minus deleted ones) then prompted masks. */
export function maskViews(
  result: ImageResult | undefined,
  imageId: number,
  review: ReviewState,
  policy: KeepPolicy,
): MaskView[] {
  const deleted = new Set(review.deletedMasks);
  const views: MaskView[] = [];
  if (result && result.status === 'done') {
    const kept = keptFlags(result, policy, review);
    const ranked = [...result.masks].sort((a, b) => b.score - a.score).map((m) => m.index);
    for (const mask of result.masks) {
      const id = maskId(imageId, mask.index);
      if (deleted.has(id)) continue;
      const own = result.candidates
        .map((c, k) => ({ c, k }))
        .filter(({ c }) => c.mask === mask.index && !c.comparison);
      views.push({
        id,
        imageId: String(imageId),
        index: mask.index,
        bbox: mask.bbox,
        area: mask.area,
        rle: mask.rle,
        // results written before predicted IoU and stability were recorded carry only their product, `score`
        predictedIou: mask.predictedIou ?? (mask.source === 'imported' ? null : mask.score),
        stability: mask.stability ?? null,
        source: mask.source,
        selectionReason: selectionReason(mask, ranked),
        candidates: own.length,
        kept: own.filter(({ k }) => kept[k]).length,
      });
    }
  }
  (review.userMasks[String(imageId)] ?? []).forEach((mask, k) => {
    const id = userMaskId(imageId, k);
    if (deleted.has(id)) return;
    views.push({
      id,
      imageId: String(imageId),
      index: (result?.masks.length ?? 0) + k,
      bbox: mask.bbox,
      area: mask.area,
      rle: mask.rle,
      predictedIou: mask.predictedIou,
      stability: mask.stability,
      source: 'prompt',
      selectionReason: 'added with a prompt; not captioned yet: re-caption the image with its current masks',
      candidates: 0,
      kept: 0,
    });
  });
  return views;
}

function selectionReason(mask: MaskResult, ranked: number[]): string {
  if (mask.source === 'imported') return `imported${mask.importedId ? ` (${mask.importedId})` : ''}`;
  if (mask.source === 'prompt')
    return `added with a prompt, captioned by a re-caption (${mask.score.toFixed(3)})`;
  return `rank ${ranked.indexOf(mask.index) + 1} of ${ranked.length} by predicted IoU × stability (${mask.score.toFixed(3)})`;
}

/** The views of a result's candidates (optionally one mask's), with review state and τ decisions. */
export function candidateViews(
  result: ImageResult,
  review: ReviewState,
  maskIndex?: number,
): CandidateView[] {
  const imageId = result.image.id;
  return result.candidates
    .filter((c) => maskIndex === undefined || c.mask === maskIndex)
    .map((c) => candidateView(imageId, c, result.masks.length, review));
}

/** One candidate's view. */
export function candidateView(
  imageId: number,
  c: CandidateResult,
  maskCount: number,
  review: ReviewState,
): CandidateView {
  const id = candidateId(imageId, c);
  return {
    id,
    maskId: maskId(imageId, c.mask),
    imageId: String(imageId),
    crop: c.crop,
    cropKey: c.cropKey,
    setting: c.setting,
    settingKey: c.settingKey,
    method: c.method,
    text: c.text,
    editedText: review.edits[id] ?? null,
    uos: c.scores.uos,
    cos: c.scores.cos,
    dos: c.scores.dos,
    singleMask: maskCount === 1,
    confusedWith: c.scores.confusedWith === null ? null : maskId(imageId, c.scores.confusedWith),
    exportable: !c.comparison,
    decision: review.decisions[id] ?? null,
  };
}
