/**
 * A minimal Python pickle writer (protocol 2) for the RefCOCO `refs(<splitBy>).p` file (formats.md §1.4).
 *
 * Writes lists, dicts, str, int, float, bool and None with the protocol-2 opcodes only, no memo: readable by
 * Python 2.7 `cPickle` (the original refer.py) and every Python 3 `pickle.load`. Strings are BINUNICODE (UTF-8), so
 * non-ASCII text loads without `encoding=`.
 */

/** Values the writer accepts. */
export type PickleValue =
  null | boolean | number | bigint | string | PickleValue[] | { [key: string]: PickleValue };

/** Serializes a value as a protocol-2 pickle: `80 02` + value + `.`. */
export function pickleDumps(value: PickleValue): Uint8Array {
  const out = new ByteWriter();
  out.bytes(0x80, 0x02);
  write(out, value, '$');
  out.bytes(0x2e);
  return out.finish();
}

/**
 * Writes a pickle of one top-level list item by item, byte for byte what {@link pickleDumps} writes for the whole
 * list (`80 02 5d`, then `28` items `65` when there are any, then `2e`), so a list of 100k refs never lives whole.
 */
export class PickleListWriter {
  private count = 0;

  constructor(private readonly sink: (bytes: Uint8Array) => void) {
    sink(Uint8Array.of(0x80, 0x02, 0x5d)); // PROTO 2, EMPTY_LIST
  }

  /** Appends one item. */
  item(value: PickleValue): void {
    const out = new ByteWriter();
    if (this.count === 0) out.bytes(0x28); // MARK before the first item
    write(out, value, `$[${this.count}]`);
    this.sink(out.finish());
    this.count++;
  }

  /** Appends items already pickled by this writer (the body {@link pickleListBody} returns), `count` of them. */
  items(body: Uint8Array, count: number): void {
    if (count === 0) return;
    if (this.count === 0) this.sink(Uint8Array.of(0x28));
    this.sink(body);
    this.count += count;
  }

  /** Ends the list and the pickle. */
  end(): void {
    this.sink(this.count > 0 ? Uint8Array.of(0x65, 0x2e) : Uint8Array.of(0x2e)); // APPENDS STOP, or STOP
  }
}

/**
 * The items of a top-level-list pickle that {@link pickleDumps} or {@link PickleListWriter} wrote, as raw bytes (to
 * copy into a new list) with their count. The whole file is checked as {@link pickleLoads} checks it, without building
 * its values.
 */
export function pickleListBody(bytes: Uint8Array): { body: Uint8Array; count: number } {
  const { value: top, topItems } = parse(bytes, false);
  if (top !== LIST) throw new Error('pickle: the top-level value is not a list');
  if (bytes.length === 4) return { body: bytes.subarray(4, 4), count: 0 }; // 80 02 5d 2e
  // 80 02 5d 28 <items> 65 2e: a list written whole has one MARK … APPENDS around all its items
  if (bytes[3] !== 0x28 || bytes[bytes.length - 2] !== 0x65)
    throw new Error(
      'pickle: the list is not one MARK … APPENDS; only pickles written by Pseudo-RIS Studio can be read back',
    );
  return { body: bytes.subarray(4, bytes.length - 2), count: topItems };
}

function write(out: ByteWriter, value: PickleValue, path: string): void {
  if (value === null) return out.bytes(0x4e); // NONE
  if (value === true) return out.bytes(0x88); // NEWTRUE
  if (value === false) return out.bytes(0x89); // NEWFALSE
  if (typeof value === 'bigint') return writeInt(out, value);
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) return writeInt(out, value);
    if (Number.isInteger(value)) return writeInt(out, BigInt(value));
    if (!Number.isFinite(value))
      throw new Error(`pickle: ${path} is ${value}; only finite numbers can be written`);
    out.bytes(0x47); // BINFLOAT: IEEE-754 double, big-endian
    return out.f64be(value);
  }
  if (typeof value === 'string') {
    out.bytes(0x58); // BINUNICODE + u32 LE length
    return out.utf8(value);
  }
  if (Array.isArray(value)) {
    out.bytes(0x5d); // EMPTY_LIST
    if (value.length === 0) return;
    out.bytes(0x28); // MARK
    value.forEach((item, i) => write(out, item, `${path}[${i}]`));
    return out.bytes(0x65); // APPENDS
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value);
    out.bytes(0x7d); // EMPTY_DICT
    if (entries.length === 0) return;
    out.bytes(0x28); // MARK
    for (const [key, item] of entries) {
      write(out, key, path);
      write(out, item, `${path}.${key}`);
    }
    return out.bytes(0x75); // SETITEMS
  }
  throw new Error(`pickle: ${path} has unsupported type ${typeof value}`);
}

function writeInt(out: ByteWriter, value: number | bigint): void {
  // the int opcodes by range; numbers stay numbers (no BigInt per int), only LONG1 needs one
  if (value >= 0 && value <= 0xff) return out.bytes(0x4b, Number(value)); // BININT1
  if (value >= 0 && value <= 0xffff) {
    out.bytes(0x4d, Number(value) & 0xff, Number(value) >> 8); // BININT2, LE
    return;
  }
  if (value >= -(2 ** 31) && value < 2 ** 31) {
    out.bytes(0x4a); // BININT, i32 LE
    return out.i32(Number(value));
  }
  value = BigInt(value);
  // LONG1: minimal two's-complement little-endian bytes
  const bytes: number[] = [];
  let v = value;
  for (;;) {
    const byte = Number(v & 0xffn);
    bytes.push(byte);
    v >>= 8n;
    if ((v === 0n && (byte & 0x80) === 0) || (v === -1n && (byte & 0x80) !== 0)) break;
  }
  out.bytes(0x8a, bytes.length, ...bytes);
}

