import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { pickleDumps, pickleLoads } from './pickle.ts';

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
