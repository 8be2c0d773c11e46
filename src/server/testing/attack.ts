/**
 * Tools of the served mode's security suite: raw WebSocket client frames, the close code in the server's frames, and
 * an exact snapshot of a folder (listing, sizes, times and bytes) to prove it was neither read into nor written.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Every entry below `dir` (links not followed) with its size, modification time and bytes, one line each, sorted. */
export function folderSnapshot(dir: string): string {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((e) => {
      const path = join(e.parentPath, e.name);
      const info = statSync(path);
      return `${path}:${info.size}:${info.mtimeMs}:${e.isFile() ? readFileSync(path).toString('base64') : ''}`;
    })
    .sort()
    .join('\n');
}

/** One client frame: FIN/RSV/opcode byte, masked unless told otherwise, an optional declared length. */
export function frame(
  opcode: number,
  payload: Buffer,
  options: { fin?: boolean; rsv?: number; masked?: boolean; declared?: bigint } = {},
): Buffer {
  const { fin = true, rsv = 0, masked = true } = options;
  const length = options.declared ?? BigInt(payload.length);
  const head = [(fin ? 0x80 : 0) | (rsv << 4) | opcode];
  const maskBit = masked ? 0x80 : 0;
  let extended = Buffer.alloc(0);
  if (length < 126n) head.push(maskBit | Number(length));
  else if (length < 65536n) {
    head.push(maskBit | 126);
    extended = Buffer.alloc(2);
    extended.writeUInt16BE(Number(length));
  } else {
    head.push(maskBit | 127);
    extended = Buffer.alloc(8);
    extended.writeBigUInt64BE(length);
  }
  const key = masked ? Buffer.from([1, 2, 3, 4]) : Buffer.alloc(0);
  const body = Buffer.from(payload.map((b, i) => (masked ? b ^ key[i % 4] : b)));
  return Buffer.concat([Buffer.from(head), extended, key, body]);
}

/** The code of the server's close frame (opcode 8) among the frames it sent, or null when it sent none. */
export function closeCode(out: Buffer): number | null {
  let offset = 0;
  while (offset + 2 <= out.length) {
    const opcode = out[offset] & 0x0f;
    let length = out[offset + 1] & 0x7f;
    let start = offset + 2;
    if (length === 126) {
      length = out.readUInt16BE(offset + 2);
      start += 2;
    } else if (length === 127) {
      length = Number(out.readBigUInt64BE(offset + 2));
      start += 8;
    }
    if (opcode === 8) return length >= 2 ? out.readUInt16BE(start) : null;
    offset = start + length;
  }
  return null;
}
