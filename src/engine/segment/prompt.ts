/**
 * Interactive prompts: positive/negative points and a box → one mask, refinable with the previous low-res mask.
 * This is what the UI's click/box tool calls (`mask:predict`, `mask:add`, `mask:refine`).
 */
import { binarize, maskArea, maskBox, boxToXywh, type BinaryMask, type Box } from '../image/index.ts';
import { stabilityScore } from './amg.ts';
import { promptPoints, type PromptBox, type PromptPoint, type SegmentSession } from './model.ts';

/** The prompts of one interactive request, in image pixels. */
export interface MaskPrompts {
  points?: readonly PromptPoint[];
  box?: PromptBox;
}

/** A mask predicted from prompts. */
export interface PromptedMask {
  mask: BinaryMask;
  area: number;
  box: Box | null;
  bbox: [number, number, number, number];
  predictedIou: number;
  stability: number;
  /** Which decoder output was chosen (0 = single-mask token, 1..3 multimask). */
  output: number;
  /** float32[256·256] low-res logits of the chosen output: pass back as `previous` to refine. */
  lowRes: Float32Array;
}

/**
 * Predicts one mask from prompts on a session's image (one encoder run per session, reused).
 *
 * The output is chosen as the official `--return-single-mask` export does (`SamOnnxModel.select_masks`): with one
 * point and the padding point the best multimask output by predicted IoU (a single click is ambiguous); with more
 * points or a box the single-mask output. `previous` (the `lowRes` of an earlier result) refines that mask.
 */
export async function promptMask(
  session: SegmentSession,
  prompts: MaskPrompts,
  previous?: Float32Array | PromptedMask,
): Promise<PromptedMask> {
  const maskInput = previous instanceof Float32Array ? previous : previous?.lowRes;
  const prompt = { points: prompts.points ?? [], box: prompts.box, maskInput };
  const pointCount = promptPoints(prompt, session.size, session.model.preprocess.longestSide).labels.length;
  const [decoded] = await session.decode([prompt]);
  let output = 0;
  if (decoded.count > 1) {
    // score = iou + (num_points − 2.5) · [1000, 0, 0, 0]; argmax.
    let best = -Infinity;
    for (let k = 0; k < decoded.count; k++) {
      const score = decoded.iou[k] + (k === 0 ? (pointCount - 2.5) * 1000 : 0);
      if (score > best) {
        best = score;
        output = k;
      }
    }
  }
  const plane = session.size.width * session.size.height;
  const threshold = session.model.maskThreshold;
  const mask = binarize(
    decoded.masks.subarray(output * plane, (output + 1) * plane),
    session.size,
    threshold,
  );
  const box = maskBox(mask);
  return {
    mask,
    area: maskArea(mask),
    box,
    bbox: boxToXywh(box),
    predictedIou: decoded.iou[output],
    stability: stabilityScore(decoded.masks, threshold, 1.0, output * plane, plane),
    output,
    lowRes: decoded.lowRes.slice(output * 256 * 256, (output + 1) * 256 * 256),
  };
}
