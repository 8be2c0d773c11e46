/**
 * The beam view's trace (DESIGN.md §5 "Traces"): one crop's beam search re-run with tracing, so nothing has to be
 * stored during a run. The trace layout is `BeamTrace` in shared/caption.ts.
 */
import { settingKey, type BeamTrace, type CaptionCandidate } from '../../shared/caption.ts';
import { beamSearch } from './beam.ts';
import { beamOptions, beamResultCandidate, checkOptions, type GenerateInput } from './generate.ts';

/** A beam candidate and the trace of its search ({@link traceBeam}). */
export interface TracedBeam {
  candidate: CaptionCandidate;
  trace: BeamTrace;
}

/**
 * Re-runs the beam search of one crop (`target`, a position among the `count` crops) with tracing: the crops are
 * encoded together as a run encodes them, then only the target's search is decoded, step by step on its own. Beam
 * search has no "others" (no DCS), so the other crops change nothing but the encoder batch. Tracing only reads, so
 * the candidate is the one a run decodes (tests compare both decoder paths).
 */
export async function traceBeam(input: GenerateInput & { target: number }): Promise<TracedBeam> {
  const { captioner, options, count, target } = input;
  checkOptions(options);
  if (!options.beam) throw new Error('traceBeam needs a beam setting (options.beam is null)');
  if (!Number.isInteger(target) || target < 0 || target >= count)
    throw new RangeError(`target crop ${target} is not one of the ${count} crops`);
  const maskIndex = input.maskIndices?.[target] ?? target;
  const encoded = await captioner.encode(input.crops, count, input.size ?? 224);
  const result = await beamSearch(
    (prefixes) =>
      captioner.nextLogits(
        prefixes.map((prefix) => ({ prefix, image: target })),
        encoded,
      ),
    { ...beamOptions(input), trace: true },
  );
  const candidate = beamResultCandidate(input, maskIndex, result);
  const { steps, hypotheses, winner } = result.trace!;
  const ids = new Set<number>(candidate.tokenIds);
  for (const step of steps)
    for (const group of step.groups) {
      for (const beam of group.beams) for (const id of beam.tokenIds) ids.add(id);
      for (const pair of group.pairs) ids.add(pair.token);
    }
  for (const hypothesis of hypotheses) for (const id of hypothesis.tokenIds) ids.add(id);
  const tokenTexts: Record<number, string> = {};
  for (const id of [...ids].sort((a, b) => a - b)) tokenTexts[id] = input.tokenizer.tokenText(id);
  const trace: BeamTrace = {
    version: 1,
    ...(input.model ? { model: input.model } : {}),
    config: {
      setting: options.beam,
      settingKey: settingKey(options.beam),
      minLength: options.minLength,
      maxLength: options.maxLength,
      repetitionPenalty: options.repetitionPenalty,
      specialTokens: { ...input.special },
    },
    target: { maskIndex, crop: input.crop },
    steps,
    hypotheses,
    winner,
    tokenIds: candidate.tokenIds,
    text: candidate.text,
    score: result.score,
    finished: result.finished,
    tokenTexts,
  };
  return { candidate, trace };
}
