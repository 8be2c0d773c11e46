/**
 * Candidates as a table for analysis (`candidates.parquet`): one row per candidate with its image, mask, crop,
 * method, setting, text, token ids, UoS/CoS/DoS/θ, kept flag and reason at the export's τ and review mark —
 * what pandas, polars, DuckDB and Hugging Face `datasets` read directly.
 *
 * Written with hyparquet-writer (a maintained, dependency-free Parquet writer) one row group per ~64k candidates, so
 * a paper-size project streams through in bounded memory; into a temp file, renamed when complete.
 */
import { fileWriter, ParquetWriter, schemaFromColumnData, type ColumnSource } from 'hyparquet-writer';
import type { CandidateResult, ImageResult } from '../../../shared/results.ts';
import { decideResult, reviewMark } from '../../filter/index.ts';
import { contextText, type ExportContext } from './context.ts';

/** Candidates per row group. */
const ROW_GROUP = 65_536;

/** The table's columns, in order: name, Parquet basic type, value of a candidate. */
const COLUMNS: Array<[string, 'INT32' | 'STRING' | 'DOUBLE' | 'BOOLEAN', (row: Row) => unknown]> = [
  ['image_id', 'INT32', (r) => r.result.image.id],
  ['img_name', 'STRING', (r) => r.result.image.name],
  ['mask', 'INT32', (r) => r.c.mask],
  ['candidate', 'INT32', (r) => r.c.index],
  ['crop', 'STRING', (r) => r.c.cropKey],
  ['method', 'STRING', (r) => r.c.method],
  ['setting', 'STRING', (r) => r.c.settingKey],
  ['text', 'STRING', (r) => r.text],
  ['generated_text', 'STRING', (r) => r.c.text],
  ['tokens', 'INT32', (r) => r.c.tokens],
  ['uos', 'DOUBLE', (r) => r.c.scores.uos],
  ['cos', 'DOUBLE', (r) => r.c.scores.cos],
  ['dos', 'DOUBLE', (r) => r.c.scores.dos],
  ['theta', 'DOUBLE', (r) => r.c.scores.theta],
  ['confused_with', 'INT32', (r) => r.c.scores.confusedWith],
  ['head_noun', 'STRING', (r) => r.c.scores.headNoun],
  ['comparison', 'BOOLEAN', (r) => r.c.comparison],
  ['kept', 'BOOLEAN', (r) => r.kept],
  ['reason', 'STRING', (r) => r.reason],
  ['review', 'STRING', (r) => r.review],
];

interface Row {
  result: ImageResult;
  c: CandidateResult;
  text: string;
  kept: boolean;
  reason: string;
  review: string | null;
}

/** Writes `candidates.parquet`. */
export async function exportParquet(context: ExportContext): Promise<void> {
  const { results, policy, review, writer, summary } = context;
  const file = writer.stream('candidates.parquet');
  try {
    const parquet = new ParquetWriter({
      writer: fileWriter(file.temp),
      schema: schema(),
      createdBy: 'Pseudo-RIS Studio',
    });
    let rows: Row[] = [];
    const flush = () => {
      if (rows.length === 0) return;
      parquet.write({ columnData: columnData(rows), rowGroupSize: ROW_GROUP });
      rows = [];
    };
    for (const result of results) {
      const decisions = decideResult(result, policy, review);
      result.candidates.forEach((c, k) => {
        rows.push({
          result,
          c,
          text: contextText(context, result.image.id, c).text,
          kept: decisions[k].kept,
          reason: decisions[k].reason,
          review: reviewMark(review, result.image.id, c.mask, c.index),
        });
        if (decisions[k].kept) summary.expressions++;
      });
      summary.images++;
      if (rows.length >= ROW_GROUP) flush();
    }
    flush();
    parquet.finish();
    file.commit();
  } catch (error) {
    file.abort();
    throw error;
  }
  await Promise.resolve();
}

function columnData(rows: readonly Row[]): ColumnSource[] {
  return COLUMNS.map(([name, type, value]) => ({
    name,
    data: rows.map(value) as never,
    ...(name === 'tokens' ? {} : { type }),
  }));
}

/** The schema: every column optional (nullable scores) except ids; `tokens` a LIST<INT32>. */
function schema() {
  const sample: Row = {
    result: { image: { id: 0, name: '' } } as ImageResult,
    c: { mask: 0, index: 0, tokens: [], scores: {} } as unknown as CandidateResult,
    text: '',
    kept: false,
    reason: '',
    review: null,
  };
  const base = schemaFromColumnData({ columnData: columnData([sample]).filter((c) => c.name !== 'tokens') });
  const at = COLUMNS.findIndex(([name]) => name === 'tokens') + 1; // +1: the root element
  base.splice(
    at,
    0,
    { name: 'tokens', repetition_type: 'REQUIRED', converted_type: 'LIST', num_children: 1 },
    { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    { name: 'element', type: 'INT32', repetition_type: 'REQUIRED' },
  );
  base[0] = { ...base[0], num_children: COLUMNS.length };
  return base;
}
