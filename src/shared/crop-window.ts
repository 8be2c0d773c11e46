/**
 * The crop window of the captioner's box crops, as the reference computes it: stated once for the engine's crops
 * (engine/image/crops.ts) and the renderer's crop thumbnails, which must cut exactly the same pixels.
 */

/** Where one crop was cut from the image, in pixels (before padding and resizing). */
export interface CropWindow {
  /** Left column (inclusive). */
  x: number;
  /** Top row (inclusive). */
  y: number;
  width: number;
  height: number;
  /** Side of the padded square. */
  side: number;
  /** Padding added left and top to centre the window in the square (`(side − width) // 2`). */
  padLeft: number;
  padTop: number;
}

/**
 * The crop window of a box at a margin factor, as the reference computes it.
 *
 * `w = margin · (x1 − x0)`; the box grows by `(w − (x1 − x0)) / 2` on each side, clamped to [0, width] × [0, height];
 * the window starts at `int(x0')` and is `int(x1' − x0')` wide. The masked crop uses margin 1 without clamping
 * (it cannot leave the image). A zero width or height (a one-pixel-thin mask) is raised to 1 so the crop exists
 * (the reference would produce an all-fill crop or fail there).
 */
export function boxWindow(
  box: { x0: number; y0: number; x1: number; y1: number },
  margin: number,
  image: { width: number; height: number },
  inclusive = false,
): CropWindow {
  const extra = inclusive ? 1 : 0;
  const boxW = box.x1 - box.x0 + extra;
  const boxH = box.y1 - box.y0 + extra;
  let x0 = box.x0;
  let y0 = box.y0;
  let w = boxW;
  let h = boxH;
  if (margin !== 1) {
    const mx = (margin * boxW - boxW) / 2;
    const my = (margin * boxH - boxH) / 2;
    const left = Math.max(box.x0 - mx, 0);
    const top = Math.max(box.y0 - my, 0);
    const right = Math.min(box.x0 + boxW + mx, image.width);
    const bottom = Math.min(box.y0 + boxH + my, image.height);
    x0 = left;
    y0 = top;
    w = right - left;
    h = bottom - top;
  }
  const side = Math.max(1, Math.trunc(Math.max(w, h)));
  const x = Math.trunc(x0);
  const y = Math.trunc(y0);
  const width = Math.max(1, Math.min(Math.trunc(w), image.width - x));
  const height = Math.max(1, Math.min(Math.trunc(h), image.height - y));
  return {
    x,
    y,
    width,
    height,
    side: Math.max(side, width, height),
    padLeft: Math.floor((Math.max(side, width, height) - width) / 2),
    padTop: Math.floor((Math.max(side, width, height) - height) / 2),
  };
}
