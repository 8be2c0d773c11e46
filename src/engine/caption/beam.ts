/**
 * Beam search as the reference runs it (open_clip 2.x `_generate_beamsearch` + transformers ≤ 4.30
 * `BeamSearchScorer`: with 4.31 the released code raises before decoding, open_clip #575/#617), over any step
 * function that returns next-token logits for a batch of prefixes.
 *
 * Reference semantics (DESIGN.md §5, contracts.md §2.2):
 * - `beams` beams in `groups` groups of `beams / groups`; no diversity penalty, so the groups are independent;
 * - initial beam scores −1e9 except the first beam of each group (0), so a group's beams do not start identical;
 * - per step and group: scores = processors(logits) + beam score, where the processors are min-length and the
 *   repetition penalty and the scores are **raw logits** (no log-softmax) — `log-prob` scoring is an option;
 * - the top 2·group_size (beam, token) pairs, best first: an eot pair ranked < group_size closes a hypothesis
 *   scored `sum / length^1` (length = prefix length, sot included, eot excluded), other pairs fill the group's
 *   next beams until group_size are chosen;
 * - a group is done when it holds group_size hypotheses and none can improve (early_stopping = False:
 *   worst ≥ best next score / (current length + 1)); the search stops when every group is done or the sequence
 *   reaches `maxLength` (sot included);
 * - finalize adds the open beams of unfinished groups as hypotheses and returns the best hypothesis overall, with
 *   eot appended when it is shorter than `maxLength`.
 *
 * Option `sharedHypotheses` is a counterfactual, not the released run: open_clip's loop calls
 * `BeamSearchScorer.process` without `group_index`; a scorer that then wrote every group's finished hypotheses
 * into group 0's list (marking only group 0 done) would decode differently. No released setup runs that way — with
 * transformers 4.31 the released code raises before decoding (open_clip #575/#617), and with ≤ 4.30 the shared
 * list behaves exactly like independent groups, because without a diversity penalty the groups are copies. So the
 * default (independent groups) is the released behaviour; no preset sets the option, which stays as a check of the
 * scorer's bookkeeping.
 */
import type {
  BeamPairOutcome,
  BeamTrace,
  BeamTraceGroupStep,
  BeamTraceHypothesis,
} from '../../shared/caption.ts';
import { processLogits } from './processors.ts';

/** Returns next-token logits `[V]` for each prefix (all prefixes have the same length). */
export type StepFunction = (prefixes: number[][]) => Promise<ArrayLike<number>[]>;

/** Options of {@link beamSearch}. */
export interface BeamSearchOptions {
  beams: number;
  groups: number;
  scoring: 'raw-logits' | 'log-prob';
  minLength: number;
  maxLength: number;
  repetitionPenalty: number;
  sot: number;
  eot: number;
  pad: number;
  /** A counterfactual scorer (see the module comment), not the released run; false by default. */
  sharedHypotheses?: boolean;
  /**
   * Record every step (beams, ranked pairs, hypotheses) into {@link BeamResult.trace}. Tracing only reads what the
   * search computes (plus one log-softmax per beam for `logProb`): the result is the same with and without it.
   */
  trace?: boolean;
}

/** What {@link beamSearch} records with `trace: true`: the step-by-step part of a {@link BeamTrace}. */
export type BeamSearchTrace = Pick<BeamTrace, 'steps' | 'hypotheses' | 'winner'>;

/** The chosen caption of a beam search. */
export interface BeamResult {
  /** sot … eot (eot absent when the best hypothesis ran to `maxLength`). */
  tokenIds: number[];
  /** Hypothesis score: summed scores / length (length penalty 1). */
  score: number;
  finished: boolean;
  /** Decoding steps run (each step calls the step function once). */
  steps: number;
  /** With `trace: true`: every step, hypothesis and the winner. */
  trace?: BeamSearchTrace;
}

interface Hypothesis {
  score: number;
  tokens: number[];
  fromEot: boolean;
  /** Index of its record in the trace's hypotheses (tracing only). */
  traceIndex?: number;
}

/** What tracing keeps beside the search's own state. */
interface Recorder {
  trace: BeamSearchTrace;
  /** Σ log p of each beam's tokens, aligned with the search's beams. */
  logProbs: Float64Array;
}

