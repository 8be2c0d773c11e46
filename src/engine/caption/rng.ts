/**
 * A seedable random source that gives the same numbers on every platform.
 *
 * xoshiro128** (Blackman & Vigna) over 32-bit integer arithmetic (`Math.imul`, `>>> 0`), seeded from a string
 * hash, so nothing depends on the platform's floating point or on `Math.random`. Independent streams are derived by
 * hashing a stream name ("<seed>|<image>|<mask>|<crop>|<setting>"): a rerun of one crop reproduces its samples no
 * matter which other crops or settings run beside it.
 */

/** A stream of uniforms in [0, 1) with 53 random bits each. */
export interface RandomSource {
  /** Next uniform in [0, 1). */
  uniform(): number;
  /** Next raw 32-bit unsigned integer. */
  nextUint32(): number;
}

/** Creates a stream from a 128-bit state given as four 32-bit words (not all zero). */
export function xoshiro128(state: readonly [number, number, number, number]): RandomSource {
  let [a, b, c, d] = state.map((word) => word >>> 0) as [number, number, number, number];
  if ((a | b | c | d) === 0) throw new Error('xoshiro128** state must not be all zero');
  const nextUint32 = (): number => {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = (b << 9) >>> 0;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result;
  };
  return {
    nextUint32,
    uniform(): number {
      // 27 + 26 bits, the same construction as numpy's random_double: exact multiples of 2^-53.
      const high = nextUint32() >>> 5;
      const low = nextUint32() >>> 6;
      return (high * 67108864 + low) / 9007199254740992;
    },
  };
}

/** The random stream named `name` under `seed` (see the module comment for the naming). */
export function streamFor(seed: number, name: string): RandomSource {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
  return xoshiro128(hash128(`${seed}|${name}`));
}

/** The stream name of one crop and sampling setting: `<imageId>|mask<m>|<crop>|<setting>`. */
export function streamName(imageId: string, maskIndex: number, cropKey: string, settingKey: string): string {
  return `${imageId}|mask${maskIndex}|${cropKey}|${settingKey}`;
}

/**
 * Draws from unnormalized non-negative weights as `torch.multinomial(weights, 1)` would in distribution: the first
 * id (in the order given) whose cumulative weight exceeds `uniform · Σ weights`.
 *
 * `ids` lists the candidate ids (ascending by convention); `weights` is indexed by id. Throws when the weights sum to
 * ≤ 0 or are not finite, naming the sum.
 */
export function drawFromWeights(weights: ArrayLike<number>, ids: ArrayLike<number>, uniform: number): number {
  if (!(uniform >= 0 && uniform < 1)) throw new RangeError(`uniform must be in [0, 1), got ${uniform}`);
  let total = 0;
  for (let i = 0; i < ids.length; i++) {
    const weight = weights[ids[i]!]!;
    if (weight < 0 || Number.isNaN(weight))
      throw new RangeError(`weight of token ${ids[i]} is ${weight}; weights must be ≥ 0`);
    total += weight;
  }
  if (!(total > 0) || !Number.isFinite(total))
    throw new RangeError(`sampling weights sum to ${total}; need a finite sum > 0`);
  const target = uniform * total;
  let cumulative = 0;
  let lastPositive = -1;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    const weight = weights[id]!;
    if (weight <= 0) continue;
    cumulative += weight;
    lastPositive = id;
    if (cumulative > target) return id;
  }
  // Rounding can leave the running sum a hair below target·total at the very end: the last positive weight wins.
  return lastPositive;
}

/** A 128-bit hash of a string (cyrb128 mixing of its UTF-16 code units), as four 32-bit words, never all zero. */
export function hash128(text: string): [number, number, number, number] {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  const words: [number, number, number, number] = [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
  if ((words[0] | words[1] | words[2] | words[3]) === 0) words[0] = 1;
  return words;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
