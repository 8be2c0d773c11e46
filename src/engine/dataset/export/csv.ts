/**
 * The reference CSV (formats.md §2.5): one row per mask with all its captions and their DoS (`doc`); with one mask
 * the CoS instead and `one_mask = 1`. The reference filters by `doc > doc_value` when it loads, so every
 * non-comparison caption is written; pass the export's τ as `doc_value`. Masks go to `pseudo_masks/<img_id>/<seg_id>.png`.
 * Review: rejected candidates and deleted masks are left out, edited texts replace generated ones. The CSV's own
 * filter runs when the reference loads it, so an accepted candidate below τ is written but only counted here.
 */
import { decideResult, reviewMark } from '../../filter/index.ts';
import { contextText, csvField, finite, type ExportContext } from './context.ts';
import { writeMaskPngs } from './masks.ts';

/** Writes `pseudo_supervision.csv` and `pseudo_masks/`. */
export async function exportCsv(context: ExportContext): Promise<void> {
  const { results, policy, review, writer, summary } = context;
  const header = ['index', 'img_name', 'img_id', 'seg_id', 'num_sent', 'pseudo_caption', 'doc', 'one_mask'];
  const file = writer.stream('pseudo_supervision.csv');
  file.write(`${header.join(',')}\n`);
  let index = 0;
  try {
    for (const result of results) {
      const oneMask = result.masks.length === 1 ? 1 : 0;
      const decisions = decideResult(result, policy, review);
      for (const mask of result.masks) {
        const candidates = result.candidates.filter(
          (c) =>
            c.mask === mask.index &&
            !c.comparison &&
            !(['rejected', 'mask-deleted'] as const).some(
              (m) => m === reviewMark(review, result.image.id, c.mask, c.index),
            ),
        );
        if (candidates.length === 0) continue;
        const captions = candidates.map((c) => contextText(context, result.image.id, c).text);
        const doc = candidates.map((c) => finite(oneMask ? c.scores.cos : c.scores.dos));
        file.write(
          `${[
            index++,
            result.image.name,
            result.image.id,
            mask.index,
            captions.length,
            JSON.stringify(captions),
            JSON.stringify(doc),
            oneMask,
          ]
            .map(csvField)
            .join(',')}\n`,
        );
        summary.expressions += decisions.filter((d) => d.kept && d.mask === mask.index).length;
        summary.refs++;
      }
    }
  } catch (error) {
    file.abort();
    throw error;
  }
  file.commit();
  await writeMaskPngs(context, 'pseudo_masks');
  context.resolved.maskRepresentation = 'png-0-255';
}
