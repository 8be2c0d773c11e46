/**
 * Decoding traces (DESIGN.md §5 "Traces"; layout in shared/caption.ts): recording a sampled caption step by step,
 * replaying a trace without the model, and comparing two traces of the same random stream (naive vs DCS).
 *
 * A step records every kept token (V) plus the top-N tokens of each distribution (raw, processed, each other crop's
 * logits, the aggregate) and eot and the chosen token — so replay has everything the draw depended on: the weights
 * live on V only, and V is complete.
 */
import type {
  CaptionTrace,
  TraceComparison,
  TraceOther,
  TraceReplay,
  TraceStep,
  TraceToken,
  TraceVector,
} from '../../shared/caption.ts';
import { aggregateLogits, drawToken, samplingStep, type SamplingStepResult } from './dcs.ts';

/** Everything one sampling step computed, as {@link recordStep} needs it. */
export interface StepRecordInput {
  step: number;
  /** The target's raw decoder logits. [V] */
  raw: ArrayLike<number>;
  /** z_i after processors. [V] */
  processed: Float64Array;
  kept: Int32Array;
  /** DCS: the other crops with their similarity, aggregation factor and raw logits; null for plain sampling. */
  others: { maskIndex: number; similarity: number; weight: number; logits: ArrayLike<number> }[] | null;
  /** The full-vocabulary aggregate o (DCS), for the trace's top-N. */
  aggregate: Float64Array | null;
  /** The step's result: arrays aligned with `kept`. */
  result: SamplingStepResult;
  /** The uniform drawn, or null when eot was forced. */
  uniform: number | null;
  forced: boolean;
  chosen: number;
}

/** Builds one {@link TraceStep}, bounded to V ∪ top-N of each distribution ∪ {eot, chosen}. */
export function recordStep(
  input: StepRecordInput,
  tokenText: (id: number) => string,
  topN: number,
  eot: number,
): TraceStep {
  const { processed, kept, result } = input;
  const ids = new Set<number>(kept);
  addTop(ids, input.raw, topN);
  addTop(ids, processed, topN);
  for (const other of input.others ?? []) addTop(ids, other.logits, topN);
  if (input.aggregate) addTop(ids, input.aggregate, topN);
  if (eot >= 0 && eot < processed.length) ids.add(eot);
  ids.add(input.chosen);
  const order = [...ids].sort((a, b) => a - b);
  const keptIndex = new Map<number, number>();
  kept.forEach((id, k) => keptIndex.set(id, k));
  const keptSet = new Set<number>(kept);
  const pick = (values: ArrayLike<number>): TraceVector => order.map((id) => finiteOrNull(values[id]!));
  // Result arrays are aligned with V: outside it probabilities and weights are 0, calibrated logits −∞.
  const pickKept = (values: Float64Array, outside: number): TraceVector =>
    order.map((id) => {
      const k = keptIndex.get(id);
      return finiteOrNull(k === undefined ? outside : values[k]!);
    });
  const filtered = order.map((id) => (keptSet.has(id) ? finiteOrNull(processed[id]!) : null));
  const tokens: TraceToken[] = order.map((id) => ({ id, text: tokenText(id), kept: keptSet.has(id) }));
  const step: TraceStep = {
    step: input.step,
    tokens,
    keptCount: kept.length,
    raw: pick(input.raw),
    processed: pick(processed),
    filtered,
    naive: pickKept(result.naive, 0),
    weights: pickKept(result.weights, 0),
    weightSum: result.weightSum,
    forced: input.forced,
    chosen: input.chosen,
    chosenText: tokenText(input.chosen),
  };
  if (input.others) {
    step.others = input.others.map((other): TraceOther => ({
      maskIndex: other.maskIndex,
      similarity: other.similarity,
      weight: other.weight,
      logits: pick(other.logits),
    }));
  }
  if (input.aggregate) step.aggregate = pick(input.aggregate);
  if (result.calibrated) step.calibrated = pickKept(result.calibrated, -Infinity);
  if (result.eotRestored) step.eotRestored = result.eotRestored;
  if (input.others) step.fellBack = result.fellBack;
  if (input.uniform !== null) step.draw = { uniform: input.uniform };
  return step;
}

/**
 * Replays a trace without the model: per step, recomputes the aggregate from the recorded other logits and weights,
 * the calibrated weights and the eot restoration on V, and draws with the recorded uniform.
 */
export function replayTrace(trace: CaptionTrace): TraceReplay {
  const { eot, sot } = trace.config.specialTokens;
  const tokenIds = [sot];
  let firstMismatch: number | null = null;
  for (const step of trace.steps) {
    let chosen: number;
    if (step.forced) {
      chosen = eot;
    } else {
      const positions: number[] = [];
      step.tokens.forEach((token, position) => {
        if (token.kept) positions.push(position);
      });
      if (positions.length !== step.keptCount) {
        throw new Error(
          `trace step ${step.step}: ${positions.length} kept tokens recorded, keptCount says ${step.keptCount}`,
        );
      }
      const compact = (vector: TraceVector) =>
        Float64Array.from(positions, (position) => fromJson(vector[position]));
      const processed = compact(step.processed);
      const kept = Int32Array.from(positions.keys());
      const eotIndex = positions.findIndex((position) => step.tokens[position]!.id === eot);
      const aggregate = step.others
        ? aggregateLogits(
            step.others.map((other) => compact(other.logits)),
            step.others.map((other) => other.weight),
          )
        : null;
      const result = samplingStep({
        processed,
        kept,
        temperature: trace.config.temperature,
        eot: eotIndex,
        aggregate,
      });
      if (!step.draw) throw new Error(`trace step ${step.step} is not forced but records no draw`);
      const index = drawToken(result, step.draw.uniform);
      chosen = step.tokens[positions[index]!]!.id;
    }
    if (chosen !== step.chosen && firstMismatch === null) firstMismatch = step.step;
    tokenIds.push(chosen);
    if (chosen === eot) break;
  }
  return { tokenIds, matches: firstMismatch === null, firstMismatch };
}

/** Compares two traces step by step (e.g. plain and DCS of one crop and stream): where do the chosen tokens diverge? */
export function compareTraces(left: CaptionTrace, right: CaptionTrace): TraceComparison {
  const length = Math.max(left.steps.length, right.steps.length);
  const steps: TraceComparison['steps'] = [];
  let firstDivergence: number | null = null;
  for (let i = 0; i < length; i++) {
    const a = left.steps[i];
    const b = right.steps[i];
    const same = a !== undefined && b !== undefined && a.chosen === b.chosen;
    if (!same && firstDivergence === null) firstDivergence = i;
    steps.push({ step: i, left: a ? a.chosenText : null, right: b ? b.chosenText : null, same });
  }
  return {
    firstDivergence,
    steps,
    left: { settingKey: left.config.settingKey, text: left.text },
    right: { settingKey: right.config.settingKey, text: right.text },
  };
}

function addTop(ids: Set<number>, values: ArrayLike<number>, count: number): void {
  if (count <= 0) return;
  const best: number[] = [];
  for (let id = 0; id < values.length; id++) {
    const value = values[id]!;
    if (!(value > -Infinity)) continue;
    if (best.length === count && !(value > values[best[count - 1]!]!)) continue;
    if (best.length === count) best.pop();
    let position = best.length;
    while (position > 0 && values[best[position - 1]!]! < value) position--;
    best.splice(position, 0, id);
  }
  for (const id of best) ids.add(id);
}

function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

function fromJson(value: number | null | undefined): number {
  return value === null || value === undefined ? -Infinity : value;
}
