/**
 * Zoom and pan of the mask canvas as one transform: screen = offset + scale · stage point (CSS `translate(x, y)
 * scale(s)` with origin at the top left). Pure, so it is tested without a DOM.
 */

/** The stage's transform: `scale` ≥ 1 (1 = the whole image fits), offsets in CSS pixels. */
export interface ZoomView {
  scale: number;
  x: number;
  y: number;
}

/** The view that shows the whole image (the fit button). */
export const FIT: ZoomView = Object.freeze({ scale: 1, x: 0, y: 0 });

/** The largest zoom: 32× (a 1024-px image then shows ~32 px across a 1000-px stage, pixels plainly visible). */
export const MAX_SCALE = 32;

/**
 * The view zoomed by `factor` about `at` (a point of the stage box, CSS pixels): the point under the cursor stays
 * under it. The scale is clamped to [1, MAX_SCALE] and the image kept over the whole stage.
 */
export function zoomAt(
  view: ZoomView,
  factor: number,
  at: { x: number; y: number },
  stage: { width: number; height: number },
): ZoomView {
  if (!(factor > 0) || !Number.isFinite(factor)) throw new Error(`zoomAt: factor must be > 0, got ${factor}`);
  const scale = Math.min(MAX_SCALE, Math.max(1, view.scale * factor));
  const ratio = scale / view.scale;
  return clampView({ scale, x: at.x - (at.x - view.x) * ratio, y: at.y - (at.y - view.y) * ratio }, stage);
}

/** The view moved by (dx, dy) CSS pixels, kept over the whole stage. */
export function panBy(
  view: ZoomView,
  delta: { x: number; y: number },
  stage: { width: number; height: number },
): ZoomView {
  return clampView({ scale: view.scale, x: view.x + delta.x, y: view.y + delta.y }, stage);
}

/** The zoom factor of one wheel event: about 11 % per notch (deltaY ±100), smooth for trackpads' small deltas. */
export function wheelFactor(deltaY: number): number {
  return Math.exp(-deltaY / 950);
}

/** Offsets clamped so the scaled stage still covers the stage box (no empty band beside the image). */
function clampView(view: ZoomView, stage: { width: number; height: number }): ZoomView {
  const clamp = (value: number, size: number) => Math.min(0, Math.max(size * (1 - view.scale), value));
  return { scale: view.scale, x: clamp(view.x, stage.width), y: clamp(view.y, stage.height) };
}
