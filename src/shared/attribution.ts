/**
 * Occlusion attribution (issue 22): which parts of a crop raised the probability of one token at one decoding step.
 * A grey patch (the preprocessing mean) slides over the crop; for each placement the step is replayed and the drop
 * in the token's log-probability is reported, under the naive and under the DCS distribution.
 */

/** A patch in the crop's model-input pixels (the S×S square the visual encoder sees, padding included). */
export interface PatchBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** One distribution's attribution: log-probabilities (natural log) and drops, null where the token is impossible (−∞). */
export interface AttributionSide {
  /** log p(token) on the intact crop. */
  base: number | null;
  /** log p(token) with patch i occluded, row-major over the grid. */
  occluded: (number | null)[];
  /** base − occluded[i]: > 0 where the patch's pixels raised the token's probability. */
  drop: (number | null)[];
}

/** The occlusion attribution of one step and token of one candidate. */
export interface OcclusionAttribution {
  /** Decoding step t: the prefix is the candidate's tokens 0..t (sot first); the token is the one chosen after it. */
  step: number;
  token: number;
  tokenText: string;
  /** The teacher-forced prefix as text. */
  prefixText: string;
  /** Patches per side (g×g patches); 0 when explicit patches were given. */
  grid: number;
  /** Side S of the model-input crop in pixels. */
  size: number;
  /** The patches, row-major. */
  boxes: PatchBox[];
  /** Number of crops of this type in the image (DCS's n). */
  cropCount: number;
  /** False when DCS does not calibrate (n = 1 or n above the limit): its numbers then equal the naive ones. */
  calibrated: boolean;
  naive: AttributionSide;
  dcs: AttributionSide;
}
