/**
 * The store's columns: per log record (image id, revision, status, where its line is) and per exportable candidate
 * (mask, index, the score the keep rule reads), as growable typed arrays. What scans a whole project (the gallery's counts, a τ move, the
 * resume check) reads these instead of parsing records.
 */
import type { ImageResult } from '../../../shared/results.ts';

/** Status codes of the record columns. */
export const STATUS = { done: 1, failed: 2 } as const;

/** A growable typed array: `view()` is the filled part (valid until the next push). */
export class Grow<T extends Float64Array | Uint32Array | Uint16Array | Uint8Array | Int32Array> {
  #data: T;
  length = 0;
  constructor(private readonly make: (n: number) => T) {
    this.#data = make(64);
  }
  /** Makes room for `extra` more values. */
  reserve(extra: number): void {
    const need = this.length + extra;
    if (need <= this.#data.length) return;
    // ×1.5, not ×2: a 100k-image project's candidate columns are hundreds of MiB, and the slack is memory held
    this.#resize(Math.max(need, Math.ceil(this.#data.length * 1.5)));
  }
  /** Makes room for `total` values in all, exactly (what an opening knows it will load). */
  reserveTotal(total: number): void {
    if (total > this.#data.length) this.#resize(total);
  }
  #resize(size: number): void {
    const next = this.make(size);
    next.set(this.#data.subarray(0, this.length) as never);
    this.#data = next;
  }
  push(value: number): void {
    if (this.length === this.#data.length) this.reserve(1);
    this.#data[this.length++] = value;
  }
  /** Appends a block of values. */
  append(values: ArrayLike<number>): void {
    this.reserve(values.length);
    this.#data.set(values as never, this.length);
    this.length += values.length;
  }
  view(): T {
    return this.#data.subarray(0, this.length) as T;
  }
}

/** One record's column values, as an index segment stores them. */
export interface RecordRow {
  offset: number;
  length: number;
  id: number;
  revision: number;
  status: number;
  maskCount: number;
  /** SHA-256 of the image the record was made for (hex; '' when unknown). */
  sha256: string;
  // exportable candidates of the record, in candidate order
  mask: Uint16Array;
  index: Uint16Array;
  /** {@link ruleScore} of each. */
  score: Float64Array;
}

/**
 * The one score the keep rule reads of a candidate (shared/decide.ts), NaN when it has none: DoS in an image of several
 * masks, CoS in a single-mask image (which has no ratio, and whose policy ranks by CoS). Exact (float64): τ and the
 * ranking compare these values as the rule does.
 */
export function ruleScore(scores: { cos: number | null; dos: number | null }, maskCount: number): number {
  return (maskCount === 1 ? scores.cos : scores.dos) ?? Number.NaN;
}

/** The column values of a result (its exportable candidates only: comparisons never count or export). */
export function recordRow(
  result: ImageResult,
  where: { offset: number; length: number },
  revision = result.revision ?? 0,
): RecordRow {
  const exportable = result.candidates.filter((c) => !c.comparison);
  return {
    offset: where.offset,
    length: where.length,
    id: result.image.id,
    revision,
    status: STATUS[result.status],
    maskCount: result.masks.length,
    sha256: /^[0-9a-f]{64}$/.test(result.image.sha256) ? result.image.sha256 : '',
    mask: Uint16Array.from(exportable, (c) => c.mask),
    index: Uint16Array.from(exportable, (c) => c.index),
    score: Float64Array.from(exportable, (c) => ruleScore(c.scores, result.masks.length)),
  };
}

/** All records of the log, in log order, as columns. */
export class RecordColumns {
  readonly offset = new Grow((n) => new Float64Array(n));
  readonly length = new Grow((n) => new Uint32Array(n));
  readonly id = new Grow((n) => new Uint32Array(n));
  readonly revision = new Grow((n) => new Uint32Array(n));
  readonly status = new Grow((n) => new Uint8Array(n));
  readonly maskCount = new Grow((n) => new Uint16Array(n));
  /** SHA-256 bytes, 32 per record (zeros when unknown). */
  readonly sha = new Grow((n) => new Uint8Array(n));
  /** Position of the record's first candidate in the candidate columns; `candStart[r + 1]` ends it. */
  readonly candStart = new Grow((n) => new Uint32Array(n));
  // exportable candidates of every record, record after record
  readonly mask = new Grow((n) => new Uint16Array(n));
  readonly index = new Grow((n) => new Uint16Array(n));
  readonly score = new Grow((n) => new Float64Array(n));

  /**
   * @param candidates false: record columns only (a reader that reaches records by id and never counts candidates,
   *   e.g. a merge's sources); the candidate columns stay empty and `candStart` all 0.
   */
  constructor(readonly candidates = true) {
    this.candStart.push(0);
  }

  get records(): number {
    return this.id.length;
  }

  /** Sizes every column for `records` records with `candidates` exportable candidates in all (no slack). */
  reserveTotal(records: number, candidates: number): void {
    for (const column of [this.offset, this.length, this.id, this.revision, this.status, this.maskCount])
      column.reserveTotal(records);
    this.candStart.reserveTotal(records + 1);
    this.sha.reserveTotal(32 * records);
    if (this.candidates)
      for (const column of [this.mask, this.index, this.score]) column.reserveTotal(candidates);
  }

  add(row: RecordRow): void {
    this.offset.push(row.offset);
    this.length.push(row.length);
    this.id.push(row.id);
    this.revision.push(row.revision);
    this.status.push(row.status);
    this.maskCount.push(row.maskCount);
    this.sha.append(row.sha256 ? Buffer.from(row.sha256, 'hex') : new Uint8Array(32));
    if (this.candidates) {
      this.mask.append(row.mask);
      this.index.append(row.index);
      this.score.append(row.score);
    }
    this.candStart.push(this.mask.length);
  }

  /** The SHA-256 (hex) record `r` was made for, or ''. */
  sha256(r: number): string {
    const bytes = this.sha.view().subarray(32 * r, 32 * r + 32);
    return bytes.every((b) => b === 0) ? '' : Buffer.from(bytes).toString('hex');
  }
}
