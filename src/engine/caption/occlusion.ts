/**
 * Occlusion attribution's pure part (issue 22): the grid of patches over a crop in the model's input space and the
 * patched crops. A patch is painted with the preprocessing mean, which is 0 in every channel after normalisation
 * (`(mean − mean) / std`), so the patch carries no colour or brightness of its own.
 */
import type { PatchBox } from '../../shared/attribution.ts';

/**
 * The g×g patches over a square crop of side `size`, row-major (patch r·g + c is row r, column c).
 *
 * Cell edges are `round(i · size / g)`, so the patches tile the crop exactly (no gap, no overlap) also when g does
 * not divide the side: 224 / 8 gives 28-pixel patches, 10 / 3 gives widths 3, 4, 3.
 */
export function occlusionGrid(size: number, grid: number): PatchBox[] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`size must be an integer ≥ 1, got ${size}`);
  if (!Number.isInteger(grid) || grid < 1 || grid > size)
    throw new RangeError(`grid must be an integer in 1..${size} (the crop side), got ${grid}`);
  const edges = Array.from({ length: grid + 1 }, (_, i) => Math.round((i * size) / grid));
  const boxes: PatchBox[] = [];
  for (let row = 0; row < grid; row++)
    for (let column = 0; column < grid; column++)
      boxes.push({
        x: edges[column]!,
        y: edges[row]!,
        width: edges[column + 1]! - edges[column]!,
        height: edges[row + 1]! - edges[row]!,
      });
  return boxes;
}

/**
 * Copies of one crop with each box painted with the normalised `grey` (default 0 in every channel: the
 * preprocessing mean). in: crop float32[3,S,S] (normalised). out: float32[P,3,S,S], P = boxes.length.
 */
export function occludedCrops(
  crop: Float32Array,
  size: number,
  boxes: readonly PatchBox[],
  grey: readonly [number, number, number] = [0, 0, 0],
): Float32Array {
  const plane = size * size;
  if (crop.length !== 3 * plane)
    throw new RangeError(`crop holds ${crop.length} values, expected 3×${size}×${size} = ${3 * plane}`);
  const out = new Float32Array(boxes.length * 3 * plane);
  boxes.forEach((box, p) => {
    if (box.x < 0 || box.y < 0 || box.width < 1 || box.height < 1)
      throw new RangeError(`patch ${p} (${JSON.stringify(box)}) is empty or starts outside the crop`);
    if (box.x + box.width > size || box.y + box.height > size)
      throw new RangeError(`patch ${p} (${JSON.stringify(box)}) ends outside the ${size}×${size} crop`);
    const base = p * 3 * plane;
    out.set(crop, base);
    for (let channel = 0; channel < 3; channel++)
      for (let y = box.y; y < box.y + box.height; y++) {
        const start = base + channel * plane + y * size + box.x;
        out.fill(grey[channel]!, start, start + box.width);
      }
  });
  return out;
}
