/**
 * The read side of a project's results: the commit log reached by index, never loaded whole.
 *
 * Opening reads the index segments (columns of what the log held when they were written), checks each against the
 * log, then scans only the log's tail past them. Per image the highest revision wins, and among equal revisions the
 * first line. A damaged line is skipped and said once (its image counts as pending and runs again); a damaged or
 * stale segment is dropped and its range rebuilt from the log, said once; a record from a newer version is refused.
 *
 * Memory: ~60 bytes per record and 20 per exportable candidate (columns.ts), whatever the records' sizes.
 */
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import type { ImageResult } from '../../../shared/results.ts';
import { OutsideFolderError } from '../../runtime/index.ts';
import { RecordColumns, recordRow, STATUS } from './columns.ts';
import { CommitLog } from './log.ts';
import { RESULTS_FILE } from './project-file.ts';
import { decodeHeader, decodeLine, decodeSummary, RecordError, type ResultSummary } from './record.ts';
import {
  INDEX_DIR,
  lineCrc,
  listSegments,
  loadSegment,
  readSegment,
  removeSegment,
  segmentCounts,
  writeSegment,
  type SegmentFile,
} from './segments.ts';

/** Records (or log bytes) past the last segment after which a new segment is written. */
const SEGMENT_RECORDS = 256;
const SEGMENT_BYTES = 32 << 20;

/** Which latest results a read yields, and in which order. */
export interface ReadOptions {
  order?: 'first-seen' | 'id';
  status?: 'done' | 'failed';
}

/** Options of {@link ResultCatalog.open}. */
export interface CatalogOptions {
  /** Write index segments (default true). False for callers that must not write into the folder. */
  writeIndex?: boolean;
  /**
   * Hold the per-candidate columns (default true). False for a reader that only reaches records by id (a merge's
   * sources): 12 bytes per exportable candidate less, and no segment written (it would lack them).
   */
  candidates?: boolean;
}

/** A project's committed results, by index. */
export class ResultCatalog {
  readonly log: CommitLog;
  readonly columns: RecordColumns;
  /** What was found wrong and repaired or skipped, each said once (e.g. a damaged line, a rebuilt segment). */
  readonly problems: string[] = [];
  /** Set when the folder cannot be written: the index then stays in memory. */
  readOnlyReason: string | null = null;
  /** Set when `index` is not a folder of the project (a link planted there): segments are then left alone. */
  #indexRefused = false;
  /** Per image id, the record (position in `columns`) that wins. */
  readonly #latest = new Map<number, number>();
  /** Image ids in the order their first record appeared. */
  readonly #order: number[] = [];
  #scanned = 0;
  #lines = 0;
  #segmentEnd = 0;
  #segmentRecords = 0;
  #segmentLines = 0;
  #lastLine: { offset: number; length: number; crc: number } | null = null;

  private constructor(
    readonly dir: string,
    private readonly options: CatalogOptions,
  ) {
    this.log = new CommitLog(join(dir, RESULTS_FILE));
    this.columns = new RecordColumns(options.candidates !== false);
  }

  /** Opens the results of project folder `dir` (absolute): segments, then the log's tail. */
  static open(dir: string, options: CatalogOptions = {}): ResultCatalog {
    const catalog = new ResultCatalog(dir, options);
    catalog.#checkWritable();
    catalog.#loadSegments();
    catalog.refresh();
    return catalog;
  }

