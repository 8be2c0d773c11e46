/**
 * The captioner's sessions: what a session must offer, the sources they are opened from (lazily, once each), and the
 * work counters every session run feeds (DESIGN.md §10).
 */
import type { DeclaredInputs, Tensor } from '../runtime/index.ts';

/** The part of a session the captioner needs (satisfied by the runtime's `ModelSession`). */
export interface SessionLike {
  run(feeds: Record<string, Tensor>): Promise<Record<string, Tensor>>;
}

/** A session whose declared inputs can be read (the cached decoder's layer count and head shapes). */
export type DeclaredSessionLike = SessionLike & DeclaredInputs;

/**
 * A session, or an opener called on the session's first use (at most once; the pack caches the session). Openers let
 * a captioner hold only what its path runs: the cached path never opens the full-prefix text + decoder graphs.
 */
export type SessionSource<T extends SessionLike = SessionLike> = T | (() => Promise<T>);

/** The captioner's sessions: the three graphs, plus the cached contract's two when the pack offers them. */
export interface CaptionerSessions {
  visual: SessionSource;
  text: SessionSource;
  decoder: SessionSource;
  /** `captioner.cross`: image_embs → cross_key_j / cross_value_j. */
  cross?: SessionSource;
  /** `captioner.decoderWithPast`: one new position per row with the self-attention cache. */
  decoderWithPast?: SessionSource<DeclaredSessionLike>;
}

/** Captioner sessions that are all open already (tests, tools that hold bare sessions). */
export interface OpenCaptionerSessions extends CaptionerSessions {
  visual: SessionLike;
  text: SessionLike;
  decoder: SessionLike;
  cross?: SessionLike;
  decoderWithPast?: DeclaredSessionLike;
}

/** One of the captioner's graphs. */
export type Graph = keyof CaptionerSessions;

/** Work counters (DESIGN.md §10): what the bench prints per caption, per crop and per step. */
export interface CaptionCounters {
  visualRuns: number;
  textRuns: number;
  decoderRuns: number;
  /** Crops through the visual encoder (a crop encoded twice counts twice). */
  imagesEncoded: number;
  /** Σ B·L over text-tower runs. */
  textTokenPositions: number;
  /** Σ B·L over decoder runs: the reference re-runs the whole prefix every step (no KV cache). */
  decoderTokenPositions: number;
  /** Σ B over decoder runs. */
  decoderRows: number;
  /** Runs of the cross graph (cached path). */
  crossRuns: number;
  /** Crops whose cross-attention keys/values were computed (cached path; goal: once per crop). */
  crossComputations: number;
  /** Milliseconds spent inside `session.run` (every graph). */
  sessionMilliseconds: number;
}

/** Fresh zeroed counters. */
export function emptyCounters(): CaptionCounters {
  return {
    visualRuns: 0,
    textRuns: 0,
    decoderRuns: 0,
    imagesEncoded: 0,
    textTokenPositions: 0,
    decoderTokenPositions: 0,
    decoderRows: 0,
    crossRuns: 0,
    crossComputations: 0,
    sessionMilliseconds: 0,
  };
}

/**
 * The captioner's graphs, each opened from its source on first use and run with its time and run count added to the
 * counters.
 */
export class CaptionerGraphs {
  /** Sessions resolved from their sources, per graph (one open each; a failed open is retried on the next use). */
  private readonly opened = new Map<Graph, Promise<SessionLike>>();

  constructor(
    private readonly sessions: CaptionerSessions,
    private readonly counters: CaptionCounters,
  ) {}

  /** The session of a graph, opening it from its source on first use. */
  session(graph: Graph): Promise<SessionLike> {
    let found = this.opened.get(graph);
    if (!found) {
      const source = this.sessions[graph];
      if (!source) throw new Error(`the captioner has no ${graph} session`);
      found = typeof source === 'function' ? source() : Promise.resolve(source);
      this.opened.set(graph, found);
      found.catch(() => this.opened.delete(graph));
    }
    return found;
  }

  /** Runs a graph, counting the run and the time inside `session.run`. */
  async run(graph: Graph, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
    const session = await this.session(graph);
    const started = performance.now();
    const out = await session.run(feeds);
    this.counters.sessionMilliseconds += performance.now() - started;
    if (graph === 'visual') this.counters.visualRuns++;
    else if (graph === 'text') this.counters.textRuns++;
    else if (graph === 'cross') this.counters.crossRuns++;
    else this.counters.decoderRuns++;
    return out;
  }
}
