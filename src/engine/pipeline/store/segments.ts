/**
 * Index segments: the record and candidate columns of a byte range of the commit log, saved so that opening a
 * project reads columns instead of parsing every record. Derived data: each segment is written whole and atomically
 * (temp → fsync → rename), never changed after, checked by CRC-32 and against the log line it ends on, and rebuilt
 * from the log when missing, damaged or stale. Any process (the writer or a reader) may write one; two processes
 * writing the same range write identical bytes.
 *
 * Layout of `index/<from>-<to>.seg` (offsets in hex):
 *   "PRISSEG2" · u32 header length · header JSON {from, to, lines, records, candidates, lastOffset, lastLength, lastCrc}
 *   records × 60 bytes: offset f64 · length u32 · id u32 · revision u32 · status u8 · 0 u8 · masks u16 ·
 *                        candidates u32 · SHA-256 32 bytes
 *   candidates: score f64[n] · mask u16[n] · index u16[n]   (score: columns.ts `ruleScore`)
 *   u32 CRC-32 of everything before it
 * Segments of the first layout ("PRISSEG1": cos f64[n] · dos f64[n] in place of score) are read as they are: each
 * record's score is taken from the column its mask count selects.
 *
 * A project folder is untrusted input: `index/` is opened inside the project's real folder without following a link
 * (runtime/safe-fs.ts), and every segment is read, written and removed inside that opened folder, so an `index`
 * planted as a link out gets nothing read, written or deleted there (an `OutsideFolderError` instead).
 */
import { crc32 } from 'node:zlib';
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readSync,
  realpathSync,
  unlinkSync,
} from 'node:fs';
import { join } from 'node:path';
import { ConfinedDir } from '../../runtime/index.ts';
import type { RecordColumns } from './columns.ts';

/** The folder of a project's index segments. */
export const INDEX_DIR = 'index';
const NO_FOLLOW = constants.O_NOFOLLOW ?? 0;
const MAGIC = Buffer.from('PRISSEG2', 'latin1');
const MAGIC_1 = Buffer.from('PRISSEG1', 'latin1');
/** Bytes per candidate, by layout. */
const CANDIDATE_BYTES = { 1: 20, 2: 12 } as const;
const RECORD_BYTES = 60;
const NAME = /^([0-9a-f]{12})-([0-9a-f]{12})\.seg$/;

/** What a segment's header says. */
export interface SegmentHeader {
  from: number;
  to: number;
  /** Log lines in the range (records + skipped lines), to number lines after it. */
  lines: number;
  records: number;
  candidates: number;
  /** The range's last line: where it is and its CRC-32, to tell a replaced log from the one indexed. */
  lastOffset: number;
  lastLength: number;
  lastCrc: number;
}

/** A segment read back: its header and its columns as plain arrays. */
export interface Segment {
  header: SegmentHeader;
  file: string;
  /** 1: separate CoS and DoS columns; 2: the rule's score. */
  layout: 1 | 2;
  bytes: Buffer;
}

/** A segment file of a project's index folder: its name, its path (for messages) and the range its name claims. */
export interface SegmentFile {
  name: string;
  file: string;
  from: number;
  to: number;
}

/** The CRC-32 of a log line's bytes (without "\n"). */
export function lineCrc(text: string): number {
  return crc32(Buffer.from(text, 'utf8'));
}

/**
 * Writes the segment of records `[first, last)` of `columns`, covering log bytes `[header.from, header.to)`.
 */
