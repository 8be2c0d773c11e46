/** The engine's in-memory image and mask types. Dimensions travel as `{ width, height }`. */

export interface Size {
  width: number;
  height: number;
}

/** An upright 8-bit sRGB image, row-major RGB interleaved: data.length = width · height · 3. */
export interface RgbImage extends Size {
  data: Uint8Array;
}

/** A binary mask at image resolution, row-major, one byte per pixel (0 or 1). */
export interface BinaryMask extends Size {
  data: Uint8Array;
}

/** A box in pixel coordinates, XYXY inclusive of the last set pixel (SAM's `batched_mask_to_box`). */
export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}
