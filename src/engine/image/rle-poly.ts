/**
 * pycocotools' polygon rasterisation (`rleFrPoly` in maskApi.c), integer for integer, and `COCO.annToMask`'s reading
 * of a polygon segmentation: every polygon rasterised so, the results unioned (`frPyObjects` + `merge`). Vertices are
 * upsampled ×5; every unit step in x along the boundary whose column lands on a pixel centre toggles the column's run
 * at the crossing's row — an even-odd fill in column-major order, which differs from centre sampling along edges.
 */
import type { BinaryMask, Size } from './types.ts';

/** pycocotools `rleFrPoly`: the column-major runs of one polygon `[x1, y1, …]` (k = xy.length / 2 points) at h×w. */
export function rleFrPoly(xy: readonly number[], h: number, w: number): number[] {
  const k = xy.length >> 1;
  const scale = 5;
  const x: number[] = [];
  const y: number[] = [];
  for (let j = 0; j < k; j++) x.push(Math.trunc(scale * xy[j * 2] + 0.5));
  x.push(x[0]);
  for (let j = 0; j < k; j++) y.push(Math.trunc(scale * xy[j * 2 + 1] + 0.5));
  y.push(y[0]);
  let m = 0;
  for (let j = 0; j < k; j++) m += Math.max(Math.abs(x[j] - x[j + 1]), Math.abs(y[j] - y[j + 1])) + 1;
  const u = new Int32Array(m);
  const v = new Int32Array(m);
  m = 0;
  for (let j = 0; j < k; j++) {
    let xs = x[j];
    let xe = x[j + 1];
    let ys = y[j];
    let ye = y[j + 1];
    const dx = Math.abs(xe - xs);
    const dy = Math.abs(ys - ye);
    const flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) {
      [xs, xe] = [xe, xs];
      [ys, ye] = [ye, ys];
    }
    const s = dx >= dy ? (ye - ys) / dx : (xe - xs) / dy;
    if (dx >= dy) {
      for (let d = 0; d <= dx; d++) {
        const t = flip ? dx - d : d;
        u[m] = t + xs;
        v[m] = Math.trunc(ys + s * t + 0.5);
        m++;
      }
    } else {
      for (let d = 0; d <= dy; d++) {
        const t = flip ? dy - d : d;
        v[m] = t + ys;
        u[m] = Math.trunc(xs + s * t + 0.5);
        m++;
      }
    }
  }
  // points along the y-boundary, downsampled
  const crossings: number[] = [];
  for (let j = 1; j < m; j++) {
    if (u[j] === u[j - 1]) continue;
    let xd = u[j] < u[j - 1] ? u[j] : u[j] - 1;
    xd = (xd + 0.5) / scale - 0.5;
    if (Math.floor(xd) !== xd || xd < 0 || xd > w - 1) continue;
    let yd = v[j] < v[j - 1] ? v[j] : v[j - 1];
    yd = (yd + 0.5) / scale - 0.5;
    if (yd < 0) yd = 0;
    else if (yd > h) yd = h;
    yd = Math.ceil(yd);
    crossings.push(xd * h + yd);
  }
  crossings.push(h * w);
  const a = Float64Array.from(crossings).sort(); // typed arrays sort numerically
  let p = 0;
  for (let j = 0; j < a.length; j++) {
    const t = a[j];
    a[j] -= p;
    p = t;
  }
  const b: number[] = [];
  let j = 0;
  b.push(a[j++]);
  while (j < a.length) {
    if (a[j] > 0) b.push(a[j++]);
    else {
      j++;
      if (j < a.length) b[b.length - 1] += a[j++];
    }
  }
  return b;
}

/** COCO polygons as `COCO.annToMask` decodes them: each through {@link rleFrPoly}, unioned; row-major 0/1. */
export function polygonsToMaskLikePycocotools(
  polygons: readonly (readonly number[])[],
  size: Size,
): BinaryMask {
  const { width: w, height: h } = size;
  const data = new Uint8Array(w * h);
  for (const polygon of polygons) {
    let pos = 0;
    rleFrPoly(polygon, h, w).forEach((run, k) => {
      if (k % 2 === 1) for (let q = pos; q < pos + run; q++) data[(q % h) * w + Math.floor(q / h)] = 1; // runs are column-major
      pos += run;
    });
  }
  return { width: w, height: h, data };
}
