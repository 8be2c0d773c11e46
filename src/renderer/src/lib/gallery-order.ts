/**
 * The gallery's current list — its filter and order — and stepping through it: the previous/next image keys of the
 * workspace and candidates views follow the tiles as the gallery shows them. Pure functions.
 */
import type { ImageSummary } from '../../../shared/api.ts';

/** Which tiles the gallery shows. */
export type GalleryFilter = 'all' | 'done' | 'unreviewed' | 'pending' | 'failed';
/** The order of the tiles: the project's list, file name, or most kept candidates at τ first. */
export type GalleryOrder = 'project' | 'name' | 'kept';

/** What the filter and the order read besides the summaries: kept at τ and review progress per image id. */
export interface GalleryCounts {
  kept(imageId: string): number | undefined;
  review(imageId: string): { reviewed: number; total: number } | undefined;
}

/** The images the gallery shows, in its order (ties keep the project's order). */
export function galleryImages(
  images: readonly ImageSummary[],
  filter: GalleryFilter,
  order: GalleryOrder,
  counts: GalleryCounts,
): ImageSummary[] {
  const shown = images.filter((image) => {
    if (filter === 'all') return true;
    if (filter === 'done') return image.status === 'done';
    if (filter === 'failed') return image.status === 'error';
    if (filter === 'pending') return image.status === 'pending' || image.status === 'running';
    const review = counts.review(image.id);
    return image.status === 'done' && (!review || review.reviewed < review.total);
  });
  if (order === 'name')
    return shown.sort((a, b) => a.file.localeCompare(b.file, undefined, { numeric: true }));
  if (order === 'kept') return shown.sort((a, b) => (counts.kept(b.id) ?? -1) - (counts.kept(a.id) ?? -1));
  return shown;
}

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
