/**
 * The gallery's filter and order, and stepping through its list: the previous/next image keys of the workspace and
 * candidates views follow the tiles as the gallery shows them (the list itself comes from the engine's page).
 */
import type { ImageSummary } from '../../../shared/api.ts';

/** Which tiles the gallery shows. */
export type GalleryFilter = 'all' | 'done' | 'unreviewed' | 'pending' | 'failed';
/** The order of the tiles: the project's list, file name, or most kept candidates at τ first. */
export type GalleryOrder = 'project' | 'name' | 'kept';

/**
 * The image `delta` steps (±1) from `currentId` in `list`, skipping images that cannot be opened (failed ones);
 * null at either end. When the current image is not in the list (filtered out), the first image for +1 and the last
 * for −1.
 */
export function neighbourImage(
  list: readonly ImageSummary[],
  currentId: string | null,
  delta: 1 | -1,
): ImageSummary | null {
  const openable = list.filter((image) => image.status !== 'error');
  const i = openable.findIndex((image) => image.id === currentId);
  if (i < 0) return (delta > 0 ? openable[0] : openable.at(-1)) ?? null;
  return openable[i + delta] ?? null;
}
