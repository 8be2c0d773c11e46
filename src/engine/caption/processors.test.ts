import { describe, expect, it } from 'vitest';
import {
  applyMinLength,
  applyRepetitionPenalty,
  processLogits,
  restrictedSoftmax,
  topKKept,
  topPKept,
} from './processors.ts';

const row = (...values: number[]) => Float64Array.from(values);

describe('min-length', () => {
  it('sets eot to −∞ while the prefix (sot included) is shorter than the minimum', () => {
    const logits = row(1, 2, 3);
    applyMinLength(logits, 4, 5, 2);
    expect(logits[2]).toBe(-Infinity);
    expect(logits[0]).toBe(1);
  });

  it('leaves eot alone once the prefix reaches the minimum length', () => {
    const logits = row(1, 2, 3);
    applyMinLength(logits, 5, 5, 2);
    expect(logits[2]).toBe(3);
  });

  it('rejects an eot id outside the vocabulary', () => {
    expect(() => applyMinLength(row(1, 2), 1, 5, 7)).toThrow('eot id 7 is outside the vocabulary [0, 2)');
  });
});

describe('repetition penalty', () => {
  it('divides positive and multiplies negative logits of tokens already in the prefix', () => {
    const logits = row(2, -2, 4, 1);
    applyRepetitionPenalty(logits, [0, 1, 0], 2);
    expect(Array.from(logits)).toEqual([1, -4, 4, 1]);
  });

  it('is a no-op at 1.0', () => {
    const logits = row(2, -2);
    applyRepetitionPenalty(logits, [0, 1], 1);
    expect(Array.from(logits)).toEqual([2, -2]);
  });

  it('rejects a non-positive penalty', () => {
    expect(() => applyRepetitionPenalty(row(1), [0], 0)).toThrow('repetition penalty must be > 0, got 0');
  });

  it('processLogits applies min-length and penalty to a float64 copy', () => {
    const raw = Float32Array.from([2, 1, 3]);
    const processed = processLogits(raw, [0, 1], { minLength: 5, repetitionPenalty: 2, eot: 2 });
    expect(Array.from(processed)).toEqual([1, 0.5, -Infinity]);
    expect(raw[2]).toBe(3);
  });
});

describe('top-k kept set', () => {
  it('keeps the k largest logits', () => {
    expect(Array.from(topKKept(row(0.1, 3, 2, -1, 5), 2))).toEqual([1, 4]);
  });

  it('keeps every token tied with the k-th largest', () => {
    // k = 2: the 2nd largest is 3, shared by ids 1 and 2, so three tokens stay.
    expect(Array.from(topKKept(row(5, 3, 3, 1), 2))).toEqual([0, 1, 2]);
  });

  it('keeps everything when k exceeds the vocabulary', () => {
    expect(Array.from(topKKept(row(1, -Infinity, 2), 10))).toEqual([0, 1, 2]);
  });

  it('never keeps a −∞ token when enough finite ones exist', () => {
    expect(Array.from(topKKept(row(1, -Infinity, 2), 2))).toEqual([0, 2]);
  });

  it('agrees with a full sort on a large vocabulary with ties', () => {
    let state = 7;
    const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const logits = Float64Array.from({ length: 5000 }, () => Math.round(next() * 300) / 10);
    for (const k of [1, 5, 13, 100]) {
      const kth = Float64Array.from(logits).sort()[logits.length - k]!;
      expect(Array.from(topKKept(logits, k))).toEqual(
        Array.from(logits.keys()).filter((id) => logits[id]! >= kth),
      );
    }
  });

  it('rejects k < 1', () => {
    expect(() => topKKept(row(1), 0)).toThrow('top-k k must be an integer ≥ 1, got 0');
  });
});

