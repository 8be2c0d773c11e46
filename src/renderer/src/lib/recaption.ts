/**
 * Re-caption rules of the workspace, as pure functions: whether the shown mask set differs from the captioned one,
 * and how mask ids move when a re-caption commits. The engine captions the masks in the order the workspace lists
 * them (stored masks minus deleted ones, then prompted ones) and numbers them 0..n-1 in the new revision.
 */
import type { ImageSummary, MaskView } from '../../../shared/api.ts';
import { maskId } from '../../../shared/ids.ts';

/** A prompted mask not captioned yet has an id `<image>:u<k>`; captioned masks are `<image>:<index>`. */
const UNCAPTIONED = /:u\d+$/;

/**
 * The shown masks differ from those the image's candidates were made for: a prompted mask not captioned yet, or
 * fewer captioned masks than the image's result holds (some were deleted). False for an image that is not done.
 */
export function maskSetEdited(
  masks: readonly Pick<MaskView, 'id'>[],
  image: Pick<ImageSummary, 'status' | 'masks'> | undefined,
): boolean {
  if (!image || image.status !== 'done') return false;
  const captioned = masks.filter((mask) => !UNCAPTIONED.test(mask.id)).length;
  return captioned !== masks.length || captioned < image.masks;
}

/**
 * The id a mask has after a re-caption of `imageId` whose mask list was `order` when it started and is `now` after
 * it committed; null for a mask that is gone. When the ids did not change, the re-caption committed nothing (it
 * failed or was cancelled), so every id stays.
 */
export function renamedMask(
  id: string | null,
  imageId: string,
  order: readonly string[],
  now: readonly string[],
): string | null {
  const position = id === null ? -1 : order.indexOf(id);
  if (position < 0) return null;
  const renumbered = now.join() !== order.join();
  return renumbered ? maskId(imageId, position) : id;
}
