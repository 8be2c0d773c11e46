/**
 * Cache-row bookkeeping of the cached decoder (runtime/README.md "Fast contracts"), as pure functions.
 *
 * A cache row holds the self-attention keys/values of one (prefix, crop) pair: every position of the prefix but the
 * last. A decoding step asks for the next-token logits of pairs whose prefixes are one token longer than those of the
 * previous step; each new row continues the row of its prefix minus its last token on the same crop (its *parent*).
 * That one rule gives every bookkeeping the decoders need:
 * - beam search: a new beam's parent is the row of the beam it continues, so rows are gathered by beam origin (two
 *   new beams of one origin gather the same row twice; an origin no beam continues is dropped);
 * - DCS: the other crops run on the target's prefix, so each (target sample, other crop) pair has its own row;
 * - rows that finish are not asked for again: they leave the batch and their rows are dropped.
 */

/** One requested (prefix, crop) pair; the prefix starts with sot. */
export interface CachePair {
  prefix: readonly number[];
  image: number;
}

/** The key of the cache row of a (prefix, crop) pair. */
export function cacheKey(prefix: readonly number[], image: number): string {
  return `${image}|${prefix.join(',')}`;
}

/** One row of a cached step's batch. */
export interface PlannedRow {
  /** Key of the pair this row computes (its present becomes that pair's cache row). */
  key: string;
  /** Key of the parent row whose past this row reads; null for a one-token prefix (empty past). */
  parent: string | null;
  /** The newest token, fed as `input_ids`. */
  token: number;
  image: number;
}

/** A cached step: the batch rows, each pair's row, and the parent rows that must be computed first. */
export interface StepPlan {
  rows: PlannedRow[];
  /** Row index of each requested pair, in request order. */
  rowOfPair: number[];
  /** Parent pairs absent from the cache (a caller that skipped steps): computed before this step. */
  missing: CachePair[];
}

/**
 * Plans one step over pairs that all have prefix length L: one row per distinct (prefix, crop) pair (or per pair when
 * `dedupe` is false), reading the past of the parent (prefix without its last token, same crop).
 */
export function planStep(
  pairs: readonly CachePair[],
  cached: ReadonlySet<string> | ReadonlyMap<string, unknown>,
  dedupe = true,
): StepPlan {
  const rows: PlannedRow[] = [];
  const rowOfPair: number[] = [];
  const byKey = new Map<string, number>();
  const missing = new Map<string, CachePair>();
  const length = pairs[0]?.prefix.length ?? 0;
  pairs.forEach((pair, index) => {
    if (pair.prefix.length !== length)
      throw new RangeError(
        `pair ${index} has prefix length ${pair.prefix.length}, the step's is ${length}: a cached step advances every row by one position`,
      );
    if (length < 1) throw new RangeError(`pair ${index} has an empty prefix (it must start with sot)`);
    const key = cacheKey(pair.prefix, pair.image);
    const existing = dedupe ? byKey.get(key) : undefined;
    if (existing !== undefined) {
      rowOfPair.push(existing);
      return;
    }
    const parentPrefix = pair.prefix.slice(0, -1);
    const parent = parentPrefix.length === 0 ? null : cacheKey(parentPrefix, pair.image);
    if (parent !== null && !cached.has(parent) && !missing.has(parent))
      missing.set(parent, { prefix: parentPrefix, image: pair.image });
    byKey.set(key, rows.length);
    rowOfPair.push(rows.length);
    rows.push({ key, parent, token: pair.prefix[length - 1]!, image: pair.image });
  });
  return { rows, rowOfPair, missing: [...missing.values()] };
}

/**
 * The cache rows kept after a step at prefix length L: the rows the step wrote, plus rows of length L − 1 that it did
 * not read (a second call of the same step, e.g. the reference's separate "others" call, may still need them). Rows
 * the step read, anything older, and rows longer than the step (a caller that started over) are dropped — finished
 * rows included. Returns the keys to drop.
 */
export function rowsToDrop(
  cachedLengths: ReadonlyMap<string, number>,
  readParents: ReadonlySet<string>,
  stepLength: number,
): string[] {
  const drop: string[] = [];
  for (const [key, length] of cachedLengths)
    if (length < stepLength - 1 || length > stepLength || (length === stepLength - 1 && readParents.has(key)))
      drop.push(key);
  return drop;
}

/**
 * Gathers rows of per-row arrays into one batch: out[b] = rows[b] (each `rowSize` values; a missing row — the empty
 * past of a first step — must have `rowSize` 0). out: float32[B·rowSize].
 */
export function gatherRows(rows: readonly (Float32Array | null)[], rowSize: number): Float32Array {
  const out = new Float32Array(rows.length * rowSize);
  rows.forEach((row, b) => {
    if (rowSize === 0) return;
    if (!row || row.length !== rowSize)
      throw new RangeError(`cache row ${b} holds ${row?.length ?? 0} values, expected ${rowSize}`);
    out.set(row, b * rowSize);
  });
  return out;
}

/** The parts end to end (the part itself when there is one). */
export function concat(parts: Float32Array[]): Float32Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Float32Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Indices of `pairs` grouped by prefix length; checks every pair names an encoded crop and a non-empty prefix. */
export function pairsByPrefixLength(pairs: readonly CachePair[], crops: number): Map<number, number[]> {
  const byLength = new Map<number, number[]>();
  pairs.forEach((pair, index) => {
    if (pair.image < 0 || pair.image >= crops)
      throw new RangeError(`pair ${index} names crop ${pair.image} of ${crops}`);
    if (pair.prefix.length < 1)
      throw new RangeError(`pair ${index} has an empty prefix (it must start with sot)`);
    const list = byLength.get(pair.prefix.length) ?? [];
    list.push(index);
    byLength.set(pair.prefix.length, list);
  });
  return byLength;
}