  /** Reads what other processes appended since the last look; answers how many records arrived. */
  refresh(): number {
    const size = this.log.size();
    if (size < this.#scanned) {
      // the log was replaced or cut below what was read: start over
      this.problems.push(`${RESULTS_FILE} became shorter than when it was read; its index was rebuilt`);
      this.#reset();
    }
    const before = this.columns.records;
    for (const line of this.log.scan(this.#scanned)) {
      this.#lines++;
      this.#scanned = line.offset + line.length + 1;
      if (line.length === 0) continue;
      let result: ImageResult;
      try {
        result = decodeLine(line.text);
      } catch (error) {
        if (error instanceof RecordError && error.kind === 'newer')
          throw new Error(`${this.log.path}: line ${this.#lines} ${error.message}`, { cause: error });
        const reason = error instanceof RecordError ? error.message : String(error);
        this.problems.push(
          `${this.log.path}: line ${this.#lines} is skipped (${reason}); its image counts as pending and runs again`,
        );
        continue;
      }
      this.#lastLine = { offset: line.offset, length: line.length, crc: lineCrc(line.text) };
      this.#add(recordRow(result, line));
    }
    this.#maybeWriteSegment();
    return this.columns.records - before;
  }

  /** Adds a result the writer just appended at `where` (no re-read of the log). */
  added(result: ImageResult, line: Buffer, where: { offset: number; length: number }): void {
    if (where.offset !== this.#scanned) {
      this.refresh(); // another process appended first (should not happen under the lock); read in order
      return;
    }
    this.#lines++;
    this.#scanned = where.offset + where.length + 1;
    this.#lastLine = { ...where, crc: lineCrc(line.toString('utf8', 0, where.length)) };
    this.#add(recordRow(result, where));
    this.#maybeWriteSegment();
  }

  /** Images with a committed result. */
  get size(): number {
    return this.#latest.size;
  }

  /** Whether image `id` has a committed result. */
  has(id: number): boolean {
    return this.#latest.has(id);
  }

  /** The winning record's position in {@link columns} for image `id`, or undefined. */
  record(id: number): number | undefined {
    return this.#latest.get(id);
  }

  /** `done` / `failed` of image `id`'s latest result, or undefined when it has none. */
  status(id: number): 'done' | 'failed' | undefined {
    const r = this.#latest.get(id);
    if (r === undefined) return undefined;
    return this.columns.status.view()[r] === STATUS.done ? 'done' : 'failed';
  }

  /** The latest revision of image `id` (0 when it has none). */
  revision(id: number): number {
    const r = this.#latest.get(id);
    return r === undefined ? 0 : this.columns.revision.view()[r];
  }

  /** Image ids with a result, in the order their first record appeared. */
  ids(): readonly number[] {
    return this.#order;
  }

  /** Counts of latest results by status. */
  counts(): { done: number; failed: number } {
    const status = this.columns.status.view();
    let done = 0;
    for (const r of this.#latest.values()) if (status[r] === STATUS.done) done++;
    return { done, failed: this.#latest.size - done };
  }

  /** Image `id`'s latest result, read and decoded from the log, or undefined. */
  get(id: number): ImageResult | undefined {
    const r = this.#latest.get(id);
    return r === undefined ? undefined : this.#read(r);
  }

  /**
   * Latest results one at a time (never all in memory): by first appearance (default) or by image id, optionally
   * only those of one status.
   */
  results(options: ReadOptions = {}): Generator<ImageResult> {
    return this.#records(options, decodeLine);
  }

  /** {@link results} as an iterable that can be read more than once (each pass reads the store again). */
  latest(options: ReadOptions = {}): Iterable<ImageResult> {
    return { [Symbol.iterator]: () => this.results(options) };
  }

  /**
   * Latest results as the report reads them ({@link decodeSummary}: no tokens, crops or decisions rebuilt), re-iterable
   * as {@link latest}.
   */
  summaries(options: ReadOptions = {}): Iterable<ResultSummary> {
    return { [Symbol.iterator]: () => this.#records(options, decodeSummary) };
  }

  *#records<T>(options: ReadOptions, decode: (line: string) => T): Generator<T> {
    const ids = options.order === 'id' ? [...this.#order].sort((a, b) => a - b) : [...this.#order];
    const wanted = options.status === undefined ? 0 : STATUS[options.status];
    const status = this.columns.status;
    const offset = this.columns.offset;
    const length = this.columns.length;
    for (const id of ids) {
      const r = this.#latest.get(id)!;
      if (wanted !== 0 && status.view()[r] !== wanted) continue;
      yield decode(this.log.read(offset.view()[r], length.view()[r]));
    }
  }

  /** The image (id, SHA-256, status; its name read from the log only when asked) of each latest result. */
  *images(): Generator<{ id: number; name: string; sha256: string; status: 'done' | 'failed' }> {
    for (const id of this.#order) {
      const r = this.#latest.get(id)!;
      const read = () => this.#header(r).name;
      yield {
        id,
        sha256: this.columns.sha256(r),
        status: this.columns.status.view()[r] === STATUS.done ? 'done' : 'failed',
        get name() {
          return read();
        },
      };
    }
  }

  /** Closes the log's handles. */
  close(): void {
    this.log.close();
  }

  #header(r: number) {
    return decodeHeader(this.log.read(this.columns.offset.view()[r], this.columns.length.view()[r]));
  }

  #read(r: number): ImageResult {
    return decodeLine(this.log.read(this.columns.offset.view()[r], this.columns.length.view()[r]));
  }

  #add(row: ReturnType<typeof recordRow>): void {
    const r = this.columns.records;
    this.columns.add(row);
    const previous = this.#latest.get(row.id);
    if (previous === undefined) {
      this.#latest.set(row.id, r);
      this.#order.push(row.id);
    } else if (row.revision > this.columns.revision.view()[previous]) this.#latest.set(row.id, r);
  }

  #loadSegments(): void {
    let segments: SegmentFile[];
    try {
      segments = listSegments(this.dir).sort((a, b) => a.from - b.from || b.to - a.to);
    } catch (error) {
      if (error instanceof OutsideFolderError) return this.#refuseIndex();
      throw error;
    }
    const size = this.log.size();
    const used = new Set<string>();
    this.#sizeColumns(segments, size);
    for (;;) {
      const next = segments.find((s) => s.from === this.#segmentEnd && s.to <= size);
      if (!next) break;
      try {
        const segment = readSegment(this.dir, next);
        const h = segment.header;
        if (h.from !== next.from || h.to !== next.to) throw new Error('its name and header disagree');
        if (lineCrc(this.log.read(h.lastOffset, h.lastLength)) !== h.lastCrc)
          throw new Error(`it does not match ${RESULTS_FILE} (the log was replaced)`);
        const before = this.columns.records;
        loadSegment(segment, this.columns);
        this.#replay(before);
        this.#segmentEnd = this.#scanned = h.to;
        this.#segmentRecords = this.columns.records;
        this.#segmentLines = this.#lines = this.#lines + h.lines;
        this.#lastLine = { offset: h.lastOffset, length: h.lastLength, crc: h.lastCrc };
        used.add(next.file);
      } catch (error) {
        this.problems.push(
          `index segment ${next.file} is not usable (${(error as Error).message}); rebuilt from ${RESULTS_FILE}`,
        );
        break;
      }
    }
    // segments past a break, overlapping or beyond the log are stale: their ranges are rebuilt from the log
    if (this.#writesIndex()) for (const s of segments) if (!used.has(s.file)) removeSegment(this.dir, s);
  }

  /** Rebuilds the winner map for records loaded from a segment (positions `from` on). */
  #replay(from: number): void {
    const id = this.columns.id.view();
    const revision = this.columns.revision.view();
    for (let r = from; r < this.columns.records; r++) {
      const previous = this.#latest.get(id[r]);
      if (previous === undefined) {
        this.#latest.set(id[r], r);
        this.#order.push(id[r]);
      } else if (revision[r] > revision[previous]) this.#latest.set(id[r], r);
    }
  }

  /**
   * Sizes the columns once for what the segment chain holds, plus a segment's worth for the log's tail, from the
   * segments' headers: loading 100k images then allocates each column once instead of growing it step by step.
   */
  #sizeColumns(segments: readonly SegmentFile[], size: number): void {
    let end = 0;
    let records = 0;
    let candidates = 0;
    for (;;) {
      const next = segments.find((s) => s.from === end && s.to <= size);
      const counts = next && segmentCounts(this.dir, next);
      if (!next || !counts) break;
      records += counts.records;
      candidates += counts.candidates;
      end = next.to;
    }
    if (records === 0) return;
    const tail = SEGMENT_RECORDS;
    this.columns.reserveTotal(records + tail, Math.ceil((candidates * (records + tail)) / records));
  }