/** Runs beam search; see the module comment for the exact semantics. */
export async function beamSearch(step: StepFunction, options: BeamSearchOptions): Promise<BeamResult> {
  const { beams, groups, maxLength, sot, eot, pad } = options;
  if (!Number.isInteger(beams) || beams < 1)
    throw new RangeError(`beams must be an integer ≥ 1, got ${beams}`);
  if (!Number.isInteger(groups) || groups < 1 || beams % groups !== 0) {
    throw new RangeError(`groups must divide beams (${beams}), got ${groups}`);
  }
  if (!Number.isInteger(maxLength) || maxLength < 2)
    throw new RangeError(`maxLength must be ≥ 2, got ${maxLength}`);
  const groupSize = beams / groups;
  const shared = options.sharedHypotheses ?? false;
  const hypotheses: BeamHypotheses[] = Array.from({ length: groups }, () => new BeamHypotheses(groupSize));
  const done = new Array<boolean>(groups).fill(false);
  let sequences: number[][] = Array.from({ length: beams }, () => [sot]);
  const beamScores = new Float64Array(beams).fill(-1e9);
  for (let g = 0; g < groups; g++) beamScores[g * groupSize] = 0;
  let steps = 0;
  const recorder: Recorder | null = options.trace
    ? { trace: { steps: [], hypotheses: [], winner: -1 }, logProbs: new Float64Array(beams) }
    : null;

  for (;;) {
    const logits = await step(sequences);
    steps++;
    if (logits.length !== beams)
      throw new Error(`step function returned ${logits.length} rows for ${beams} prefixes`);
    const nextSequences: number[][] = new Array<number[]>(beams);
    const nextLogProbs = recorder ? new Float64Array(beams) : null;
    const stepGroups: BeamTraceGroupStep[] = [];
    const length = sequences[0]!.length;
    for (let g = 0; g < groups; g++) {
      const start = g * groupSize;
      const listIndex = shared ? 0 : g;
      if (done[listIndex]) {
        // transformers pads a done group: score 0, token pad, every beam continues from the group's first beam.
        for (let b = 0; b < groupSize; b++) {
          beamScores[start + b] = 0;
          nextSequences[start + b] = [...sequences[start]!, pad];
        }
        stepGroups.push({ group: g, done: true, beams: [], pairs: [], doneAfter: true });
        continue;
      }
      const candidates = topCandidates(logits, sequences, beamScores, start, groupSize, options);
      const chosen: Candidate[] = [];
      const outcomes: BeamPairOutcome[] = candidates.map(() => 'unused');
      for (let rank = 0; rank < candidates.length; rank++) {
        const candidate = candidates[rank]!;
        if (candidate.token === eot) {
          if (rank >= groupSize) {
            outcomes[rank] = 'eot-ignored';
            continue;
          }
          outcomes[rank] = 'hypothesis';
          const admitted = hypotheses[listIndex]!.add(sequences[candidate.beam]!, candidate.score, true);
          if (recorder)
            record(recorder, admitted, {
              group: g,
              step: steps - 1,
              tokenIds: [...sequences[candidate.beam]!],
              sum: candidate.score,
              logProb: recorder.logProbs[candidate.beam]! + candidate.logProb!,
            });
        } else {
          outcomes[rank] = 'beam';
          chosen.push(candidate);
        }
        if (chosen.length === groupSize) break;
      }
      if (chosen.length < groupSize) {
        throw new Error(`beam group ${g} found ${chosen.length} non-eot continuations, needs ${groupSize}`);
      }
      for (let b = 0; b < groupSize; b++) {
        const candidate = chosen[b]!;
        beamScores[start + b] = candidate.score;
        nextSequences[start + b] = [...sequences[candidate.beam]!, candidate.token];
        if (nextLogProbs) nextLogProbs[start + b] = recorder!.logProbs[candidate.beam]! + candidate.logProb!;
      }
      done[listIndex] = done[listIndex]! || hypotheses[listIndex]!.isDone(candidates[0]!.score, length + 1);
      if (recorder)
        stepGroups.push({
          group: g,
          done: false,
          beams: chosen.map((candidate, b) => ({
            tokenIds: nextSequences[start + b]!,
            score: candidate.score,
            normalized: candidate.score / (length + 1),
            logProb: nextLogProbs![start + b]!,
            parent: candidate.beam - start,
          })),
          pairs: candidates.map((candidate, rank) => ({
            beam: candidate.beam - start,
            token: candidate.token,
            score: candidate.score,
            outcome: outcomes[rank]!,
          })),
          doneAfter: done[listIndex]!,
        });
    }
    sequences = nextSequences;
    if (recorder) {
      recorder.logProbs = nextLogProbs!;
      recorder.trace.steps.push({ step: steps - 1, groups: stepGroups });
    }
    // transformers' `is_done` is `_done.all()`: with shared hypotheses groups 1.. never finish early.
    if (done.every(Boolean) || sequences[0]!.length >= maxLength) break;
  }

  for (let g = 0; g < groups; g++) {
    if (done[g]) continue;
    for (let b = 0; b < groupSize; b++) {
      const beam = g * groupSize + b;
      const admitted = hypotheses[g]!.add(sequences[beam]!, beamScores[beam]!, false);
      if (recorder)
        record(recorder, admitted, {
          group: g,
          step: null,
          tokenIds: [...sequences[beam]!],
          sum: beamScores[beam]!,
          logProb: recorder.logProbs[beam]!,
        });
    }
  }
  let best: Hypothesis | null = null;
  // Python's stable sort + pop() returns the last of equal best scores: `>=` keeps the later one too.
  for (const list of hypotheses)
    for (const hypothesis of list.beams) if (!best || hypothesis.score >= best.score) best = hypothesis;
  if (!best) throw new Error('beam search produced no hypothesis');
  const tokenIds = best.tokens.length < maxLength ? [...best.tokens, eot] : [...best.tokens];
  const result: BeamResult = {
    tokenIds,
    score: best.score,
    finished: tokenIds[tokenIds.length - 1] === eot,
    steps,
  };
  if (recorder) {
    for (const list of hypotheses)
      for (const hypothesis of list.beams) recorder.trace.hypotheses[hypothesis.traceIndex!]!.kept = true;
    recorder.trace.winner = best.traceIndex!;
    result.trace = recorder.trace;
  }
  return result;
}

