/**
 * Crop-grouped cached-decoder runs (runtime/README.md "Fast contracts", `captioner.crossGrouped`), as pure functions.
 *
 * A grouped decoder-with-past graph takes the cross keys/values of C crops [C,Hx,T,Dx] and B = C·R rows, the rows of
 * crop c at b = c·R … c·R + R − 1; its cross-attention is one batched MatMul over the crops ([C,Hx,R,Dx]×[C,Hx,Dx,T]),
 * so no row copies its crop's keys/values. A step's rows on all crops then advance in one run (per `batch` rows)
 * instead of one run per crop; a crop with fewer than R rows is padded (padding rows are computed and discarded).
 */

/** One grouped run: its crops in feed order, R rows per crop, and each slot's step row (null: padding). */
export interface GroupedRun {
  crops: number[];
  rowsPerCrop: number;
  /** crops.length × rowsPerCrop slots, crop-major: the index of the step's row, or null for a padding row. */
  slots: (number | null)[];
}

/**
 * Packs a step's rows, listed per crop, into grouped runs of at most `batch` slots (one crop's group when a crop
 * alone has `batch` rows or more). R is the most rows any crop has (capped by `batch`); crops keep ascending order,
 * so runs over consecutive crops can feed a view of the cross graph's output.
 */
export function planGroupedRuns(
  rowsByCrop: ReadonlyMap<number, readonly number[]>,
  batch: number,
): GroupedRun[] {
  if (!Number.isInteger(batch) || batch < 1)
    throw new RangeError(`batch must be an integer ≥ 1, got ${batch}`);
  const crops = [...rowsByCrop.keys()].sort((a, b) => a - b);
  const most = Math.max(0, ...crops.map((crop) => rowsByCrop.get(crop)!.length));
  if (most === 0) return [];
  const rowsPerCrop = Math.min(most, batch);
  // A crop with more than R rows becomes several groups (its cross block repeated in the run's feed).
  const groups: { crop: number; rows: readonly number[] }[] = [];
  for (const crop of crops) {
    const rows = rowsByCrop.get(crop)!;
    for (let start = 0; start < rows.length; start += rowsPerCrop)
      groups.push({ crop, rows: rows.slice(start, start + rowsPerCrop) });
  }
  const groupsPerRun = Math.max(1, Math.floor(batch / rowsPerCrop));
  const runs: GroupedRun[] = [];
  for (let start = 0; start < groups.length; start += groupsPerRun) {
    const chunk = groups.slice(start, start + groupsPerRun);
    const slots: (number | null)[] = [];
    for (const { rows } of chunk)
      for (let r = 0; r < rowsPerCrop; r++) slots.push(r < rows.length ? rows[r]! : null);
    runs.push({ crops: chunk.map((group) => group.crop), rowsPerCrop, slots });
  }
  return runs;
}

/**
 * The cross feed of a grouped run from the cross graph's output over all crops (float32[N,…], `blockSize` values a
 * crop): a view when the run's crops are consecutive (no copy), else the crops' blocks gathered in run order.
 */
export function cropBlocks(all: Float32Array, blockSize: number, crops: readonly number[]): Float32Array {
  const first = crops[0];
  if (first === undefined) throw new RangeError('a grouped run needs at least one crop');
  for (const crop of crops)
    if (!Number.isInteger(crop) || crop < 0 || (crop + 1) * blockSize > all.length)
      throw new RangeError(`crop ${crop} is outside the cross output (${all.length / blockSize} crops)`);
  if (crops.every((crop, k) => crop === first + k))
    return all.subarray(first * blockSize, (first + crops.length) * blockSize);
  const out = new Float32Array(crops.length * blockSize);
  crops.forEach((crop, k) => out.set(all.subarray(crop * blockSize, (crop + 1) * blockSize), k * blockSize));
  return out;
}