export function writeSegment(
  projectDir: string,
  columns: RecordColumns,
  first: number,
  last: number,
  header: Omit<SegmentHeader, 'records' | 'candidates'>,
): string {
  const candStart = columns.candStart.view();
  const c0 = candStart[first];
  const c1 = candStart[last];
  const full: SegmentHeader = { ...header, records: last - first, candidates: c1 - c0 };
  const json = Buffer.from(JSON.stringify(full), 'utf8');
  const records = Buffer.alloc(RECORD_BYTES * (last - first));
  const offset = columns.offset.view();
  const length = columns.length.view();
  const id = columns.id.view();
  const revision = columns.revision.view();
  const status = columns.status.view();
  const masks = columns.maskCount.view();
  const sha = columns.sha.view();
  for (let r = first; r < last; r++) {
    const at = RECORD_BYTES * (r - first);
    records.writeDoubleLE(offset[r], at);
    records.writeUInt32LE(length[r], at + 8);
    records.writeUInt32LE(id[r], at + 12);
    records.writeUInt32LE(revision[r], at + 16);
    records.writeUInt8(status[r], at + 20);
    records.writeUInt16LE(masks[r], at + 22);
    records.writeUInt32LE(candStart[r + 1] - candStart[r], at + 24);
    records.set(sha.subarray(32 * r, 32 * r + 32), at + 28);
  }
  const bytes = (array: ArrayBufferView) => Buffer.from(array.buffer, array.byteOffset, array.byteLength);
  const length32 = Buffer.alloc(4);
  length32.writeUInt32LE(json.length);
  const body = Buffer.concat([
    MAGIC,
    length32,
    json,
    records,
    bytes(columns.score.view().subarray(c0, c1)),
    bytes(columns.mask.view().subarray(c0, c1)),
    bytes(columns.index.view().subarray(c0, c1)),
  ]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32LE(crc32(body));
  const name = `${hex(header.from)}-${hex(header.to)}.seg`;
  inIndex(projectDir, (dir) => dir.writeFile(name, Buffer.concat([body, crc])), true);
  return name;
}

/**
 * The segment files of a project's index folder, by the range their names claim (unchecked); none when it has no
 * index folder. Throws `OutsideFolderError` when `index` is not a folder of the project (a link).
 */
export function listSegments(projectDir: string): SegmentFile[] {
  const names = inIndex(projectDir, (dir) => dir.list().map((e) => e.name)) ?? [];
  return names
    .map((name) => ({ name, match: NAME.exec(name) }))
    .filter((e) => e.match !== null)
    .map((e) => ({
      name: e.name,
      file: join(projectDir, INDEX_DIR, e.name),
      from: parseInt(e.match![1], 16),
      to: parseInt(e.match![2], 16),
    }));
}

/** Reads and checks one segment file; throws naming what is wrong. */
export function readSegment(projectDir: string, segment: SegmentFile): Segment {
  const file = segment.file;
  const bytes = inIndex(projectDir, (dir) => dir.readFile(segment.name));
  if (!bytes) throw new Error('it is not a regular file');
  const layout = magicLayout(bytes);
  if (bytes.length < 16 || layout === null) throw new Error('it is not an index segment');
  const stored = bytes.readUInt32LE(bytes.length - 4);
  if (crc32(bytes.subarray(0, bytes.length - 4)) !== stored) throw new Error('its checksum does not match');
  const jsonLength = bytes.readUInt32LE(8);
  const header = JSON.parse(bytes.toString('utf8', 12, 12 + jsonLength)) as SegmentHeader;
  const expected =
    12 + jsonLength + RECORD_BYTES * header.records + CANDIDATE_BYTES[layout] * header.candidates + 4;
  if (expected !== bytes.length) throw new Error('its size does not match its header');
  return { header, file, layout, bytes: bytes.subarray(12 + jsonLength, bytes.length - 4) };
}

function magicLayout(bytes: Buffer): 1 | 2 | null {
  const magic = bytes.subarray(0, 8);
  return magic.equals(MAGIC) ? 2 : magic.equals(MAGIC_1) ? 1 : null;
}

/** The record and candidate counts a segment's header states (unchecked: to size the columns), or null. */
export function segmentCounts(
  projectDir: string,
  segment: SegmentFile,
): { records: number; candidates: number } | null {
  let fd: number | null = null;
  try {
    fd = inIndex(projectDir, (dir) => openSync(dir.at(segment.name), constants.O_RDONLY | NO_FOLLOW));
    if (fd === null || !fstatSync(fd).isFile()) return null;
    const head = Buffer.alloc(4096);
    const read = readSync(fd, head, 0, head.length, 0);
    if (read < 12 || magicLayout(head) === null) return null;
    const jsonLength = head.readUInt32LE(8);
    if (12 + jsonLength > read) return null;
    const header = JSON.parse(head.toString('utf8', 12, 12 + jsonLength)) as SegmentHeader;
    return Number.isInteger(header.records) && Number.isInteger(header.candidates)
      ? { records: header.records, candidates: header.candidates }
      : null;
  } catch {
    return null;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/** Appends a checked segment's records and candidates to `columns`. */
export function loadSegment(segment: Segment, columns: RecordColumns): void {
  const { header, bytes, layout } = segment;
  const n = header.candidates;
  const candidates = RECORD_BYTES * header.records;
  // copies into aligned arrays (the file's float block need not be 8-byte aligned in memory)
  const floats = (at: number) =>
    new Float64Array(bytes.buffer.slice(bytes.byteOffset + at, bytes.byteOffset + at + 8 * n));
  const shorts = (at: number) =>
    new Uint16Array(bytes.buffer.slice(bytes.byteOffset + at, bytes.byteOffset + at + 2 * n));
  const floatBytes = layout === 1 ? 16 * n : 8 * n;
  // layout 1: CoS then DoS, of which each record's mask count picks one (ruleScore)
  const score = floats(candidates);
  const dos = layout === 1 ? floats(candidates + 8 * n) : score;
  const mask = shorts(candidates + floatBytes);
  const index = shorts(candidates + floatBytes + 2 * n);
  columns.offset.reserve(header.records);
  let c = 0;
  for (let r = 0; r < header.records; r++) {
    const at = RECORD_BYTES * r;
    const count = bytes.readUInt32LE(at + 24);
    const sha = bytes.subarray(at + 28, at + 60);
    const maskCount = bytes.readUInt16LE(at + 22);
    columns.add({
      offset: bytes.readDoubleLE(at),
      length: bytes.readUInt32LE(at + 8),
      id: bytes.readUInt32LE(at + 12),
      revision: bytes.readUInt32LE(at + 16),
      status: bytes.readUInt8(at + 20),
      maskCount,
      sha256: sha.every((b) => b === 0) ? '' : Buffer.from(sha).toString('hex'),
      mask: mask.subarray(c, c + count),
      index: index.subarray(c, c + count),
      score: (maskCount === 1 ? score : dos).subarray(c, c + count),
    });
    c += count;
  }
}

/** Removes a segment file that is not part of the index any more (only regular files named as segments). */
export function removeSegment(projectDir: string, segment: SegmentFile): void {
  try {
    inIndex(projectDir, (dir) => {
      const path = dir.at(segment.name);
      if (lstatSync(path).isFile() && NAME.test(segment.name)) unlinkSync(path);
    });
  } catch {
    /* already gone, or a read-only folder */
  }
}

/**
 * Runs `work` on the project's index folder, opened inside the project's real folder and never through a link
 * (created with `create`); answers null without running it when there is no index folder.
 */
function inIndex<T>(projectDir: string, work: (dir: ConfinedDir) => T, create = false): T | null {
  const project = ConfinedDir.open(realpathSync.native(projectDir));
  let index: ConfinedDir;
  try {
    index = project.sub(INDEX_DIR, { create, noFollow: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  } finally {
    project.close();
  }
  try {
    return work(index);
  } finally {
    index.close();
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(12, '0');
}
