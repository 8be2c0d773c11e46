/**
 * The inspector's beam view, as rows to render: per step each group's beams with their running scores, the
 * hypotheses closed there, and whether a beam lies on the winner's path. Pure, so it is tested without a DOM.
 */
import type { BeamTrace } from '../../../shared/caption.ts';
import { tokenLabel } from './token-bars.ts';

/** One open beam after a step. */
export interface BeamCell {
  beam: number;
  /** The token this step appended, as the bar charts label tokens. */
  token: string;
  /** The whole prefix as text (sot dropped). */
  text: string;
  score: number;
  normalized: number;
  logProb: number;
  parent: number;
  /** The winner's prefix up to this step (in the winner's group). */
  onWinnerPath: boolean;
}

/** A hypothesis closed at a step (an eot pair ranked within the group size). */
export interface ClosedHypothesis {
  /** Index into the trace's hypotheses. */
  index: number;
  text: string;
  score: number;
  admitted: boolean;
  kept: boolean;
  winner: boolean;
}

/** One group at one step. */
export interface BeamGroupCell {
  group: number;
  done: boolean;
  beams: BeamCell[];
  closed: ClosedHypothesis[];
}

/** One step: every group. */
export interface BeamRow {
  step: number;
  groups: BeamGroupCell[];
}

/** One hypothesis as the hypotheses table lists it. */
export interface HypothesisRow extends ClosedHypothesis {
  group: number;
  /** The step that closed it, or null when it was an open beam at the end. */
  step: number | null;
  /** Its length (sot included, eot not): the score's divisor. */
  length: number;
  sum: number;
  logProb: number;
}

/** The text of token ids as the trace spells them (sot dropped, eot and pad not shown). */
export function beamText(trace: BeamTrace, ids: readonly number[]): string {
  const { sot, eot, pad } = trace.config.specialTokens;
  return ids
    .filter((id, i) => !(i === 0 && id === sot) && id !== eot && id !== pad)
    .map((id) => trace.tokenTexts[id] ?? `<${id}>`)
    .join('')
    .replace(/<\/w>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Every hypothesis, in the order the search offered them, with the winner marked. */
export function hypothesisRows(trace: BeamTrace): HypothesisRow[] {
  return trace.hypotheses.map((h, index) => ({
    index,
    group: h.group,
    step: h.step,
    text: beamText(trace, h.tokenIds),
    length: h.tokenIds.length,
    sum: h.sum,
    score: h.score,
    logProb: h.logProb,
    admitted: h.admitted,
    kept: h.kept,
    winner: index === trace.winner,
  }));
}

/** The per-step rows of the beam grid. */
export function beamRows(trace: BeamTrace): BeamRow[] {
  const winner = trace.hypotheses[trace.winner];
  const hypotheses = hypothesisRows(trace);
  const onPath = (group: number, ids: readonly number[]) =>
    winner !== undefined &&
    group === winner.group &&
    ids.length <= winner.tokenIds.length &&
    ids.every((id, i) => id === winner.tokenIds[i]);
  return trace.steps.map((step) => ({
    step: step.step,
    groups: step.groups.map((group) => ({
      group: group.group,
      done: group.done,
      beams: group.beams.map((beam, b) => ({
        beam: b,
        token: tokenLabel(trace.tokenTexts[beam.tokenIds[beam.tokenIds.length - 1]!] ?? ''),
        text: beamText(trace, beam.tokenIds),
        score: beam.score,
        normalized: beam.normalized,
        logProb: beam.logProb,
        parent: beam.parent,
        onWinnerPath: onPath(group.group, beam.tokenIds),
      })),
      closed: hypotheses
        .filter((h) => h.step === step.step && h.group === group.group)
        .map(({ index, text, score, admitted, kept, winner: isWinner }) => ({
          index,
          text,
          score,
          admitted,
          kept,
          winner: isWinner,
        })),
    })),
  }));
}

/** Why the winner won when it did not win on score alone, and which groups repeat each other. */
export interface BeamTieNote {
  /** Hypotheses (trace indices) that share the winner's final score, in the order the search offered them. */
  tied: number[];
  /** Sets of groups whose beams were identical at every step (each set ≥ 2 groups, in group order). */
  identicalGroups: number[][];
}

/**
 * The ties the beam view must explain. The reference picks the best hypothesis with Python's stable sort and pop(),
 * so among equal final scores the later one in group order wins; without a diversity penalty groups started from
 * the same crop can run identical searches, which is how three groups tie three ways.
 */
export function beamTies(trace: BeamTrace): BeamTieNote {
  const winner = trace.hypotheses[trace.winner];
  const tied = winner
    ? trace.hypotheses.flatMap((h, index) => (h.kept && h.score === winner.score ? [index] : []))
    : [];
  const signatures = new Map<string, number[]>();
  const groupCount = trace.steps[0]?.groups.length ?? 0;
  for (let g = 0; g < groupCount; g++) {
    const signature = JSON.stringify(trace.steps.map((step) => step.groups[g]?.beams.map((b) => b.tokenIds)));
    signatures.set(signature, [...(signatures.get(signature) ?? []), g]);
  }
  return {
    tied: tied.length > 1 ? tied : [],
    identicalGroups: [...signatures.values()].filter((s) => s.length > 1),
  };
}