  /** A folder this process cannot write (a read-only disk or share) is read as it is, and said so once. */
  #checkWritable(): void {
    try {
      accessSync(this.dir, constants.W_OK);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EROFS' && code !== 'EACCES' && code !== 'EPERM') return; // missing: the open fails later
      this.#readOnly(code);
    }
  }

  #readOnly(code: string): void {
    this.readOnlyReason = `the project folder cannot be written (${code}): opened read-only, the index is kept in memory`;
    this.problems.push(this.readOnlyReason);
  }

  /** `index` is not a folder of the project: said once, and the index kept in memory. */
  #refuseIndex(): void {
    this.#indexRefused = true;
    this.problems.push(
      `${join(this.dir, INDEX_DIR)} is not a folder of the project (a link?): index segments are neither read nor written there; the index is kept in memory`,
    );
  }

  /** Whether this catalog keeps the folder's index (writes segments, removes stale ones). */
  #writesIndex(): boolean {
    return this.options.writeIndex !== false && this.options.candidates !== false;
  }

  #maybeWriteSegment(): void {
    if (!this.#writesIndex() || this.readOnlyReason !== null || this.#indexRefused) return;
    if (this.#lastLine === null) return;
    const records = this.columns.records - this.#segmentRecords;
    if (records < SEGMENT_RECORDS && this.#scanned - this.#segmentEnd < SEGMENT_BYTES) return;
    if (records === 0) return;
    try {
      writeSegment(this.dir, this.columns, this.#segmentRecords, this.columns.records, {
        from: this.#segmentEnd,
        to: this.#scanned,
        lines: this.#lines - this.#segmentLines,
        lastOffset: this.#lastLine.offset,
        lastLength: this.#lastLine.length,
        lastCrc: this.#lastLine.crc,
      });
    } catch (error) {
      if (error instanceof OutsideFolderError) this.#refuseIndex();
      else this.#readOnly((error as NodeJS.ErrnoException).code ?? (error as Error).message);
      return;
    }
    this.#segmentEnd = this.#scanned;
    this.#segmentRecords = this.columns.records;
    this.#segmentLines = this.#lines;
  }

  #reset(): void {
    (this as { columns: RecordColumns }).columns = new RecordColumns(this.options.candidates !== false);
    this.#latest.clear();
    this.#order.length = 0;
    this.#scanned = this.#lines = this.#segmentEnd = this.#segmentRecords = this.#segmentLines = 0;
    this.#lastLine = null;
  }
}

/** Segment flushing thresholds, for tests and the bench. */
export const SEGMENT_LIMITS = { records: SEGMENT_RECORDS, bytes: SEGMENT_BYTES };
