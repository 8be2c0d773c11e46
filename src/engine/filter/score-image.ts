/**
 * Scores every candidate of one image (DESIGN.md §5 Scores) from CLIP embeddings.
 *
 * CLIP image embeddings are computed once per crop — n masked crops and n margin-1.2 crops, 2n encodes per image
 * (the reference encodes 2·n per mask) — and text embeddings once per distinct string (captions and noun prompts
 * are deduplicated), then each candidate's θ rows over all masks give UoS / CoS / DoS.
 */
import type { CandidateScores } from '../../shared/results.ts';
import { headNoun, nounPrompt, type HeadNounRule } from './head-noun.ts';
import { scoreCandidate, theta } from './scores.ts';

/** Encodes texts to CLIP embeddings, one per text, in order. */
export type TextEncoder = (texts: string[]) => Promise<Float32Array[]>;

/** Inputs of {@link scoreImage}. */
export interface ScoreImageInput {
  /** CLIP embedding of each mask's masked crop, in mask order (length n). */
  maskedEmbeddings: readonly Float32Array[];
  /** CLIP embedding of each mask's margin-1.2 box crop, in mask order (length n). */
  cropEmbeddings: readonly Float32Array[];
  /** The candidates: which mask they describe and their text. */
  candidates: readonly { mask: number; text: string }[];
  encodeTexts: TextEncoder;
  /** θ = logitScale · cos (100 for the released CLIP models; from the pack manifest). */
  logitScale: number;
  /** How each caption's head noun is found (settings.captions.headNoun; default `strip-frames`). */
  headNounRule?: HeadNounRule;
}

/** Scores in candidate order, and how many texts were encoded (after deduplication). */
export interface ScoreImageOutput {
  scores: CandidateScores[];
  textEncodes: number;
}

/** UoS / CoS / DoS of every candidate of one image. */
export async function scoreImage(input: ScoreImageInput): Promise<ScoreImageOutput> {
  const { maskedEmbeddings, cropEmbeddings, candidates, logitScale } = input;
  const n = maskedEmbeddings.length;
  if (cropEmbeddings.length !== n)
    throw new Error(
      `scoreImage: ${n} masked-crop embeddings but ${cropEmbeddings.length} box-crop embeddings`,
    );
  for (const c of candidates) {
    if (!Number.isInteger(c.mask) || c.mask < 0 || c.mask >= n)
      throw new Error(`scoreImage: candidate mask ${c.mask} is out of range 0..${n - 1}`);
  }
  const heads = candidates.map((c) => {
    const head = headNoun(c.text, input.headNounRule);
    // an empty caption has no noun; "object" keeps the prompt well-formed (its scores are then low for every mask)
    const noun = head.noun || 'object';
    return { noun, prompt: nounPrompt(noun) };
  });
  const unique = [...new Set([...candidates.map((c) => c.text), ...heads.map((h) => h.prompt)])];
  const embeddings = unique.length > 0 ? await input.encodeTexts(unique) : [];
  if (embeddings.length !== unique.length)
    throw new Error(
      `scoreImage: the text encoder returned ${embeddings.length} embeddings for ${unique.length} texts`,
    );
  const byText = new Map(unique.map((t, k) => [t, embeddings[k]]));
  const rows = new Map<string, { crop: number[]; masked: number[] }>();
  const row = (text: string) => {
    let r = rows.get(text);
    if (!r) {
      const e = byText.get(text)!;
      r = {
        crop: cropEmbeddings.map((img) => theta(img, e, logitScale)),
        masked: maskedEmbeddings.map((img) => theta(img, e, logitScale)),
      };
      rows.set(text, r);
    }
    return r;
  };
  const scores = candidates.map((c, k) => {
    const cropTheta = row(c.text).crop; // θ(crop_j, y)
    const correctness = row(heads[k].prompt).masked; // CoS_j = θ(masked_j, noun prompt)
    return {
      ...scoreCandidate(correctness, cropTheta, c.mask),
      headNoun: heads[k].noun,
      nounPrompt: heads[k].prompt,
    };
  });
  return { scores, textEncodes: unique.length };
}
