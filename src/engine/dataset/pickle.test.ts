import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { pickleDumps, pickleListBody, PickleListWriter, pickleLoads, type PickleValue } from './pickle.ts';

function pythonLoads(bytes: Uint8Array): unknown {
  const script =
    'import pickle,sys,json; v=pickle.load(sys.stdin.buffer, fix_imports=True); print(json.dumps(v))';
  return JSON.parse(execFileSync('python3', ['-c', script], { input: bytes }).toString());
}

describe('pickleDumps (protocol 2)', () => {
  it('writes the byte-level layout of formats.md §1.4', () => {
    expect(Buffer.from(pickleDumps([{ sent_ids: [0] }])).toString('hex')).toBe(
      '80025d287d2858080000007365' + '6e745f6964735d284b00657565' + '2e',
    );
  });

  it('loads in python3 as the same value, including ints of every width, floats, unicode and nesting', () => {
    const value = {
      small: 7,
      byte: 255,
      u16: 65535,
      i32: -5,
      big: 900100259690,
      negative: -3000000000,
      zero: 0,
      float: 1.25,
      text: 'café ☕ "quoted"',
      empty: '',
      list: [],
      dict: {},
      truth: true,
      lie: false,
      none: null,
      nested: [{ tokens: ['a', 'red', 'circle'], sent_id: 3 }],
    };
    expect(pythonLoads(pickleDumps(value))).toEqual(value);
  });

  it('writes strings of 256 bytes and more', () => {
    const long = 'x'.repeat(70000);
    expect(pythonLoads(pickleDumps([long]))).toEqual([long]);
  });

  it('rejects non-finite numbers, naming the path', () => {
    expect(() => pickleDumps({ refs: [{ score: Number.NaN }] })).toThrow('pickle: $.refs[0].score is NaN');
  });

  it('reads back what it wrote (for appending to an export), and refuses pickles it did not write', () => {
    const value = {
      refs: [
        {
          sent_ids: [0, 65536, 900100259690],
          raw: 'café "x"',
          score: -1.25,
          ok: true,
          none: null,
          empty: [],
        },
      ],
      negative: -3000000000,
      small: -5,
    };
    expect(pickleLoads(pickleDumps(value))).toEqual(value);
    const python = execFileSync('python3', [
      '-c',
      'import pickle,sys; sys.stdout.buffer.write(pickle.dumps({1, 2}, 2))',
    ]);
    expect(() => pickleLoads(python)).toThrow('only pickles written by Pseudo-RIS Studio can be read back');
  });
});

describe('PickleListWriter (streamed refs)', () => {
  const streamed = (items: PickleValue[], earlier?: Uint8Array): Uint8Array => {
    const chunks: Uint8Array[] = [];
    const writer = new PickleListWriter((bytes) => chunks.push(bytes));
    if (earlier) {
      const { body, count } = pickleListBody(earlier);
      writer.items(body, count);
    }
    for (const item of items) writer.item(item);
    writer.end();
    return Buffer.concat(chunks);
  };
  const refs = (from: number, n: number): PickleValue[] =>
    Array.from({ length: n }, (_, k) => ({ ref_id: from + k, sentences: [{ raw: `the cup ${from + k}` }] }));

  it('writes byte for byte what pickleDumps writes for the whole list, empty or not', () => {
    for (const n of [0, 1, 3, 300])
      expect(Buffer.from(streamed(refs(0, n)))).toEqual(Buffer.from(pickleDumps(refs(0, n))));
    expect(Buffer.from(streamed([])).toString('hex')).toBe('80025d2e');
  });

  it('continues an earlier pickle from its raw items, as loading and dumping the union would', () => {
    for (const [a, b] of [
      [0, 0],
      [0, 2],
      [2, 0],
      [3, 4],
    ]) {
      const earlier = pickleDumps(refs(0, a));
      const union = streamed(refs(a, b), earlier);
      expect(Buffer.from(union)).toEqual(Buffer.from(pickleDumps(refs(0, a + b))));
      expect(pythonLoads(union)).toEqual(refs(0, a + b));
    }
  });

  it('reads a list of 200,000 items back (no spread into one call)', () => {
    const big = streamed(Array.from({ length: 200_000 }, (_, k) => k));
    expect((pickleLoads(big) as number[]).length).toBe(200_000);
    expect(pickleListBody(big).count).toBe(200_000);
  });

  it('refuses as an earlier list a pickle that is not one, or is cut short', () => {
    expect(() => pickleListBody(pickleDumps({ a: 1 }))).toThrow('the top-level value is not a list');
    const whole = pickleDumps(refs(0, 3));
    expect(() => pickleListBody(whole.subarray(0, whole.length - 5))).toThrow('can be read back');
  });
});