/** Appends a hypothesis record; an admitted one is the newest entry of its list, which then points at the record. */
function record(
  recorder: Recorder,
  admitted: Hypothesis | null,
  entry: Omit<BeamTraceHypothesis, 'score' | 'admitted' | 'kept'>,
): void {
  const index = recorder.trace.hypotheses.length;
  recorder.trace.hypotheses.push({
    ...entry,
    score: entry.sum / entry.tokenIds.length,
    admitted: admitted !== null,
    kept: false,
  });
  if (admitted) admitted.traceIndex = index;
}

interface Candidate {
  beam: number;
  token: number;
  score: number;
  /** log p of the token on its beam (tracing only). */
  logProb?: number;
}

/** The group's top 2·groupSize (beam, token) pairs by score, best first; ties by lower flattened index. */
function topCandidates(
  logits: ArrayLike<number>[],
  sequences: number[][],
  beamScores: Float64Array,
  start: number,
  groupSize: number,
  options: BeamSearchOptions,
): Candidate[] {
  const wanted = 2 * groupSize;
  const pool: Candidate[] = [];
  for (let b = 0; b < groupSize; b++) {
    const beam = start + b;
    const processed = processLogits(logits[beam]!, sequences[beam]!, options);
    // Tracing: log p = processed − logsumexp(processed), read before the scoring may change `processed`.
    const logSum = options.trace ? logSumExp(processed) : 0;
    const logProbOf = (token: number, value: number) =>
      options.scoring === 'log-prob' ? value : value - logSum;
    if (options.scoring === 'log-prob') logSoftmaxInPlace(processed);
    const base = beamScores[beam]!;
    // The overall top 2·groupSize lie within each beam's own top 2·groupSize.
    const order = topIndices(processed, wanted);
    for (const token of order) {
      const candidate: Candidate = { beam: b, token, score: processed[token]! + base };
      if (options.trace) candidate.logProb = logProbOf(token, processed[token]!);
      pool.push(candidate);
    }
  }
  pool.sort((x, y) => y.score - x.score || x.beam - y.beam || x.token - y.token);
  return pool.slice(0, wanted).map((candidate) => ({ ...candidate, beam: start + candidate.beam }));
}

function topIndices(values: Float64Array, count: number): number[] {
  const best: number[] = [];
  for (let id = 0; id < values.length; id++) {
    const value = values[id]!;
    if (best.length === count && !(value > values[best[count - 1]!]!)) continue;
    let position = best.length === count ? count - 1 : best.length;
    if (best.length < count) best.push(id);
    while (position > 0 && values[best[position - 1]!]! < value) {
      best[position] = best[position - 1]!;
      position--;
    }
    best[position] = id;
  }
  return best;
}

function logSumExp(values: Float64Array): number {
  let max = -Infinity;
  for (const value of values) if (value > max) max = value;
  let sum = 0;
  for (const value of values) sum += Math.exp(value - max);
  return max + Math.log(sum);
}

function logSoftmaxInPlace(values: Float64Array): void {
  const logSum = logSumExp(values);
  for (let i = 0; i < values.length; i++) values[i] = values[i]! - logSum;
}

/** transformers' `BeamHypotheses` with length penalty 1 and early_stopping = False. */
class BeamHypotheses {
  beams: Hypothesis[] = [];
  private worst = 1e9;

  constructor(private readonly capacity: number) {}

  /** Offers a hypothesis; answers the stored entry when admitted, else null. */
  add(tokens: number[], sum: number, fromEot: boolean): Hypothesis | null {
    const score = sum / tokens.length;
    if (this.beams.length < this.capacity || score > this.worst) {
      const entry: Hypothesis = { score, tokens: [...tokens], fromEot };
      this.beams.push(entry);
      if (this.beams.length > this.capacity) {
        const sorted = this.beams
          .map((beam, index) => ({ score: beam.score, index }))
          .sort((a, b) => a.score - b.score || a.index - b.index);
        this.beams.splice(sorted[0]!.index, 1);
        this.worst = sorted[1]!.score;
      } else {
        this.worst = Math.min(score, this.worst);
      }
      return entry;
    }
    return null;
  }

  isDone(bestSum: number, length: number): boolean {
    if (this.beams.length < this.capacity) return false;
    return this.worst >= bestSum / length;
  }
}
