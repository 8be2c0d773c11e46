/** The reference's mask layout: `<dir>/<img_id>/<seg_id>.png`, 0/255, the image's masks numbered from 0. */
import { join } from 'node:path';
import { decodeRle, encodeMaskPng } from '../../image/index.ts';
import type { ExportContext } from './context.ts';

/** Writes every mask of every done image under `dir` (`masks` for the masks format, `pseudo_masks` beside the CSV). */
export async function writeMaskPngs(context: ExportContext, dir: string): Promise<void> {
  const { writer, summary, results, resultCount } = context;
  let done = 0;
  for (const result of results) {
    for (const mask of result.masks) {
      writer.file(
        join(dir, String(result.image.id), `${mask.index}.png`),
        await encodeMaskPng(decodeRle(mask.rle)),
      );
    }
    if (summary.format === 'masks') summary.refs += result.masks.length;
    context.options.onProgress?.(++done, resultCount);
  }
  summary.images = resultCount;
}

/** The `masks` format. */
export async function exportMasks(context: ExportContext): Promise<void> {
  await writeMaskPngs(context, 'masks');
  context.resolved.maskRepresentation = 'png-0-255';
}
