/**
 * CRIS / ETRIS (formats.md §2): `anns/<folder>/<split>.json` (one entry per ref) and `masks/<folder>/<segment_id>.png`
 * (0/255), images under `images/train2014` — what CRIS's `tools/data_process.py` writes and `folder2lmdb.py` reads.
 * `<folder>` is CRIS's name: refcoco, refcoco+, refcocog_u (splitBy umd) or refcocog_g (google). Appending adds to
 * the earlier export's split files; segment and sentence ids continue after its own.
 */
import { join } from 'node:path';
import { decodeRle, encodeMaskPng } from '../../image/index.ts';
import type { ExportContext, StreamedFile } from './context.ts';
import { crisFolder } from './naming.ts';
import { IMAGE_DIR, datasetExporter, planRecord, splitSummaries, type DatasetPlan } from './plan.ts';

/**
 * Writes the CRIS layout. Each split file is streamed (earlier entries first) to a temp file that replaces the
 * earlier one only after every mask and image is written, byte for byte what building the lists whole wrote.
 */
export const exportCris = datasetExporter(writeCris);

async function writeCris(context: ExportContext, plan: DatasetPlan): Promise<void> {
  const { writer, summary } = context;
  const folder = crisFolder(plan.dataset, plan.splitBy);
  const bySplit = new Map<string, { out: StreamedFile; entries: number }>();
  try {
    for (const s of plan.splitCounts) {
      const file = join('anns', folder, `${s.name}.json`);
      // read through the writer's opened folder (the appended export's): a link there is not followed
      const earlier = plan.previous ? writer.readJson<unknown[]>(file) : null;
      if (earlier !== null && !Array.isArray(earlier))
        throw new Error(`cannot append to ${plan.previous?.dir}: ${file} is not a list`);
      const out = writer.stream(file);
      bySplit.set(s.name, { out, entries: 0 });
      out.write('[');
      for (const entry of earlier ?? []) add(s.name, entry);
    }
    for (const ref of plan.refs()) {
      const [x, y, w, h] = ref.mask.bbox;
      add(ref.split, {
        bbox: [Math.trunc(x), Math.trunc(y), Math.trunc(x) + Math.trunc(w), Math.trunc(y) + Math.trunc(h)],
        cat: 0,
        segment_id: ref.refId,
        img_name: ref.fileName,
        img_id: ref.imageId,
        sentences: ref.sentences.map((_, idx) => ({
          idx,
          sent_id: ref.sentIds[idx],
          sent: ref.tokens[idx].join(' '),
        })),
        sentences_num: ref.sentences.length,
      });
      writer.file(join('masks', folder, `${ref.refId}.png`), await encodeMaskPng(decodeRle(ref.mask.rle)));
      summary.expressions += ref.sentences.length;
    }
    let done = 0;
    for (const image of plan.images.values()) {
      await writer.image(image.record, join(IMAGE_DIR, image.fileName));
      summary.images++;
      context.options.onProgress?.(++done, plan.images.size);
    }
  } catch (error) {
    for (const { out } of bySplit.values()) out.abort();
    throw error;
  }
  // the split files last: a failed image (or append) leaves the earlier index intact
  const files = [...bySplit.values()];
  files.forEach(({ out }, k) => {
    try {
      out.write(']');
      out.commit();
    } catch (error) {
      for (const rest of files.slice(k + 1)) rest.out.abort();
      throw error;
    }
  });
  summary.refs = plan.refCount;
  summary.splits = splitSummaries(plan);
  Object.assign(context.resolved, planRecord(plan, context), {
    crisFolder: folder,
    maskRepresentation: 'png-0-255',
  });

  function add(split: string, entry: unknown): void {
    const file = bySplit.get(split)!;
    file.out.write((file.entries++ > 0 ? ',' : '') + JSON.stringify(entry));
  }
}
