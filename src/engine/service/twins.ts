/**
 * Near-duplicate masks (issue 22): a mask added with a prompt that covers an existing mask almost exactly makes the
 * two compete for the same object — DoS compares a candidate's similarity to its own mask with the best other one,
 * so twins score ≈ 1 and both lose every candidate, and the object drops out of the export. The workspace asks
 * before adding one.
 */
import type { MaskView } from '../../shared/api.ts';
import { decodeRle } from '../../shared/rle.ts';
import { maskIou, type BinaryMask } from '../image/index.ts';

/** IoU at or above which a new mask is a near-twin of an existing one (0.9: boundaries a click apart). */
export const TWIN_IOU = 0.9;

/**
 * The existing mask `mask` (of `area` pixels) overlaps most, when their IoU is at least `threshold`; null otherwise.
 * Areas are compared first (IoU ≤ smaller area / larger area), so masks that cannot reach it are not decoded.
 */
export function nearestTwin(
  mask: BinaryMask,
  area: number,
  masks: readonly Pick<MaskView, 'id' | 'rle' | 'area'>[],
  threshold = TWIN_IOU,
): { maskId: string; iou: number } | null {
  if (!(threshold > 0 && threshold <= 1))
    throw new Error(`nearestTwin: threshold must be in (0, 1], got ${threshold}`);
  let best: { maskId: string; iou: number } | null = null;
  for (const other of masks) {
    if (Math.min(area, other.area) < threshold * Math.max(area, other.area)) continue;
    const decoded = decodeRle(other.rle);
    if (decoded.width !== mask.width || decoded.height !== mask.height) continue;
    const iou = maskIou(mask, decoded);
    if (iou >= threshold && (!best || iou > best.iou)) best = { maskId: other.id, iou };
  }
  return best;
}
