/**
 * The commit log, `results.jsonl`: one line per committed image, appended with one write + fsync (the image's commit
 * point). A line counts only when it ends in "\n"; a torn tail left by kill -9 is cut before the next append, and a
 * failed append (disk full) is cut back at once, so the next line always starts on a line boundary.
 *
 * Readers never load the file whole: {@link CommitLog.scan} streams complete lines in fixed-size chunks from any
 * byte offset, and {@link CommitLog.read} reads one line by offset and length (what the index stores).
 */
import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readSync,
  statfsSync,
  statSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { syncDir, writeAll } from './atomic.ts';

/** A complete line of the log: where it starts and its length in bytes, without the "\n". */
export interface LogLine {
  offset: number;
  length: number;
  text: string;
}

/** O_NOFOLLOW where the platform has it (not Windows): results.jsonl swapped for a link out is never followed. */
const NO_FOLLOW = constants.O_NOFOLLOW ?? 0;
const READ = constants.O_RDONLY | NO_FOLLOW;

/** Bytes read per chunk while scanning; a longer line grows the buffer. */
const CHUNK = 8 << 20;

/** An append failed (disk full, I/O error): nothing of the line stays in the log, and the image stays pending. */
export class CommitError extends Error {
  override readonly name = 'CommitError';
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** Test seam: the write an append makes (a real `writeSync` loop); replaced only to simulate a full disk. */
export const appendWrite = { write: writeAll };

/** The project's results log: streamed reads, and appends by the single writer. */
export class CommitLog {
  #readFd: number | null = null;
  #appendFd: number | null = null;
  /** Where the next append lands (the log's committed length), once the writer has opened it. */
  #end = 0;

  constructor(readonly path: string) {}

  /** The log's size now (0 when it does not exist yet). */
  size(): number {
    try {
      return statSync(this.path).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw error;
    }
  }

  /** Complete lines from byte `start` to the end as it is now (a torn last line is not yielded). */
  *scan(start = 0): Generator<LogLine> {
    if (existsSync(this.path)) yield* scanLines(this.path, start);
  }

  /** The line at `offset` of `length` bytes (as {@link scan} reported it). */
  read(offset: number, length: number): string {
    this.#readFd ??= openSync(this.path, READ);
    const buffer = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const read = readSync(this.#readFd, buffer, done, length - done, offset + done);
      if (read === 0)
        throw new Error(`${this.path} ends inside the line at byte ${offset}: the file was cut`);
      done += read;
    }
    return buffer.toString('utf8');
  }

  /**
   * Appends one line ("\n"-terminated) with one write and an fsync: the commit point. Answers where it landed. On a
   * failed write the log is cut back to where it was and a {@link CommitError} names the folder and its free space.
   */
  append(line: Buffer): { offset: number; length: number } {
    const fd = this.#appender();
    const offset = this.#end;
    try {
      appendWrite.write(fd, line);
      fsyncSync(fd);
    } catch (error) {
      this.#cutBack(fd, offset);
      throw this.#commitError(error);
    }
    this.#end += line.length;
    return { offset, length: line.length - 1 };
  }

  /** Closes the log's handles. */
  close(): void {
    if (this.#readFd !== null) closeSync(this.#readFd);
    if (this.#appendFd !== null) closeSync(this.#appendFd);
    this.#readFd = null;
    this.#appendFd = null;
  }

  #appender(): number {
    if (this.#appendFd !== null) return this.#appendFd;
    const fd = openSync(this.path, constants.O_RDWR | constants.O_CREAT | NO_FOLLOW, 0o666);
    try {
      const size = fstatSync(fd).size;
      const keep = committedLength(fd, size);
      if (keep !== size) {
        ftruncateSync(fd, keep);
        fsyncSync(fd);
      }
      this.#end = keep;
    } finally {
      closeSync(fd);
    }
    this.#appendFd = openSync(this.path, constants.O_WRONLY | constants.O_APPEND | NO_FOLLOW);
    syncDir(dirname(this.path));
    return this.#appendFd;
  }

  #cutBack(fd: number, offset: number): void {
    try {
      ftruncateSync(fd, offset);
      fsyncSync(fd);
    } catch {
      // cannot cut now: the torn bytes have no "\n" after the last commit, so readers ignore them and the next
      // open cuts them (committedLength)
      closeSync(fd);
      this.#appendFd = null;
    }
  }

  #commitError(error: unknown): CommitError {
    const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
    const folder = dirname(this.path);
    let free = '';
    try {
      const stats = statfsSync(folder);
      free = `; ${formatBytes(stats.bavail * stats.bsize)} free there`;
    } catch {
      /* free space unknown */
    }
    const what = code === 'ENOSPC' ? 'the disk is full' : `the write failed (${code})`;
    return new CommitError(
      `cannot commit a result to ${folder}: ${what}${free}; the image stays pending and runs again on resume`,
      code,
    );
  }
}

/** The length of the log's complete lines: up to and including its last "\n" (read backwards, in chunks). */
function committedLength(fd: number, size: number): number {
  const buffer = Buffer.allocUnsafe(1 << 16);
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - buffer.length);
    const read = readSync(fd, buffer, 0, end - start, start);
    const nl = buffer.subarray(0, read).lastIndexOf(0x0a);
    if (nl >= 0) return start + nl + 1;
    end = start;
  }
  return 0;
}

function formatBytes(bytes: number): string {
  if (bytes >= 1 << 30) return `${(bytes / (1 << 30)).toFixed(1)} GiB`;
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
  return `${Math.round(bytes / 1024)} KiB`;
}

/**
 * The complete lines of file `path` (never through a link) from byte `start` to its end as it is when opened, read in
 * fixed-size chunks: a line without its "\n" at the end (a torn tail) is not yielded.
 */
export function* scanLines(path: string, start = 0): Generator<LogLine> {
  const fd = openSync(path, READ);
  try {
    const end = fstatSync(fd).size;
    let buffer = Buffer.allocUnsafe(CHUNK);
    let filled = 0; // bytes of `buffer` holding data from `base`
    let base = start; // file offset of buffer[0]
    let position = start; // next file offset to read
    while (position < end || filled > 0) {
      if (position < end) {
        if (filled === buffer.length) {
          const bigger = Buffer.allocUnsafe(buffer.length * 2);
          buffer.copy(bigger, 0, 0, filled);
          buffer = bigger;
        }
        const read = readSync(fd, buffer, filled, Math.min(buffer.length - filled, end - position), position);
        if (read === 0) break;
        filled += read;
        position += read;
      }
      let from = 0;
      for (let nl = buffer.indexOf(0x0a, from); nl >= 0 && nl < filled; nl = buffer.indexOf(0x0a, from)) {
        yield { offset: base + from, length: nl - from, text: buffer.toString('utf8', from, nl) };
        from = nl + 1;
      }
      if (position >= end) return; // what is left has no "\n": a torn tail
      buffer.copy(buffer, 0, from, filled);
      filled -= from;
      base += from;
    }
  } finally {
    closeSync(fd);
  }
}
