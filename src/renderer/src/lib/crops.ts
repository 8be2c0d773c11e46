/**
 * The crop geometry of the engine's captioner input (engine/image/crops.ts, the reference's arithmetic), for the
 * thumbnails that show which pixels each crop of a mask gave the captioner: the mask's box (inclusive XYXY of its
 * pixels), the window at a margin factor (box scaled about its centre, clamped to the image, corners truncated), and
 * the centred square padding. Only the geometry and the fill are exact: the thumbnail is resampled by the browser.
 */
import type { CropType } from '../../../shared/caption.ts';

/** Inclusive XYXY box of a mask's pixels. */
export interface PixelBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Where a crop is cut from the image and how it is padded to a square (as engine/image/crops.ts CropWindow). */
export interface CropWindow {
  x: number;
  y: number;
  width: number;
  height: number;
  side: number;
  padLeft: number;
  padTop: number;
}

/** The reference fill as a pixel colour: the OpenAI mean written in normalized space, mean + mean·std (0–1). */
export const REFERENCE_FILL_RGB: readonly [number, number, number] = [
  0.48145466 + 0.48145466 * 0.26862954,
  0.4578275 + 0.4578275 * 0.26130258,
  0.40821073 + 0.40821073 * 0.27577711,
];

/** The box of a row-major binary mask, or null when it is empty. */
export function maskBox(mask: { width: number; height: number; data: Uint8Array }): PixelBox | null {
  const { width, height, data } = mask;
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      if (data[y * width + x]) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        y1 = y;
      }
  return x1 < 0 ? null : { x0, y0, x1, y1 };
}

/**
 * The crop window of `box` at `margin` in an image of `size`: `w = margin·(x1 − x0)` grown equally on both sides,
 * clamped to the image, start truncated, width truncated (reference box size: the last row and column fall outside).
 */
export function cropWindow(
  box: PixelBox,
  margin: number,
  size: { width: number; height: number },
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
    x0 = left;
    y0 = top;
    w = Math.min(box.x0 + boxW + mx, size.width) - left;
    h = Math.min(box.y0 + boxH + my, size.height) - top;
  }
  const x = Math.trunc(x0);
  const y = Math.trunc(y0);
  const width = Math.max(1, Math.min(Math.trunc(w), size.width - x));
  const height = Math.max(1, Math.min(Math.trunc(h), size.height - y));
  const side = Math.max(Math.max(1, Math.trunc(Math.max(w, h))), width, height);
  return {
    x,
    y,
    width,
    height,
    side,
    padLeft: Math.floor((side - width) / 2),
    padTop: Math.floor((side - height) / 2),
  };
}

/** The margin factor of a crop type (1 for the masked crop). */
export function cropMargin(crop: CropType): number {
  return crop.kind === 'masked' ? 1 : crop.margin;
}

/** A short label: "masked", "box ×1.1". */
export function cropName(crop: CropType): string {
  return crop.kind === 'masked' ? 'masked' : `box ×${crop.margin.toFixed(1)}`;
}

/** The crop types a project's crop settings produce, in the engine's order: masked first, then the box margins. */
export function cropTypesOf(
  settings: { masked: boolean; margins: readonly number[] } | undefined,
): CropType[] {
  if (!settings)
    return [{ kind: 'masked' }, ...[1, 1.1, 1.2].map((margin) => ({ kind: 'box' as const, margin }))];
  return [
    ...(settings.masked ? [{ kind: 'masked' as const }] : []),
    ...settings.margins.map((margin) => ({ kind: 'box' as const, margin })),
  ];
}

/** Whether two crop types are the same crop. */
export function sameCrop(a: CropType, b: CropType): boolean {
  return a.kind === b.kind && (a.kind === 'masked' || (b.kind === 'box' && a.margin === b.margin));
}
