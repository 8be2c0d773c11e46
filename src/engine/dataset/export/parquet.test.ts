import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { beforeAll, describe, expect, it } from 'vitest';
import { RESULTS_FILE } from '../../pipeline/index.ts';
import { writeTestProject } from '../../testing/project.ts';
import { exportProject } from '../export.ts';

let dir: string;
let project: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pseudo-ris-parquet-'));
  ({ project } = await writeTestProject(dir));
});

/** Every row of a Parquet file as DuckDB (an independent reader) reads it. */
async function readWithDuckDb(file: string): Promise<Record<string, unknown>[]> {
  const db = await DuckDBInstance.create(':memory:');
  const connection = await db.connect();
  try {
    const reader = await connection.runAndReadAll(
      `SELECT * FROM read_parquet('${file.replace(/'/g, "''")}')`,
    );
    return reader.getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
  }
}

describe('parquet export', () => {
  it('writes one row per candidate that DuckDB reads back as the JSONL export says, matching the pinned rows', async () => {
    const out = join(dir, 'parquet');
    const summary = await exportProject(project, { format: 'parquet', out, tau: 1.3 });
    expect(summary.files).toContain('candidates.parquet');
    const rows = await readWithDuckDb(join(out, 'candidates.parquet'));
    await exportProject(project, { format: 'jsonl', out: join(dir, 'jsonl'), tau: 1.3 });
    const jsonl = readFileSync(join(dir, 'jsonl', 'candidates.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows).toHaveLength(jsonl.length);
    rows.forEach((row, k) => {
      const j = jsonl[k];
      expect([row.image_id, row.mask, row.candidate, row.text, row.method, row.kept, row.reason]).toEqual([
        j.image_id,
        j.mask,
        j.candidate,
        j.text,
        j.method,
        j.kept,
        j.reason,
      ]);
      expect(row.tokens).toEqual(j.tokens);
      expect(row.dos).toEqual(j.dos);
      expect(row.cos).toEqual(j.cos);
    });
    const golden = join(import.meta.dirname, 'fixtures', 'parquet-rows.json');
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(golden, `${JSON.stringify(rows, null, 1)}\n`);
    expect(rows).toEqual(JSON.parse(readFileSync(golden, 'utf8')));
  });
});

describe('the compact store format', () => {
  it('gives byte-identical exports to the same results written in the old one-object-per-line format', async () => {
    // the old format: every line the whole ImageResult, as results.jsonl was before the compact records
    const old = join(dir, 'old-format');
    cpSync(project, old, { recursive: true });
    const { readResults } = await import('../../pipeline/index.ts');
    const lines = readResults(project).map((r) => JSON.stringify(r));
    writeFileSync(join(old, RESULTS_FILE), `${lines.join('\n')}\n`);
    expect(readFileSync(join(project, RESULTS_FILE), 'utf8')).toMatch(/^\{"record":2,/);
    for (const format of ['refcoco', 'cris', 'csv', 'jsonl', 'masks', 'parquet'] as const) {
      const a = join(dir, 'identical', 'new', format);
      const b = join(dir, 'identical', 'old', format);
      await exportProject(project, { format, out: a });
      await exportProject(old, { format, out: b });
      const files = (root: string) =>
        (readdirSync(root, { recursive: true }) as string[])
          .filter((f) => !f.endsWith('export-record.json') && f.includes('.'))
          .sort();
      expect(files(a)).toEqual(files(b));
      for (const f of files(a))
        expect(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), `${format}/${f}`).toBe(true);
    }
  });
});
