/**
 * The crop geometry of the engine's captioner input (engine/image/crops.ts, the reference's arithmetic), for the
 * thumbnails that show which pixels each crop of a mask gave the captioner: the mask's box (inclusive XYXY of its
 * pixels), the window at a margin factor (box scaled about its centre, clamped to the image, corners truncated), and
 * the centred square padding. Only the geometry and the fill are exact: the thumbnail is resampled by the browser.
 */
import type { CropType } from '../../../shared/caption.ts';
import { boxWindow, type CropWindow } from '../../../shared/crop-window.ts';

/** The crop window of a mask's box at a margin factor (the engine's own function, `shared/crop-window.ts`). */
export const cropWindow = boxWindow;
export type { CropWindow };

/** Inclusive XYXY box of a mask's pixels. */
export interface PixelBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
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