/** A growable byte buffer (one allocation per doubling, not one array per opcode). */
class ByteWriter {
  private buffer = Buffer.allocUnsafe(256);
  private length = 0;

  bytes(...values: number[]): void {
    this.reserve(values.length);
    for (const v of values) this.buffer[this.length++] = v;
  }

  i32(value: number): void {
    this.reserve(4);
    this.buffer.writeInt32LE(value, this.length);
    this.length += 4;
  }

  f64be(value: number): void {
    this.reserve(8);
    this.buffer.writeDoubleBE(value, this.length);
    this.length += 8;
  }

  /** BINUNICODE's payload: the string's UTF-8 bytes after their u32 length, encoded in place. */
  utf8(text: string): void {
    this.reserve(4 + 3 * text.length); // UTF-8 takes at most 3 bytes per UTF-16 unit
    const written = this.buffer.write(text, this.length + 4, 'utf8');
    this.buffer.writeUInt32LE(written, this.length);
    this.length += 4 + written;
  }

  finish(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }

  private reserve(n: number): void {
    if (this.length + n <= this.buffer.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + n));
    this.buffer.copy(bigger, 0, 0, this.length);
    this.buffer = bigger;
  }
}

/**
 * Reads back a pickle that {@link pickleDumps} wrote (to append to an earlier export). Accepts exactly the opcodes the
 * writer emits (ints decode as numbers when safe, else bigint); anything else is refused as not ours.
 */
export function pickleLoads(bytes: Uint8Array): PickleValue {
  return parse(bytes, true).value as PickleValue;
}

/** Stands for a list when values are not built (`parse(…, false)`): only the structure is checked. */
const LIST = Symbol('list');
const DICT = Symbol('dict');

/** Parses a whole pickle; `topItems` counts what APPENDS added to the top-level list. */
function parse(bytes: Uint8Array, build: boolean): { value: unknown; topItems: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: unknown[] = [];
  const marks: number[] = [];
  const fail = (what: string, at: number): never => {
    throw new Error(
      `pickle: ${what} at byte ${at}; only pickles written by Pseudo-RIS Studio can be read back`,
    );
  };
  if (bytes[0] !== 0x80 || bytes[1] !== 0x02) fail('not a protocol-2 pickle', 0);
  let i = 2;
  let topItems = 0;
  const popMark = (at: number): unknown[] => {
    const mark = marks.pop();
    if (mark === undefined) return fail('no MARK', at);
    return stack.splice(mark);
  };
  const container = (at: number, kind: symbol): unknown => {
    const target = stack[stack.length - 1];
    const ok = build ? (kind === LIST ? Array.isArray(target) : isDict(target)) : target === kind;
    return ok
      ? target
      : fail(`${kind === LIST ? 'APPENDS' : 'SETITEMS'} without its ${kind === LIST ? 'list' : 'dict'}`, at);
  };
  for (;;) {
    if (i >= bytes.length) fail('truncated', i);
    const op = bytes[i++];
    switch (op) {
      case 0x2e: // STOP
        if (stack.length !== 1 || marks.length > 0) fail('unbalanced stack', i - 1);
        return { value: stack[0], topItems };
      case 0x4e:
        stack.push(null);
        break;
      case 0x88:
        stack.push(true);
        break;
      case 0x89:
        stack.push(false);
        break;
      case 0x4b:
        stack.push(bytes[i]);
        i += 1;
        break;
      case 0x4d:
        stack.push(view.getUint16(i, true));
        i += 2;
        break;
      case 0x4a:
        stack.push(view.getInt32(i, true));
        i += 4;
        break;
      case 0x8a: {
        const n = bytes[i++];
        let v = 0n;
        for (let k = n - 1; k >= 0; k--) v = (v << 8n) | BigInt(bytes[i + k]);
        if (n > 0 && bytes[i + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        i += n;
        stack.push(
          v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v,
        );
        break;
      }
      case 0x47:
        stack.push(view.getFloat64(i, false));
        i += 8;
        break;
      case 0x58: {
        const n = view.getUint32(i, true);
        i += 4;
        if (i + n > bytes.length) fail('truncated string', i);
        stack.push(build ? Buffer.from(bytes.subarray(i, i + n)).toString('utf8') : '');
        i += n;
        break;
      }
      case 0x5d:
        stack.push(build ? [] : LIST);
        break;
      case 0x7d:
        stack.push(build ? {} : DICT);
        break;
      case 0x28:
        marks.push(stack.length);
        break;
      case 0x65: {
        const items = popMark(i - 1);
        const list = container(i - 1, LIST);
        if (build) for (const item of items) (list as unknown[]).push(item); // no spread: 100k+ items
        if (stack.length === 1) topItems += items.length;
        break;
      }
      case 0x75: {
        const items = popMark(i - 1);
        const dict = container(i - 1, DICT);
        if (items.length % 2 !== 0) fail('SETITEMS with an odd item count', i - 1);
        if (build)
          for (let k = 0; k + 1 < items.length; k += 2)
            (dict as Record<string, unknown>)[items[k] as string] = items[k + 1];
        break;
      }
      default:
        fail(`opcode 0x${op.toString(16)}`, i - 1);
    }
  }
}

function isDict(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
