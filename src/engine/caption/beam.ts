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
}

/** The chosen caption of a beam search. */
export interface BeamResult {
  /** sot … eot (eot absent when the best hypothesis ran to `maxLength`). */
  tokenIds: number[];
  /** Hypothesis score: summed scores / length (length penalty 1). */
  score: number;
  finished: boolean;
  /** Decoding steps run (each step calls the step function once). */
  steps: number;
}

interface Hypothesis {
  score: number;
  tokens: number[];
  fromEot: boolean;
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

  for (;;) {
    const logits = await step(sequences);
    steps++;
    if (logits.length !== beams)
      throw new Error(`step function returned ${logits.length} rows for ${beams} prefixes`);
    const nextSequences: number[][] = new Array<number[]>(beams);
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
        continue;
      }
      const candidates = topCandidates(logits, sequences, beamScores, start, groupSize, options);
      const chosen: Candidate[] = [];
      for (let rank = 0; rank < candidates.length; rank++) {
        const candidate = candidates[rank]!;
        if (candidate.token === eot) {
          if (rank >= groupSize) continue;
          hypotheses[listIndex]!.add(sequences[candidate.beam]!, candidate.score, true);
        } else {
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
      }
      done[listIndex] = done[listIndex]! || hypotheses[listIndex]!.isDone(candidates[0]!.score, length + 1);
    }
    sequences = nextSequences;
    // transformers' `is_done` is `_done.all()`: with shared hypotheses groups 1.. never finish early.
    if (done.every(Boolean) || sequences[0]!.length >= maxLength) break;
  }

  for (let g = 0; g < groups; g++) {
    if (done[g]) continue;
    for (let b = 0; b < groupSize; b++) {
      hypotheses[g]!.add(sequences[g * groupSize + b]!, beamScores[g * groupSize + b]!, false);
    }
  }
  let best: Hypothesis | null = null;
  // Python's stable sort + pop() returns the last of equal best scores: `>=` keeps the later one too.
  for (const list of hypotheses)
    for (const hypothesis of list.beams) if (!best || hypothesis.score >= best.score) best = hypothesis;
  if (!best) throw new Error('beam search produced no hypothesis');
  const tokenIds = best.tokens.length < maxLength ? [...best.tokens, eot] : [...best.tokens];
  return { tokenIds, score: best.score, finished: tokenIds[tokenIds.length - 1] === eot, steps };
}

interface Candidate {
  beam: number;
  token: number;
  score: number;
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
    if (options.scoring === 'log-prob') logSoftmaxInPlace(processed);
    const base = beamScores[beam]!;
    // The overall top 2·groupSize lie within each beam's own top 2·groupSize.
    const order = topIndices(processed, wanted);
    for (const token of order) pool.push({ beam: b, token, score: processed[token]! + base });
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

function logSoftmaxInPlace(values: Float64Array): void {
  let max = -Infinity;
  for (const value of values) if (value > max) max = value;
  let sum = 0;
  for (const value of values) sum += Math.exp(value - max);
  const logSum = max + Math.log(sum);
  for (let i = 0; i < values.length; i++) values[i] = values[i]! - logSum;
}

/** transformers' `BeamHypotheses` with length penalty 1 and early_stopping = False. */
class BeamHypotheses {
  beams: Hypothesis[] = [];
  private worst = 1e9;

  constructor(private readonly capacity: number) {}

  add(tokens: number[], sum: number, fromEot: boolean): void {
    const score = sum / tokens.length;
    if (this.beams.length < this.capacity || score > this.worst) {
      this.beams.push({ score, tokens: [...tokens], fromEot });
      if (this.beams.length > this.capacity) {
        const sorted = this.beams
          .map((beam, index) => ({ score: beam.score, index }))
          .sort((a, b) => a.score - b.score || a.index - b.index);
        this.beams.splice(sorted[0]!.index, 1);
        this.worst = sorted[1]!.score;
      } else {
        this.worst = Math.min(score, this.worst);
      }
    }
  }

  isDone(bestSum: number, length: number): boolean {
    if (this.beams.length < this.capacity) return false;
    return this.worst >= bestSum / length;
  }
}
