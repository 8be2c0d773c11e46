/**
 * Seeded randomness for tests and test fixtures (never `Math.random`, so a failing case replays from its seed).
 *
 * Test tooling only: production code draws from its own streams (engine/caption/rng.ts, engine/demo/random.ts).
 */

/** mulberry32: a small seeded generator of uniform numbers in [0, 1) (32-bit state, period 2^32). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
