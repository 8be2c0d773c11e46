import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { syntheticResult } from '../../testing/synthetic.ts';
import {
  decodeHeader,
  decodeLine,
  decodeSummary,
  encodeLine,
  RecordError,
  type ResultSummary,
} from './record.ts';

const text = (line: Buffer) => line.toString('utf8').slice(0, -1);

describe('the commit log line formats', () => {
  it('round-trips a 5-mask image with its comparisons exactly, in at most 40 KB', () => {
    // 5 masks × 4 crops × 21 settings = 420 candidates, every caption distinct: the compact form's worst case
    const result = syntheticResult(3, { masks: 5, textsPerMask: 84 });
    expect(result.candidates).toHaveLength(420);
    const line = encodeLine(result);
    expect(text(line).startsWith('{"record":2,')).toBe(true);
    expect(JSON.stringify(decodeLine(text(line)))).toBe(JSON.stringify(result));
    expect(line.length).toBeLessThanOrEqual(40 * 1024);
    // what format 1 (the whole object as JSON) took for the same image
    expect(JSON.stringify(result).length).toBeGreaterThan(150 * 1024);
  });

  it('reads a summary equal to the full result’s report fields, in both line formats', () => {
    // what the report reads of a result (a format-1 line's summary is the whole result)
    const summaryOf = (r: ResultSummary) => ({
      image: r.image,
      status: r.status,
      error: r.error,
      masks: r.masks,
      candidates: r.candidates.map((c) => ({
        mask: c.mask,
        index: c.index,
        method: c.method,
        comparison: c.comparison,
        text: c.text,
        scores: { uos: c.scores.uos, cos: c.scores.cos, dos: c.scores.dos },
      })),
    });
    const nan = syntheticResult(12, { masks: 2 });
    nan.candidates[0].beamScore = Number.NaN; // written in format 1
    const results = [
      syntheticResult(10, { masks: 5, textsPerMask: 30 }),
      syntheticResult(11, { masks: 1 }),
      syntheticResult(13, { status: 'failed' }),
      nan,
    ];
    const formats = results.map((result) => {
      const line = text(encodeLine(result));
      expect(JSON.stringify(summaryOf(decodeSummary(line)))).toBe(
        JSON.stringify(summaryOf(decodeLine(line))),
      );
      return line.startsWith('{"record":2,') ? 2 : 1;
    });
    expect(formats).toEqual([2, 2, 2, 1]);
    // the summary's candidates share one scores object per distinct text (what keeps a paper-size report light)
    const summary = decodeSummary(text(encodeLine(results[0])));
    const key = (c: ResultSummary['candidates'][number]) => JSON.stringify([c.text, c.scores]);
    const first = new Map(summary.candidates.map((c) => [key(c), c.scores] as const).reverse());
    expect(first.size).toBeLessThan(summary.candidates.length);
    expect(summary.candidates.every((c) => first.get(key(c)) === c.scores)).toBe(true);
  });

  it('reads the header without inflating the body', () => {
    const result = { ...syntheticResult(9), revision: 4 };
    const header = decodeHeader(text(encodeLine(result)));
    expect(header).toEqual({
      id: 9,
      revision: 4,
      status: 'done',
      name: '9.png',
      sha256: result.image.sha256,
    });
  });

  it('writes format 1 for what the compact form cannot hold exactly (a NaN beam score), and reads format 1 as it is', () => {
    const result = syntheticResult(2, { masks: 2 });
    result.candidates[0].beamScore = Number.NaN; // JSON writes null: only the plain form keeps what readers saw
    const line = encodeLine(result);
    expect(text(line).startsWith('{"version":1,')).toBe(true);
    expect(decodeLine(text(line))).toEqual(JSON.parse(JSON.stringify(result)));
  });

  it('round-trips failed images, a result without revision, single-mask images and decisions that are not aligned', () => {
    const failed = syntheticResult(4, { status: 'failed' });
    const single = syntheticResult(5, { masks: 1 });
    const { revision: _drop, ...old } = syntheticResult(6, { masks: 2 });
    void _drop;
    const misaligned = syntheticResult(7, { masks: 2 });
    misaligned.decisions = misaligned.decisions.slice(1);
    for (const result of [failed, single, old, misaligned]) {
      const line = text(encodeLine(result as never));
      expect(line.startsWith('{"record":2,')).toBe(true);
      expect(JSON.stringify(decodeLine(line))).toBe(JSON.stringify(result));
    }
  });

  it('keeps each candidate’s released text in format 2 (suffix, whole text, or none), and reads records without it', () => {
    const result = syntheticResult(8, { masks: 2 });
    const [a, b, c] = result.candidates;
    // hand-set: a trailing space (eot), a pad-stopped "!" run, and a text that does not start with the trimmed one
    result.candidates = result.candidates.map((candidate) => {
      const { scores, ...rest } = candidate;
      const releasedText =
        candidate === a
          ? `${a.text} `
          : candidate === b
            ? `${b.text} !!!!`
            : candidate === c
              ? 'ünwant'
              : undefined;
      return { ...rest, ...(releasedText !== undefined ? { releasedText } : {}), scores } as typeof candidate;
    });
    const line = text(encodeLine(result));
    expect(line.startsWith('{"record":2,')).toBe(true);
    const decoded = decodeLine(line);
    expect(JSON.stringify(decoded)).toBe(JSON.stringify(result));
    expect(decoded.candidates.slice(0, 4).map((candidate) => candidate.releasedText)).toEqual([
      `${a.text} `,
      `${b.text} !!!!`,
      'ünwant',
      undefined,
    ]);
    // a body written before the field (none of its candidates has one) reads as before
    const old = syntheticResult(8, { masks: 2 });
    expect(JSON.stringify(decodeLine(text(encodeLine(old))))).toBe(JSON.stringify(old));
  });

  it('refuses records of a newer version naming both versions, and names damage without quoting the line', () => {
    expect(() => decodeLine('{"record":3,"image":{"id":1}}')).toThrow(
      'it was written by a newer Pseudo-RIS Studio (record format 3; this version reads results version 1 and record format up to 2)',
    );
    expect(() => decodeLine('{"version":2,"image":{"id":1}}')).toThrow(/results version 2/);
    const torn = '{"record":2,"revision":0,"image":{"id":1,"name":"secret-name.png"';
    expect(() => decodeLine(torn)).toThrow('it is not complete JSON (truncated or damaged)');
    const badBody = JSON.stringify({
      record: 2,
      image: { id: 1 },
      status: 'done',
      z: deflateRawSync('{').toString('base64').slice(2),
    });
    expect(() => decodeLine(badBody)).toThrow(RecordError);
    expect(() => decodeHeader('{"record":2,"revision":-1,"image":{"id":1},"status":"done"}')).toThrow(
      'it has revision -1, expected an integer ≥ 0',
    );
  });
});
