/**
 * The `segmentation` the RefCOCO export writes: COCO polygons, the one form that both refer.py's `getMask` and
 * pycocotools' `COCO.annToMask` decode (see `coco-decode.ts`): refer.py fails on a bare RLE dict (`KeyError: 0`) and
 * on uncompressed counts; `annToMask` fails on a compressed RLE inside a list (`invalid literal for int()`). No RLE
 * form serves both; polygons do, and they can say every mask exactly:
 *
 * - a mask of one part without holes: its pixel-corner boundary polygon;
 * - any other mask (several parts, holes, nested islands): ONE polygon that walks every boundary ring joined by
 *   bridges between consecutive rings' starts, each bridge walked there and back. `rleFrPoly` fills even-odd per
 *   column, and a segment walked twice toggles the same crossings twice, so the bridges vanish and the rings' parity
 *   is the mask. One polygon, not one per part: pycocotools' `mask.area` (which refer.py's `getMask` calls) builds a
 *   `np.array((n,), dtype=np.uint8)` of the polygon count, an `OverflowError` under numpy 2 once n > 255.
 *
 * Every segmentation written is checked against `rleFrPoly`'s rasters; a mismatch stops the export.
 */
import { maskToRings, type BinaryMask, type Polygon } from '../../image/index.ts';
import { decodeLikeAnnToMask, decodeLikeReferPy, rleFrPoly } from './coco-decode.ts';

/** What export-record.json says about the masks in `instances.json`. */
export const MASK_REPRESENTATION = {
  form: 'coco-polygons',
  detail:
    'one pixel-corner polygon per mask: a mask of several parts or with holes joins all its boundary rings by ' +
    'bridges walked there and back (even-odd fill cancels them). Decodes exactly under refer.py getMask and ' +
    'pycocotools COCO.annToMask, whatever the number of parts (pycocotools mask.area overflows past 255 polygons ' +
    'under numpy 2).',
} as const;

/** The COCO segmentation of a (non-empty) mask, checked to decode to it under both decoders. */
export function cocoSegmentation(mask: BinaryMask, what: string): Polygon[] {
  const rings = maskToRings(mask);
  if (rings.length === 0) throw new Error(`${what}: the mask is empty; it cannot be exported`);
  const polygons = [rings.length === 1 ? rings[0] : bridgeRings(rings)];
  if (!rastersTo(polygons, mask))
    throw new Error(
      `${what}: the mask does not survive as a COCO polygon under refer.py and pycocotools decoding`,
    );
  return polygons;
}

/**
 * True when the polygons' `rleFrPoly` rasters add up to exactly the mask. refer.py sums the rasters and pycocotools
 * unions them; a sum that is 0/1 everywhere and equals the mask makes both exact (the tests check each decoder).
 */
function rastersTo(polygons: readonly Polygon[], mask: BinaryMask): boolean {
  const { width: w, height: h, data } = mask;
  const sum = new Uint8Array(w * h); // column-major, as the runs
  for (const polygon of polygons) {
    let pos = 0;
    rleFrPoly(polygon, h, w).forEach((run, k) => {
      if (k % 2 === 1) for (let q = pos; q < pos + run; q++) sum[q]++;
      pos += run;
    });
  }
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) if (sum[x * h + y] !== (data[y * w + x] !== 0 ? 1 : 0)) return false;
  }
  return true;
}

/**
 * One polygon walking every ring: ring 1, a bridge to ring 2's start, ring 2, … ring n, then back along the same
 * bridges to ring 1's start, so each bridge is walked once each way. Rings come in scan order of their first corner,
 * so consecutive rings are near and the bridges short.
 */
export function bridgeRings(rings: readonly Polygon[]): Polygon {
  const out: number[] = [];
  for (const ring of rings) out.push(...ring, ring[0], ring[1]);
  for (let k = rings.length - 2; k >= 0; k--) out.push(rings[k][0], rings[k][1]);
  return out;
}

/** True when the segmentation decodes to `mask` under both refer.py's and pycocotools' rules. */
export function decodesTo(segmentation: unknown, mask: BinaryMask): boolean {
  const { width: w, height: h } = mask;
  for (const decoded of [decodeLikeReferPy(segmentation, h, w), decodeLikeAnnToMask(segmentation, h, w)]) {
    for (let i = 0; i < mask.data.length; i++)
      if (decoded.data[i] !== (mask.data[i] !== 0 ? 1 : 0)) return false;
  }
  return true;
}
