/** JSONL of every candidate with its scores, review mark and kept flag at the export's τ (`candidates.jsonl`). */
import { decideResult, reviewMark } from '../../filter/index.ts';
import { contextText, type ExportContext } from './context.ts';

/** Writes `candidates.jsonl`. */
export async function exportJsonl(context: ExportContext): Promise<void> {
  const { results, policy, review, writer, summary } = context;
  const file = writer.stream('candidates.jsonl');
  try {
    for (const result of results) {
      const decisions = decideResult(result, policy, review);
      result.candidates.forEach((c, k) => {
        const { text, edited } = contextText(context, result.image.id, c);
        file.write(
          `${JSON.stringify({
            image_id: result.image.id,
            img_name: result.image.name,
            mask: c.mask,
            candidate: c.index,
            crop: c.cropKey,
            setting: c.settingKey,
            method: c.method,
            seed: c.seed,
            stream: c.streamId ?? null,
            // an edited candidate carries the reviewer's text; tokens and scores are those of the generated text
            text,
            edited,
            ...(edited ? { generated_text: c.text } : {}),
            review: reviewMark(review, result.image.id, c.mask, c.index),
            tokens: c.tokens,
            uos: c.scores.uos,
            cos: c.scores.cos,
            dos: c.scores.dos,
            theta: c.scores.theta,
            confused_with: c.scores.confusedWith,
            head_noun: c.scores.headNoun,
            comparison: c.comparison,
            kept: decisions[k].kept,
            reason: decisions[k].reason,
          })}\n`,
        );
        if (decisions[k].kept) summary.expressions++;
      });
      summary.images++;
    }
  } catch (error) {
    file.abort();
    throw error;
  }
  file.commit();
  await Promise.resolve();
}
