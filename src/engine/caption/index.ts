/**
 * Captioning (DESIGN.md §5): tokenizer, captioner sessions, decoding (processors, beam search, sampling, DCS), traces.
 */
export {
  applyMinLength,
  applyRepetitionPenalty,
  processLogits,
  restrictedSoftmax,
  softmaxOf,
  topKKept,
  topPKept,
} from './processors.ts';
export { drawFromWeights, hash128, streamFor, streamName, xoshiro128, type RandomSource } from './rng.ts';
export {
  aggregateLogits,
  aggregationFactors,
  cosineRow,
  drawToken,
  valueAt,
  samplingStep,
  type SamplingStepInput,
  type SamplingStepResult,
} from './dcs.ts';
export { beamSearch, type BeamResult, type BeamSearchOptions, type StepFunction } from './beam.ts';
export {
  CaptionTokenizer,
  loadTokenizer,
  precleanText,
  type ScorerTokens,
  type SpecialTokens,
} from './tokenizer.ts';
export {
  Captioner,
  emptyCounters,
  type CaptionCounters,
  type CaptionerSessions,
  type EncodedCrops,
  type SessionLike,
  type StepPair,
} from './captioner.ts';
export { generateCaptions, samplingSettings, type GenerateInput, type GenerateOutput } from './generate.ts';
export { traceBeam, type TracedBeam } from './beam-trace.ts';
export { occludedCrops, occlusionGrid } from './occlusion.ts';
export { compareTraces, recordStep, replayTrace } from './trace.ts';
export {
  captionBatches,
  captionImage,
  type CaptionBatchesInput,
  type CaptionImageInput,
  type CaptionImageOutput,
  type PackCaptioner,
} from './image.ts';
