/**
 * The `segmentation` the RefCOCO export writes: COCO polygons, the one form that both refer.py's `getMask` and
 * pycocotools' `COCO.annToMask` decode (see `coco-decode.ts`): refer.py fails on a bare RLE dict (`KeyError: 0`) and
 * on uncompressed counts; `annToMask` fails on a compressed RLE inside a list (`invalid literal for int()`). No RLE
 * form serves both; polygons do, and they can say every mask exactly:
 *
 * - a mask without holes: one pixel-corner polygon per 4-connected part (disjoint, so refer.py's sum is the union);
 * - a mask with holes (or nested islands): ONE polygon that walks every boundary ring — outer, holes, islands — joined
 *   by bridges from the first ring's start, each bridge walked there and back. `rleFrPoly` fills even-odd per column,
 *   and a segment walked twice toggles the same crossings twice, so the bridges vanish and the rings' parity is the
 *   mask. Every segmentation written is checked against both decoders; a mismatch stops the export.
 */
import type { BinaryMask } from '../../image/types.ts';
import { maskToPolygons, maskToRings, type Polygon } from '../../image/polygon.ts';
import { decodeLikeAnnToMask, decodeLikeReferPy } from './coco-decode.ts';

/** What export-record.json says about the masks in `instances.json`. */
export const MASK_REPRESENTATION = {
  form: 'coco-polygons',
  detail:
    'pixel-corner polygons: one per 4-connected part; a mask with holes is one polygon joining all its boundary rings ' +
    'by bridges walked there and back (even-odd fill cancels them). Decodes exactly under refer.py getMask and ' +
    'pycocotools COCO.annToMask.',
} as const;

/** The COCO segmentation of a (non-empty) mask, verified to decode to it under both decoders. */
export function cocoSegmentation(mask: BinaryMask, what: string): Polygon[] {
  const traced = maskToPolygons(mask);
  if (traced.polygons.length === 0) throw new Error(`${what}: the mask is empty; it cannot be exported`);
  if (traced.exact && traced.polygons.every((p) => p.length >= 6) && decodesTo(traced.polygons, mask))
    return traced.polygons;
  const bridged = bridgeRings(maskToRings(mask));
  if (!decodesTo([bridged], mask))
    throw new Error(
      `${what}: the mask does not survive as a COCO polygon under refer.py and pycocotools decoding`,
    );
  return [bridged];
}

/** One polygon walking every ring, joined to the first ring's start by bridges walked there and back. */
export function bridgeRings(rings: readonly Polygon[]): Polygon {
  const [first, ...rest] = rings;
  const [x0, y0] = first;
  const out = [...first, x0, y0];
  for (const ring of rest) out.push(...ring, ring[0], ring[1], x0, y0);
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
