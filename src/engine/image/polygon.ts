/**
 * Masks ↔ COCO polygons (for `instances.json` exports and COCO imports).
 *
 * Polygons trace pixel *edges*, with vertices on pixel corners, because pycocotools' `rleFrPoly` treats vertices as
 * corner coordinates: the square `[2,1, 5,1, 5,3, 2,3]` covers exactly x ∈ {2,3,4}, y ∈ {1,2} (research/formats.md
 * §1.3). A traced mask therefore re-rasterizes to itself, except where COCO polygons cannot say it: holes. COCO
 * rasterizes each part separately and unions (refer.py sums) them, so a part can never carve a hole into another;
 * `maskToPolygons` fills holes in that case and reports `exact: false` with the reason — write RLE for such masks.
 */
import type { BinaryMask, Size } from './types.ts';

/** A COCO polygon: flat `[x1, y1, x2, y2, …]` in pixel-corner coordinates, at least 3 points. */
export type Polygon = number[];

/** The polygons of a mask and whether they reproduce it exactly. */
export interface PolygonResult {
  /** One polygon per 4-connected part (empty for an empty mask). */
  polygons: Polygon[];
  /** True when rasterizing `polygons` gives back the mask pixel for pixel. */
  exact: boolean;
  /** Why not exact (e.g. holes), absent when exact. */
  reason?: string;
}

/**
 * Traces the outer boundary of every 4-connected part of a mask along pixel edges.
 *
 * Boundaries run clockwise (image coordinates, y down) with the mask on their right and turn right at pinch points,
 * so diagonal neighbours belong to separate parts and each part gets one loop. Collinear vertices are merged. Holes
 * (background enclosed by a part) cannot be expressed: they are filled and reported as not exact.
 */
export function maskToPolygons(mask: BinaryMask): PolygonResult {
  const { width, height, data } = mask;
  if (data.length !== width * height)
    throw new RangeError(`mask data has ${data.length} bytes, expected ${width}·${height}`);
  const loops = traceLoops(mask);
  const polygons: Polygon[] = [];
  let holes = 0;
  for (const loop of loops) {
    if (signedArea(loop) > 0) polygons.push(simplify(loop));
    else holes++;
  }
  const redrawn = polygonsToMask(polygons, { width, height });
  let same = true;
  for (let i = 0; i < data.length; i++) {
    if ((data[i] !== 0 ? 1 : 0) !== redrawn.data[i]) {
      same = false;
      break;
    }
  }
  if (same) return { polygons, exact: true };
  const reason =
    holes > 0
      ? `the mask has ${holes} hole(s); COCO polygons cannot carve holes (parts are unioned): use RLE for this mask`
      : 'the polygons do not re-rasterize to the mask: use RLE for this mask';
  return { polygons, exact: false, reason };
}

/**
 * Every boundary loop of a mask along pixel edges — outer boundaries and holes, nested ones included — as simplified
 * pixel-corner polygons. Under an even-odd fill the loops together give back the mask exactly (each horizontal
 * boundary edge lies on exactly one loop), which is what the exports' bridged polygon builds on.
 */
export function maskToRings(mask: BinaryMask): Polygon[] {
  if (mask.data.length !== mask.width * mask.height)
    throw new RangeError(`mask data has ${mask.data.length} bytes, expected ${mask.width}·${mask.height}`);
  return traceLoops(mask).map(simplify);
}

/**
 * Rasterizes COCO polygons into a mask: a pixel is inside when its centre lies inside a polygon (even-odd rule);
 * parts are unioned.
 *
 * Vertices on pixel corners give back the traced mask exactly; for arbitrary vertices this is the centre-sampling
 * rule, which differs from pycocotools' `rleFrPoly` only along edges.
 */
export function polygonsToMask(polygons: readonly Polygon[], size: Size): BinaryMask {
  const { width, height } = size;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`size must have positive integer width and height, got ${width}×${height}`);
  }
  const data = new Uint8Array(width * height);
  polygons.forEach((polygon, index) => {
    if (!Array.isArray(polygon) || polygon.length < 6 || polygon.length % 2 !== 0) {
      throw new RangeError(
        `polygon ${index} must list at least 3 points as [x1, y1, x2, y2, …], got ${Array.isArray(polygon) ? polygon.length : typeof polygon} numbers`,
      );
    }
    if (polygon.some((v) => typeof v !== 'number' || !Number.isFinite(v)))
      throw new RangeError(`polygon ${index} has a coordinate that is not a finite number`);
    const n = polygon.length / 2;
    const crossings: number[] = [];
    for (let y = 0; y < height; y++) {
      const cy = y + 0.5;
      crossings.length = 0;
      for (let i = 0; i < n; i++) {
        const ax = polygon[2 * i];
        const ay = polygon[2 * i + 1];
        const bx = polygon[2 * ((i + 1) % n)];
        const by = polygon[2 * ((i + 1) % n) + 1];
        // Half-open rule on y so a vertex exactly on the scanline counts once.
        if ((ay <= cy && by > cy) || (by <= cy && ay > cy))
          crossings.push(ax + ((cy - ay) / (by - ay)) * (bx - ax));
      }
      crossings.sort((a, b) => a - b);
      for (let k = 0; k + 1 < crossings.length; k += 2) {
        // Pixels whose centre x + 0.5 lies in [a, b).
        const from = Math.max(0, Math.ceil(crossings[k] - 0.5));
        const to = Math.min(width - 1, Math.ceil(crossings[k + 1] - 0.5) - 1);
        for (let x = from; x <= to; x++) data[y * width + x] = 1;
      }
    }
  });
  return { width, height, data };
}

