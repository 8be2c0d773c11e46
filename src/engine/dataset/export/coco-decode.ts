/**
 * The two ways RIS and COCO code turns an annotation's `segmentation` into a mask, re-implemented rule for rule so
 * tests (and every export, as a self-check) can prove that what we write decodes to exactly the mask we mean.
 *
 * - refer.py `REFER.getMask` (lichengunc/refer; LAVT, CRIS's `tools/data_process.py` and most RIS loaders use it):
 *   `if type(ann['segmentation'][0]) == list: rle = mask.frPyObjects(seg, h, w)` else `rle = seg`; then
 *   `m = np.sum(mask.decode(rle), axis=2).astype(np.uint8)`: parts are **summed**, not unioned, and a non-polygon
 *   segmentation must be a *list* of RLEs whose `counts` are compressed strings (`_frString`), so a bare RLE dict fails
 *   (`KeyError: 0`) and uncompressed counts fail.
 * - pycocotools `COCO.annToMask` → `annToRLE`: a list goes through `frPyObjects` and `merge` (union); a dict with list
 *   `counts` is uncompressed RLE; any other dict is compressed RLE. `frPyObjects` picks its branch from
 *   `len(pyobj[0])`: 4 → boxes, > 4 → polygons, a dict with `counts` and `size` → *uncompressed* RLEs, so a list
 *   holding a compressed RLE fails with `ValueError: invalid literal for int()`.
 *
 * Polygons go through `rleFrPoly` (maskApi.c; `image/rle-poly.ts`), re-implemented integer for integer: vertices are upsampled ×5,
 * every unit step in x along the boundary whose column lands on a pixel centre toggles the column's run at the
 * crossing's row — an even-odd fill in column-major order.
 */
import { decodeRle, rleFrPoly } from '../../image/index.ts';

export { rleFrPoly } from '../../image/index.ts';

/** A decoding failure, with the Python error the original code raises. */
export class CocoDecodeError extends Error {}

/** A decoded mask, row-major h×w; values are counts for refer.py's sum (uint8, wrapping as numpy's astype does). */
export interface DecodedMask {
  width: number;
  height: number;
  data: Uint8Array;
}

type Runs = number[];

/** pycocotools `rleFrBbox`: a box `[x, y, w, h]` as the polygon of its corners. */
function rleFrBbox(bb: readonly number[], h: number, w: number): Runs {
  const [xs, ys] = bb;
  const xe = xs + bb[2];
  const ye = ys + bb[3];
  return rleFrPoly([xs, ys, xs, ye, xe, ye, xe, ys], h, w);
}

function runsToMask(runs: Runs, h: number, w: number): Uint8Array {
  const data = new Uint8Array(h * w);
  let pos = 0;
  runs.forEach((run, i) => {
    if (i % 2 === 1) {
      for (let q = pos; q < pos + run && q < h * w; q++) data[(q % h) * w + Math.floor(q / h)] = 1;
    }
    pos += run;
  });
  return data;
}

function isDict(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Python's len() of a JSON value. */
function pyLen(value: unknown): number {
  if (Array.isArray(value) || typeof value === 'string') return value.length;
  if (isDict(value)) return Object.keys(value).length;
  throw new CocoDecodeError(`TypeError: object of type '${typeof value}' has no len()`);
}

function numbers(value: unknown, what: string): number[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'number'))
    throw new CocoDecodeError(`TypeError: ${what} must be a list of numbers`);
  return value as number[];
}

function uncompressed(obj: Record<string, unknown>): Runs {
  // np.array(obj['counts'], dtype=np.uint32)
  if (typeof obj.counts === 'string')
    throw new CocoDecodeError(
      `ValueError: invalid literal for int() with base 10: '${obj.counts.slice(0, 20)}'`,
    );
  return numbers(obj.counts, 'counts');
}

/** pycocotools `mask.frPyObjects` (list forms): the RLE runs per object. */
export function frPyObjects(pyobj: unknown, h: number, w: number): Runs[] {
  if (Array.isArray(pyobj)) {
    if (pyobj.length === 0) throw new CocoDecodeError('IndexError: list index out of range');
    const first = pyobj[0];
    if (Array.isArray(first) || isDict(first) || typeof first === 'string') {
      const n = pyLen(first);
      if (n === 4) return pyobj.map((bb) => rleFrBbox(numbers(bb, 'a box'), h, w));
      if (n > 4) return pyobj.map((p) => rleFrPoly(numbers(p, 'a polygon'), h, w));
      if (isDict(first) && 'counts' in first && 'size' in first)
        return pyobj.map((o) => (isDict(o) ? uncompressed(o) : numbers(o, 'an RLE')));
    }
    if (pyobj.length === 4) return [rleFrBbox(numbers(pyobj, 'a box'), h, w)];
    if (pyobj.length > 4) return [rleFrPoly(numbers(pyobj, 'a polygon'), h, w)];
  } else if (isDict(pyobj) && 'counts' in pyobj && 'size' in pyobj) {
    return [uncompressed(pyobj)];
  }
  throw new CocoDecodeError('Exception: input type is not supported.');
}

/** `_frString`: an RLE object's compressed counts (a list of ints cannot become a char*). */
function compressed(obj: unknown, h: number, w: number): Uint8Array {
  if (!isDict(obj) || typeof obj.counts !== 'string' || !Array.isArray(obj.size))
    throw new CocoDecodeError(
      'TypeError: expected bytes, list found (mask.decode needs compressed RLE strings)',
    );
  const [rh, rw] = obj.size as [number, number];
  if (rh !== h || rw !== w)
    throw new CocoDecodeError(`RLE size ${rh}×${rw} differs from the image's ${h}×${w}`);
  return decodeRle({ size: [rh, rw], counts: obj.counts }).data;
}

/** refer.py `REFER.getMask(ref)['mask']` for an annotation's segmentation on an h×w image. */
export function decodeLikeReferPy(segmentation: unknown, h: number, w: number): DecodedMask {
  let parts: Uint8Array[];
  if (isDict(segmentation)) throw new CocoDecodeError('KeyError: 0');
  if (!Array.isArray(segmentation) || segmentation.length === 0)
    throw new CocoDecodeError('IndexError: list index out of range');
  if (Array.isArray(segmentation[0])) {
    parts = frPyObjects(segmentation, h, w).map((runs) => runsToMask(runs, h, w));
  } else {
    parts = segmentation.map((obj) => compressed(obj, h, w));
  }
  const data = new Uint8Array(h * w);
  for (const part of parts) for (let i = 0; i < data.length; i++) data[i] = (data[i] + part[i]) & 0xff;
  return { width: w, height: h, data };
}

/** pycocotools `COCO.annToMask(ann)` for an annotation's segmentation on an h×w image. */
export function decodeLikeAnnToMask(segmentation: unknown, h: number, w: number): DecodedMask {
  const data = new Uint8Array(h * w);
  if (Array.isArray(segmentation)) {
    // frPyObjects + merge (union)
    for (const runs of frPyObjects(segmentation, h, w)) {
      const part = runsToMask(runs, h, w);
      for (let i = 0; i < data.length; i++) data[i] |= part[i];
    }
  } else if (isDict(segmentation) && Array.isArray(segmentation.counts)) {
    data.set(runsToMask(frPyObjects(segmentation, h, w)[0], h, w));
  } else {
    data.set(compressed(segmentation, h, w));
  }
  return { width: w, height: h, data };
}
