/**
 * Masks (DESIGN.md §5): SAM encoder/decoder over ONNX, automatic mask generation, selection (the top-K heuristic, or
 * the released code's rule over imported CutLER-style detections), imported masks and interactive prompts.
 *
 * Typical use: `const model = await SamModel.open(pack); const session = new SegmentSession(model, image);
 * const result = await proposeMasks(session, { preset: 'reference', maxMasks: 5 });` — then `promptMask(session, …)`
 * for clicks on the same image reuses its embeddings.
 */
import { generateMasks, type GenerateOptions, type GenerationStats, type MaskProposal } from './generate.ts';
import type { AmgOptions } from './amg.ts';
import type { SegmentSession } from './model.ts';
import { selectMasks, type SelectionDecision, type SelectionOptions } from './select.ts';

export { AMG_PRESETS, SAM_AMG_DEFAULTS, type AmgOptions } from './amg.ts';
export {
  amgOptions,
  generateMasks,
  type GenerateOptions,
  type GenerationStats,
  type MaskProposal,
} from './generate.ts';
export {
  SamModel,
  promptsInMemory,
  SegmentSession,
  promptPoints,
  type DecodedMasks,
  type PromptBox,
  type PromptPoint,
  type SamPrompt,
} from './model.ts';
export { promptMask, type MaskPrompts, type PromptedMask } from './prompt.ts';
export {
  DEFAULT_SELECTION,
  selectMasks,
  type SelectableMask,
  type SelectionDecision,
  type SelectionOptions,
} from './select.ts';
export {
  MaskImportError,
  assertKnownImages,
  openMaskImport,
  segmentationToMask,
  type ImportedMask,
  type MaskImport,
} from './import.ts';
export {
  boxPixels,
  selectByDetections,
  type BoxDecision,
  type BoxMatch,
  type Detection,
  type PixelRange,
} from './select-boxes.ts';
export {
  BoxesChangedError,
  boxesRecord,
  openBoxImport,
  selectMasksByBoxes,
  type BoxImport,
  type BoxSelectionSettings,
} from './boxes.ts';
export {
  SAM_PREPROCESS,
  resizedSize,
  samEncoderInput,
  toModelFrame,
  type SamPreprocess,
} from './preprocess.ts';

/** Options of `proposeMasks`: generator preset/knobs plus the selector's. */
export interface ProposeOptions extends GenerateOptions {
  /** Masks kept (K, default 5). */
  maxMasks?: number;
  /** Selector thresholds (see `DEFAULT_SELECTION`). */
  selection?: Partial<Omit<SelectionOptions, 'maxMasks'>>;
}

/** Automatic generation followed by selection on one image. */
export interface ProposeResult {
  /** Every proposal of the generator (SAM order). */
  proposals: MaskProposal[];
  /** The kept proposals, best first (at most K). */
  selected: MaskProposal[];
  /** One decision per proposal, same order as `proposals`. */
  decisions: SelectionDecision[];
  stats: GenerationStats;
  options: AmgOptions;
}

/** Generates masks on a session's image and selects at most K of them, recording why each was kept or dropped. */
export async function proposeMasks(
  session: SegmentSession,
  options: ProposeOptions = {},
): Promise<ProposeResult> {
  const generated = await generateMasks(session, null, options);
  const { selected, decisions } = selectMasks(generated.proposals, {
    ...options.selection,
    maxMasks: options.maxMasks ?? 5,
  });
  return { ...generated, selected, decisions };
}