describe('top-p kept set', () => {
  // probabilities 0.25, 0.25, 0.5 (logits log 1, log 1, log 2)
  const quarterHalf = row(0, 0, Math.log(2));

  it('drops tokens whose ascending cumulative probability is ≤ 1 − p', () => {
    // 1 − p = 0.5; cumulative 0.25, 0.5, 1.0: the first two are ≤ 0.5 and dropped.
    expect(Array.from(topPKept(quarterHalf, 0.5))).toEqual([2]);
  });

  it('keeps a token whose cumulative probability is just above 1 − p', () => {
    // 1 − p = 0.4: cumulative 0.25 dropped, 0.5 > 0.4 kept.
    expect(Array.from(topPKept(quarterHalf, 0.6))).toEqual([1, 2]);
  });

  it('keeps every token at p = 1', () => {
    expect(Array.from(topPKept(quarterHalf, 1))).toEqual([0, 1, 2]);
  });

  it('always keeps the most likely token even for a tiny p', () => {
    expect(Array.from(topPKept(row(0, 0, 0, 0), 1e-9))).toEqual([3]);
  });

  it('never keeps eot at −∞ (probability 0)', () => {
    // −∞ has probability 0: cumulative 0 ≤ 1 − p = 0 drops it.
    expect(Array.from(topPKept(row(1, -Infinity, 1), 1))).toEqual([0, 2]);
  });

  it('among tokens tied at the boundary keeps the later ones in the ascending sort (ties ordered by id)', () => {
    // four equal tokens, p = 0.5: cumulative 0.25, 0.5 (≤ 0.5, dropped), 0.75, 1.0 → two kept, the higher ids.
    expect(Array.from(topPKept(row(1, 1, 1, 1), 0.5))).toEqual([2, 3]);
  });

  it('agrees with a literal transcription of TopPLogitsWarper on random logits with ties', () => {
    let state = 12345;
    const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (let trial = 0; trial < 200; trial++) {
      const logits = Float64Array.from(
        { length: 40 },
        () => Math.round(next() * 8) / 2 - (next() < 0.1 ? Infinity : 0),
      );
      const p = [0.1, 0.4, 0.5, 0.8, 0.95, 1][trial % 6]!;
      expect(Array.from(topPKept(logits, p))).toEqual(literalTopP(logits, p));
    }
  });

  it('agrees with the literal warper on a large vocabulary (the pruned path: only the top tokens are sorted)', () => {
    let state = 99;
    const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (const [spread, p] of [
      [1, 0.4],
      [3, 0.8],
      [0.2, 0.95],
      [6, 0.1],
      [0.05, 0.5],
    ] as const) {
      const logits = Float64Array.from({ length: 3000 }, () => Math.round(next() * spread * 40) / 10);
      expect(Array.from(topPKept(logits, p))).toEqual(literalTopP(logits, p));
    }
  });

  it('rejects p outside (0, 1]', () => {
    expect(() => topPKept(quarterHalf, 0)).toThrow('top-p p must be in (0, 1], got 0');
    expect(() => topPKept(quarterHalf, 1.5)).toThrow('top-p p must be in (0, 1], got 1.5');
  });
});

describe('restricted softmax', () => {
  it('normalizes over the kept set only, divided by the temperature', () => {
    const probabilities = restrictedSoftmax(row(0, Math.log(3), 100), Int32Array.from([0, 1]), 1);
    expect(probabilities[0]).toBeCloseTo(0.25, 12);
    expect(probabilities[1]).toBeCloseTo(0.75, 12);
    expect(probabilities[2]).toBe(0);
  });

  it('flattens with a higher temperature', () => {
    // logits 0 and 2 at T = 2 → weights 1 and e: p = 1/(1+e)
    const probabilities = restrictedSoftmax(row(0, 2), Int32Array.from([0, 1]), 2);
    expect(probabilities[0]).toBeCloseTo(1 / (1 + Math.E), 12);
  });

  it('throws when every kept logit is −∞', () => {
    expect(() => restrictedSoftmax(row(-Infinity, 1), Int32Array.from([0]))).toThrow(
      'every kept token has logit −∞',
    );
  });
});

/** sort ascending (ties by id), cumulative softmax, drop ≤ 1 − p, keep the last: the warper as written. */
function literalTopP(logits: Float64Array, p: number): number[] {
  const max = Math.max(...logits);
  let sum = 0;
  for (const value of logits) sum += Math.exp(value - max);
  const order = Array.from(logits.keys()).sort((a, b) => logits[a]! - logits[b]! || a - b);
  const kept: number[] = [];
  let cumulative = 0;
  order.forEach((id, rank) => {
    cumulative += Math.exp(logits[id]! - max) / sum;
    if (cumulative > 1 - p || rank === order.length - 1) kept.push(id);
  });
  return kept.sort((a, b) => a - b);
}
