/**
 * The demo scorer: two ONNX graphs with CLIP's contract (DESIGN.md §4) embedding crops and texts in one attribute
 * space.
 *
 * - image: `image` float32[B,3,224,224] (OpenAI-normalized) → `embedding` float32[B,16], L2-normalized:
 *   [colour probabilities (6) · a, shape (3) · b, pattern (3) · c, g, 0, 0, 0] with the probabilities of
 *   captioner-features.ts.
 * - text: `text` int64[B,77] (sot … eot, zero-padded) → `embedding` float32[B,16], L2-normalized: each attribute word
 *   (world.ts names, and "stripes"/"dots") sets its dimension (Gather + ReduceSum over positions, clamped), plus the same generic
 *   component g. Other words — "a photo of", "shape", "object", the pad "!", byte pieces — add nothing.
 *
 * So a text scores on the attributes it names only: "a photo of a circle" measures shape, "a striped red circle" all
 * three, "an object" nothing (equal for every crop). The generic component keeps every cosine positive, so CLIP's
 * θ = 100 · cos lies in (0, 100] and the ratios UoS/DoS are meaningful: one attribute mismatch of a full caption
 * gives cos ≈ 0.70 (θ ratio ≈ 1.42, above the default τ = 1.3).
 */
import { addAttributeFeatures, ATTRIBUTE_COUNT, ATTRIBUTE_INDEX } from './captioner-features.ts';
import { l2Normalize } from './captioner.ts';
import { GraphBuilder, attr } from './onnx-builder.ts';
import { demoVocabulary, PATTERN_NOUNS, wordId } from './vocabulary.ts';
import { COLOURS, PATTERNS, SHAPES } from './world.ts';

/** Size E of both embeddings. */
export const SCORER_EMBED_SIZE = 16;
/** CLIP's context length: the text input is [B,77]. */
export const SCORER_CONTEXT = 77;
/** Weights of the colour, shape and pattern blocks and of the generic component. */
export const SCORER_WEIGHTS = { colour: 1, shape: 1, pattern: 1, generic: 0.6 } as const;

/** The scorer's two graphs (the tokenizer is the captioner's `tokenizer.json`). */
export interface DemoScorer {
  image: Uint8Array;
  text: Uint8Array;
}

/** Builds the demo scorer; deterministic (byte-identical on every call). */
export function buildDemoScorer(): DemoScorer {
  return { image: buildImage(), text: buildText() };
}

/** Per-dimension weights of the attribute block, in the order of the feature vector. */
function blockWeights(): number[] {
  return [
    ...COLOURS.map(() => SCORER_WEIGHTS.colour),
    ...SHAPES.map(() => SCORER_WEIGHTS.shape),
    ...PATTERNS.map(() => SCORER_WEIGHTS.pattern),
  ];
}

function buildImage(): Uint8Array {
  const g = new GraphBuilder('demo_scorer_image');
  const image = g.input('image', 'float32', ['B', 3, 224, 224]);
  const features = addAttributeFeatures(g, image);
  // in: probabilities [B,12] → [B,16]: weighted probabilities, generic, zeros.
  const weighted = g.op('Mul', [features.probabilities, g.floats(blockWeights(), [1, ATTRIBUTE_COUNT])]);
  const generic = g.op('Add', [
    g.op('ReduceMax', [g.op('Mul', [features.probabilities, g.floats([0], [1])])], {
      axes: attr.ints([1]),
      keepdims: attr.int(1),
    }),
    g.floats([SCORER_WEIGHTS.generic], [1]),
  ]);
  const raw = g.op('Pad', [
    g.op('Concat', [weighted, generic], { axis: attr.int(1) }),
    g.ints([0, 0, 0, SCORER_EMBED_SIZE - ATTRIBUTE_COUNT - 1]),
  ]);
  g.output(l2Normalize(g, raw), 'float32', ['B', SCORER_EMBED_SIZE], 'embedding');
  return g.toModel({ docString: 'Demo CLIP image tower (shapes world; not a real model).' });
}

function buildText(): Uint8Array {
  const g = new GraphBuilder('demo_scorer_text');
  const text = g.input('text', 'int64', ['B', SCORER_CONTEXT]);
  const { size } = demoVocabulary();
  // One row per vocabulary id: attribute words light their dimension, every other id is zero.
  const table = new Float32Array(size * SCORER_EMBED_SIZE);
  for (const name of [...COLOURS, ...SHAPES, ...PATTERNS]) {
    table[wordId(name) * SCORER_EMBED_SIZE + ATTRIBUTE_INDEX[name]] = 1;
  }
  for (const [noun, pattern] of Object.entries(PATTERN_NOUNS)) {
    table[wordId(noun) * SCORER_EMBED_SIZE + ATTRIBUTE_INDEX[pattern]] = 1;
  }
  // in: text int64[B,77] → [B,77,16] → summed over positions, a repeated word counts once.
  const summed = g.op(
    'ReduceSum',
    [g.op('Gather', [g.floats(table, [size, SCORER_EMBED_SIZE]), text], { axis: attr.int(0) }), g.ints([1])],
    {
      keepdims: attr.int(0),
    },
  );
  const present = g.op('Min', [summed, g.floats([1], [1])]);
  const scale = [...blockWeights(), 0, 0, 0, 0];
  const offset = new Array<number>(SCORER_EMBED_SIZE).fill(0);
  offset[ATTRIBUTE_COUNT] = SCORER_WEIGHTS.generic;
  const raw = g.op('Add', [
    g.op('Mul', [present, g.floats(scale, [1, SCORER_EMBED_SIZE])]),
    g.floats(offset, [1, SCORER_EMBED_SIZE]),
  ]);
  g.output(l2Normalize(g, raw), 'float32', ['B', SCORER_EMBED_SIZE], 'embedding');
  return g.toModel({ docString: 'Demo CLIP text tower (shapes world; not a real model).' });
}
