/**
 * The captioner's public types: sessions (or their openers), options, work counters and encoded crops
 * (captioner.ts runs them).
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

/** Which decoder path a captioner runs. */
export type DecoderPath = 'cached' | 'full-prefix';

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
  /** Padding rows of grouped cached-decoder runs (computed and discarded; groups.ts). */
  decoderPaddingRows: number;
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
    decoderPaddingRows: 0,
    sessionMilliseconds: 0,
  };
}

/** Encoded crops of one crop type: latents and image tokens, reused by every decoding of those crops. */
export interface EncodedCrops {
  count: number;
  /** float32[n, D] as the graph returned it (the DCS cosine normalizes). */
  latents: Float32Array;
  latentSize: number;
  /** float32[n, T, W]. */
  embs: Float32Array;
  tokens: number;
  width: number;
}

/** One decoder request: a prefix (sot first) paired with an encoded crop. */
export interface StepPair {
  prefix: readonly number[];
  image: number;
}

/** Options of {@link Captioner}. */
export interface CaptionerOptions {
  /** Share text and decoder rows between identical prefixes / (prefix, image) pairs (default true). */
  dedupe?: boolean;
  /** Largest batch per session run (default 256); bigger requests are split. */
  maxBatch?: number;
  /**
   * Decoder path: 'auto' (default) runs the cached decoder when its sessions are given, 'off' always runs the
   * full-prefix text + decoder graphs (the reference-equivalent mode).
   */
  cache?: 'auto' | 'off';
  /**
   * Rows per cached-decoder run: a number, or 'auto' to measure at the first cached step (per-row time of a few
   * batch sizes up to `maxBatch` on the session's provider; the fastest per row wins). Default: `maxBatch`.
   */
  decoderBatch?: number | 'auto';
  /**
   * One cached-decoder run per step for the rows of all crops (manifest `captioner.crossGrouped`: the pack's
   * decoderWithPast takes C crops' cross_* [C,Hx,T,Dx] and C·R rows grouped by crop). Default false: one run per crop.
   */
  cropGroups?: boolean;
}
