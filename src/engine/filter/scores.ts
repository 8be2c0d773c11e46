/**
 * CLIP scores of the Pseudo-RIS filter (DESIGN.md §5 Scores), as pure functions over plain numbers.
 *
 * For candidate y of mask i among n masks, with θ(x, y) = logitScale · cos(CLIP image(x), CLIP text(y)):
 *   UoS = θ(crop_i, y) / max_{j≠i} θ(crop_j, y)                       (margin-1.2 crops)
 *   CoS_j = θ(masked_j, noun prompt of y)                              (masked crops)
 *   DoS = CoS_i · θ(crop_i, y) / max_{j≠i} (CoS_j · θ(crop_j, y))
 * The ratios are taken exactly as written, also when θ is negative (the reference does the same); a zero
 * denominator yields `null` (no ratio), as does n = 1.
 */

/** Cosine of two vectors (L2-normalized here, so unnormalized embeddings work too). */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`cosine: vectors differ in length (${a.length} vs ${b.length})`);
  if (a.length === 0) throw new Error('cosine: empty vectors');
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  if (na === 0 || nb === 0) return 0;
  return dot / Math.sqrt(na * nb);
}

/** θ = logitScale · cos (logitScale 100 for the released CLIP models). */
export function theta(image: ArrayLike<number>, text: ArrayLike<number>, logitScale = 100): number {
  return logitScale * cosine(image, text);
}

/** The largest value over j ≠ i and the first j attaining it; `null` when there is no other j. */
export function maxOthers(values: ArrayLike<number>, i: number): { value: number; index: number } | null {
  checkIndex(values, i);
  let best: { value: number; index: number } | null = null;
  for (let j = 0; j < values.length; j++) {
    if (j === i) continue;
    // strict >: among ties the lowest index is reported as "confused with"
    if (best === null || values[j] > best.value) best = { value: values[j], index: j };
  }
  return best;
}

/**
 * Uniqueness score of a caption for mask i.
 *
 * @param cropTheta θ(crop_j, y) for every mask j of the image (margin-1.2 crops), length n.
 * @returns θ_i / max_{j≠i} θ_j, or null with one mask or a zero denominator.
 */
export function uniqueness(cropTheta: ArrayLike<number>, i: number): number | null {
  const other = maxOthers(cropTheta, i);
  if (other === null || other.value === 0) return null;
  return cropTheta[i] / other.value;
}

/**
 * Distinctiveness score of a caption for mask i, and the mask it is most confused with.
 *
 * @param correctness CoS_j = θ(masked_j, noun prompt of y) for every mask j, length n.
 * @param cropTheta θ(crop_j, y) for every mask j (margin-1.2 crops), length n.
 */
export function distinctiveness(
  correctness: ArrayLike<number>,
  cropTheta: ArrayLike<number>,
  i: number,
): { dos: number | null; confusedWith: number | null } {
  if (correctness.length !== cropTheta.length) {
    throw new Error(
      `distinctiveness: correctness has ${correctness.length} masks, cropTheta ${cropTheta.length}`,
    );
  }
  const products = Array.from(cropTheta, (t, j) => correctness[j] * t);
  const other = maxOthers(products, i);
  if (other === null) return { dos: null, confusedWith: null };
  return { dos: other.value === 0 ? null : products[i] / other.value, confusedWith: other.index };
}

/** All three scores of one candidate of mask i. */
export interface CandidateScoreValues {
  theta: number;
  cos: number;
  uos: number | null;
  dos: number | null;
  confusedWith: number | null;
}

/** UoS, CoS and DoS of one candidate of mask i from its θ rows (each of length n, one entry per mask). */
export function scoreCandidate(
  correctness: ArrayLike<number>,
  cropTheta: ArrayLike<number>,
  i: number,
): CandidateScoreValues {
  checkIndex(cropTheta, i);
  const { dos, confusedWith } = distinctiveness(correctness, cropTheta, i);
  return { theta: cropTheta[i], cos: correctness[i], uos: uniqueness(cropTheta, i), dos, confusedWith };
}

function checkIndex(values: ArrayLike<number>, i: number): void {
  if (!Number.isInteger(i) || i < 0 || i >= values.length) {
    throw new Error(`mask index ${i} is out of range 0..${values.length - 1}`);
  }
}
