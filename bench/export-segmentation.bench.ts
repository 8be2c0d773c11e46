/**
 * RefCOCO export segmentations (issue 11): the cost per mask of writing a COCO polygon that both refer.py and
 * pycocotools decode exactly — boundary tracing (image/polygon.ts) plus the rleFrPoly check — for a 1024×768 mask
 * without holes, with 40 holes (one bridged polygon), and for SAM-like noise, next to the pycocotools re-implementation
 * decoding it once (what a consumer pays).
 */
import { maskToRings } from '../src/engine/image/polygon.ts';
import type { BinaryMask } from '../src/engine/image/types.ts';
import { decodeLikeAnnToMask } from '../src/engine/dataset/export/coco-decode.ts';
import { cocoSegmentation } from '../src/engine/dataset/export/segmentation.ts';

function disc(holes: number): BinaryMask {
  const [w, h] = [1024, 768];
  const data = new Uint8Array(w * h);
  for (let y = 100; y < 600; y++)
    for (let x = 200; x < 800; x++) if (Math.hypot(x - 500, y - 350) < 250) data[y * w + x] = 1;
  for (let k = 0; k < holes; k++) {
    const [cx, cy] = [300 + ((k * 37) % 400), 200 + ((k * 53) % 300)];
    for (let y = cy; y < cy + 6; y++) for (let x = cx; x < cx + 5; x++) data[y * w + x] = 0;
  }
  return { width: w, height: h, data };
}

function noisy(): BinaryMask {
  const mask = disc(0);
  let s = 7;
  for (let i = 0; i < mask.data.length; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    if (mask.data[i] && s / 2147483648 < 0.002) mask.data[i] = 0;
  }
  return mask;
}

function time(f: () => unknown, n = 10): number {
  f();
  const start = performance.now();
  for (let i = 0; i < n; i++) f();
  return (performance.now() - start) / n;
}

/** Prints ms per mask. */
export async function run(): Promise<void> {
  for (const [name, mask] of [
    ['disc, no holes', disc(0)],
    ['disc, 40 holes', disc(40)],
    ['disc, ~0.2 % pixel holes', noisy()],
  ] as const) {
    const segmentation = cocoSegmentation(mask, name);
    const vertices = segmentation.reduce((n, p) => n + p.length / 2, 0);
    console.log(
      `${name}: ${time(() => cocoSegmentation(mask, name)).toFixed(1)} ms per mask (of which tracing ` +
        `${time(() => maskToRings(mask)).toFixed(1)} ms), ${segmentation.length} polygon(s), ${vertices} vertices; ` +
        `annToMask decode ${time(() => decodeLikeAnnToMask(segmentation, mask.height, mask.width)).toFixed(1)} ms`,
    );
  }
  await Promise.resolve();
}