/** Axis-aligned bounding box of polygons as COCO `[x, y, width, height]` (0s when empty). */
export function polygonsBbox(polygons: readonly Polygon[]): [number, number, number, number] {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const p of polygons) {
    for (let i = 0; i + 1 < p.length; i += 2) {
      x0 = Math.min(x0, p[i]);
      x1 = Math.max(x1, p[i]);
      y0 = Math.min(y0, p[i + 1]);
      y1 = Math.max(y1, p[i + 1]);
    }
  }
  return x0 === Infinity ? [0, 0, 0, 0] : [x0, y0, x1 - x0, y1 - y0];
}

/** Directed pixel-edge loops of the mask's boundaries (outer clockwise, holes counter-clockwise), as corner lists. */
function traceLoops(mask: BinaryMask): Array<Array<[number, number]>> {
  const { width, height, data } = mask;
  const inside = (x: number, y: number): boolean =>
    x >= 0 && y >= 0 && x < width && y < height && data[y * width + x] !== 0;
  const cornerWidth = width + 1;
  // Boundary edges with the mask on their right; direction codes 0 right, 1 down, 2 left, 3 up (y down).
  const fromX: number[] = [];
  const fromY: number[] = [];
  const direction: number[] = [];
  const byCorner = new Map<number, number[]>();
  const add = (cx: number, cy: number, d: number): void => {
    const id = direction.length;
    fromX.push(cx);
    fromY.push(cy);
    direction.push(d);
    const key = cy * cornerWidth + cx;
    const list = byCorner.get(key);
    if (list) list.push(id);
    else byCorner.set(key, [id]);
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!inside(x, y)) continue;
      if (!inside(x, y - 1)) add(x, y, 0); // top edge, left → right
      if (!inside(x + 1, y)) add(x + 1, y, 1); // right edge, top → bottom
      if (!inside(x, y + 1)) add(x + 1, y + 1, 2); // bottom edge, right → left
      if (!inside(x - 1, y)) add(x, y + 1, 3); // left edge, bottom → top
    }
  }
  const dx = [1, 0, -1, 0];
  const dy = [0, 1, 0, -1];
  // Successor of each edge: at its end corner, prefer a right turn, then straight, then left. That hugs the mask, so
  // at a pinch (two pixels touching only at a corner) each pixel keeps its own edges; the map is a permutation.
  const next = new Int32Array(direction.length).fill(-1);
  for (let id = 0; id < direction.length; id++) {
    const ex = fromX[id] + dx[direction[id]];
    const ey = fromY[id] + dy[direction[id]];
    const candidates = byCorner.get(ey * cornerWidth + ex) ?? [];
    for (const turn of [1, 0, 3]) {
      const found = candidates.find((c) => direction[c] === (direction[id] + turn) % 4);
      if (found !== undefined) {
        next[id] = found;
        break;
      }
    }
  }
  const seen = new Uint8Array(direction.length);
  const loops: Array<Array<[number, number]>> = [];
  for (let id = 0; id < direction.length; id++) {
    if (seen[id]) continue;
    const loop: Array<[number, number]> = [];
    for (let e = id; e >= 0 && !seen[e]; e = next[e]) {
      seen[e] = 1;
      loop.push([fromX[e], fromY[e]]);
    }
    if (loop.length >= 4) loops.push(loop);
  }
  return loops;
}

/** Shoelace area; positive for clockwise loops in image coordinates (y down). */
function signedArea(loop: ReadonlyArray<[number, number]>): number {
  let sum = 0;
  for (let i = 0; i < loop.length; i++) {
    const [ax, ay] = loop[i];
    const [bx, by] = loop[(i + 1) % loop.length];
    sum += ax * by - bx * ay;
  }
  return sum / 2;
}

/** Drops vertices that lie on a straight run and flattens to COCO's `[x1, y1, …]`. */
function simplify(loop: ReadonlyArray<[number, number]>): Polygon {
  const out: number[] = [];
  const n = loop.length;
  for (let i = 0; i < n; i++) {
    const [px, py] = loop[(i - 1 + n) % n];
    const [cx, cy] = loop[i];
    const [nx, ny] = loop[(i + 1) % n];
    if ((cx - px) * (ny - cy) - (cy - py) * (nx - cx) !== 0) out.push(cx, cy);
  }
  return out;
}
