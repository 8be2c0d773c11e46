/**
 * The demo captioner: three ONNX graphs with CoCa's contract (DESIGN.md §4) and a real conditional language model.
 *
 * - visual: `image` float32[B,3,224,224] (OpenAI-normalized) → `image_latent` float32[B,16] (L2-normalized) and
 *   `image_embs` float32[B,2,64]: row 0 holds the attribute probabilities of captioner-features.ts (+ a constant 1),
 *   row 1 the raw measurements behind them.
 * - text: `text` int64[B,L] (starts with sot) → `token_embs` float32[B,L,64]. Causal by construction: each token is
 *   mapped (Gather) to its grammatical class, and a CumSum over positions records what has been said so far (a frame
 *   "… of", the tail "on …", a pattern word); position t's embedding is the one-hot of (class of token t) × (context
 *   up to t), plus the "pattern said" flag.
 * - decoder: `image_embs` [B,T,64], `token_embs` [B,L,64] → `logits` float32[B,L,V]: log-probabilities of a bilinear
 *   model — for each grammar state, a log-weight per word plus β · (image probability of the word's attribute).
 *   Either batch may be 1 and broadcast (DCS pairs one prefix with every other crop's `image_embs`).
 *
 * The grammar writes CoCa-like captions: `[a photo of | a picture of | an image of] a|an [pattern] [colour]
 * (shape|"shape"|"object") [with (stripes|dots)] [on a grey background]`. Generic words are likely ("a red shape",
 * "an object", no pattern word at all), so plain sampling is often ambiguous, while attribute words carry the image,
 * so DCS, which subtracts the other crops' logits, favours the distinguishing attribute. DCS also flattens every
 * image-independent choice by (1 − s_ij), so wrong attribute words sit β = 20 below the right one and "with" is
 * steeply conditioned on a pattern: otherwise calibration between similar crops would revive them. Ungrammatical words get −200 and non-word tokens
 * −1000 before the log-softmax, so top-k never reaches a non-word token (27 words > any k of the reference) and
 * DCS's calibration keeps them far down even for very similar crops.
 */
import { addAttributeFeatures, ATTRIBUTE_COUNT, ATTRIBUTE_INDEX } from './captioner-features.ts';
import { GraphBuilder, attr } from './onnx-builder.ts';
import { demoTokenizerJson } from './tokenizer-json.ts';
import { DEMO_WORDS, demoVocabulary, PATTERN_NOUNS, wordId } from './vocabulary.ts';
import { COLOURS, PATTERNS, SHAPES } from './world.ts';

/** Width W of `image_embs` and `token_embs`. */
export const EMBED_WIDTH = 64;
/** Image tokens T of `image_embs`. */
export const IMAGE_TOKENS = 2;
/** Size D of `image_latent`. */
export const LATENT_SIZE = 16;

/** Log-weight of a word the grammar does not allow in a state. */
export const UNGRAMMATICAL = -200;
/** Logit of a token that is no demo word (byte pieces, partial merges, sot, the pad "!"). */
export const NON_WORD = -1000;
/**
 * How strongly an attribute word follows the image: + β · p(attribute). Large on purpose: a wrong attribute word must
 * stay far below the right one after DCS multiplies shared log-weights by (1 − s_ij) (s ≈ 0.8 for near twins).
 */
export const ATTRIBUTE_BETA = 20;
/**
 * How strongly "with" (→ "with stripes/dots") follows a patterned image. Steep on purpose: for a plain object "with"
 * must be as good as ungrammatical, or DCS, which flattens image-independent choices by (1 − s), would revive it.
 */
const WITH_BETA = 30;

/** The three graphs, the tokenizer and the special ids handed to the pack builder. */
export interface DemoCaptioner {
  visual: Uint8Array;
  text: Uint8Array;
  decoder: Uint8Array;
  /** The cached contract's graphs (runtime/README.md "Fast contracts"). */
  cross: Uint8Array;
  decoderWithPast: Uint8Array;
  tokenizerJson: string;
  specialTokens: { sot: number; eot: number; pad: number };
  vocabSize: number;
}

/** Builds the demo captioner; deterministic (byte-identical on every call). */
export function buildDemoCaptioner(): DemoCaptioner {
  const vocabulary = demoVocabulary();
  return {
    visual: buildVisual(),
    text: buildText(),
    decoder: buildDecoder(),
    cross: buildCross(),
    decoderWithPast: buildDecoderWithPast(),
    tokenizerJson: demoTokenizerJson(),
    specialTokens: { sot: vocabulary.sot, eot: vocabulary.eot, pad: vocabulary.pad },
    vocabSize: vocabulary.size,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Grammar

/** Grammatical classes of tokens: what the next word depends on. */
const CLASSES = [
  'sot',
  'a',
  'an',
  'frame',
  'of',
  'pattern',
  'colour',
  'noun',
  'with',
  'patternNoun',
  'on',
  'grey',
  'background',
  'other',
] as const;
type TokenClass = (typeof CLASSES)[number];
/** Contexts: before any "of"/"on", after "of" (the object phrase of a frame), after "on" (the tail). */
const CONTEXTS = ['start', 'object', 'tail'] as const;
type Context = (typeof CONTEXTS)[number];
/** Grammar states = classes × contexts (the leading dims of `token_embs`). */
const GRAMMAR_STATES = CLASSES.length * CONTEXTS.length;
/** State dims the decoder reads: the grammar state one-hot, then "a pattern word has been said" (0/1). */
const STATE_COUNT = GRAMMAR_STATES + 1;
const PATTERN_SAID = GRAMMAR_STATES;
/** Image features M the decoder reads: the 12 attribute probabilities and a constant 1 (the bias). */
const FEATURE_COUNT = ATTRIBUTE_COUNT + 1;
const BIAS = ATTRIBUTE_COUNT;

/** The words the decoder scores (the demo words and eot), in logit-column order. */
const OUTPUT_WORDS = [...DEMO_WORDS, '<eot>'];

function classOf(word: string): TokenClass {
  if (['a', 'an', 'of', 'on', 'grey', 'background', 'with'].includes(word)) return word as TokenClass;
  if (word in PATTERN_NOUNS) return 'patternNoun';
  if (word === 'photo' || word === 'picture' || word === 'image') return 'frame';
  if ((PATTERNS as readonly string[]).includes(word)) return 'pattern';
  if ((COLOURS as readonly string[]).includes(word)) return 'colour';
  if ((SHAPES as readonly string[]).includes(word) || word === 'shape' || word === 'object') return 'noun';
  return 'other';
}

/** One word's weight in a state: log-weight, optionally raised by β · p(attribute) for each listed attribute. */
interface Entry {
  word: string;
  logWeight: number;
  attributes?: string[];
  beta?: number;
}

/**
 * An attribute group whose members share a probability mass `total` when the image is certain: each word gets
 * log(total) − β, raised by β · p(its attribute), so the true attribute word carries `total` and the others e^−β less.
 */
function attributeGroup(words: readonly string[], total: number, beta = ATTRIBUTE_BETA): Entry[] {
  return words.map((word) => ({
    word,
    logWeight: Math.log(total) - beta,
    attributes: [PATTERN_NOUNS[word] ?? word],
    beta,
  }));
}

/** The object phrase after the article "a" (orange needs "an"), scaled by `scale`. */
function afterA(scale: number): Entry[] {
  return [
    ...attributeGroup(
      COLOURS.filter((c) => c !== 'orange'),
      0.42 * scale,
    ),
    ...attributeGroup(['striped', 'dotted'], 0.3 * scale),
    ...attributeGroup(['plain'], 0.04 * scale),
    ...attributeGroup(SHAPES, 0.15 * scale),
    { word: 'shape', logWeight: Math.log(0.13 * scale) },
  ];
}

/** The object phrase after "an": "orange …" or the generic "object". */
function afterAn(scale: number): Entry[] {
  return [...attributeGroup(['orange'], 0.7 * scale), { word: 'object', logWeight: Math.log(0.3 * scale) }];
}

/**
 * The article before an object phrase: "an" rises with the image's orange. Its image-independent part stays small:
 * DCS flattens image-independent choices by (1 − s), and "an" mostly leads to the generic "an object".
 */
function article(): Entry[] {
  return [
    { word: 'a', logWeight: Math.log(0.8) },
    { word: 'an', logWeight: Math.log(0.01), attributes: ['orange'], beta: 5 },
  ];
}

const w = (word: string, probability: number): Entry => ({ word, logWeight: Math.log(probability) });

/** The grammar: next-word entries per (class, context); states not listed fall back to {@link DEFAULT_STATE}. */
function grammar(): Map<string, Entry[]> {
  const table = new Map<string, Entry[]>();
  const set = (cls: TokenClass, contexts: readonly Context[], entries: Entry[]) => {
    for (const context of contexts) table.set(`${cls}/${context}`, entries);
  };
  set(
    'sot',
    ['start'],
    [w('a', 0.8), { word: 'an', logWeight: Math.log(0.01), attributes: ['orange'], beta: 5 }],
  );
  // After a first "a": a frame ("a photo of …") or directly the object phrase ("a red circle").
  set('a', ['start'], [w('photo', 0.4), w('picture', 0.1), ...afterA(0.5)]);
  set('an', ['start'], [w('image', 0.5), ...afterAn(0.5)]);
  set('frame', ['start'], [w('of', 1)]);
  set('of', ['object'], article());
  set('a', ['object'], afterA(1));
  set('an', ['object'], afterAn(1));
  set(
    'pattern',
    ['start', 'object'],
    [...attributeGroup(COLOURS, 0.55), ...attributeGroup(SHAPES, 0.25), w('shape', 0.15), w('object', 0.05)],
  );
  set('colour', ['start', 'object'], [...attributeGroup(SHAPES, 0.52), w('shape', 0.33), w('object', 0.15)]);
  // A short caption ("a red circle") continues with the tail more often; min length 5 forbids eot there anyway.
  // "with stripes/dots" follows a patterned object now and then (never after a pattern word: see PATTERN_SAID).
  const withPattern: Entry = {
    word: 'with',
    logWeight: Math.log(0.12) - WITH_BETA,
    attributes: ['striped', 'dotted'],
    beta: WITH_BETA,
  };
  set('noun', ['start'], [w('<eot>', 0.7), w('on', 0.2), withPattern]);
  set('noun', ['object'], [w('<eot>', 0.82), w('on', 0.06), withPattern]);
  set('with', ['start', 'object'], attributeGroup(['stripes', 'dots'], 0.5));
  set('patternNoun', ['start', 'object'], [w('<eot>', 0.85), w('on', 0.15)]);
  set('on', ['tail'], [w('a', 1)]);
  set('a', ['tail'], [w('grey', 1)]);
  set('grey', ['tail'], [w('background', 1)]);
  set('background', ['tail'], [w('<eot>', 1)]);
  return table;
}

/** Anything else (an unexpected token): end, or recover with the tail when eot is still forbidden. */
const DEFAULT_STATE: Entry[] = [w('<eot>', 0.9), w('on', 0.1)];

/** Bilinear weights float32[S·M, words]: row s·M + m, column = word. */
function decoderWeights(): Float32Array {
  const table = grammar();
  const columns = OUTPUT_WORDS.length;
  const weights = new Float32Array(STATE_COUNT * FEATURE_COUNT * columns);
  CLASSES.forEach((cls, c) => {
    CONTEXTS.forEach((context, x) => {
      const state = c * CONTEXTS.length + x;
      const entries = table.get(`${cls}/${context}`) ?? DEFAULT_STATE;
      const row = (m: number) => (state * FEATURE_COUNT + m) * columns;
      for (let word = 0; word < columns; word++) weights[row(BIAS) + word] = UNGRAMMATICAL;
      for (const entry of entries) {
        const column = OUTPUT_WORDS.indexOf(entry.word);
        if (column < 0) throw new Error(`grammar names "${entry.word}", which is not an output word`);
        weights[row(BIAS) + column] = entry.logWeight;
        for (const attribute of entry.attributes ?? []) {
          weights[row(ATTRIBUTE_INDEX[attribute]) + column] = entry.beta ?? ATTRIBUTE_BETA;
        }
      }
    });
  });
  // Once a pattern word has been said, "with (stripes|dots)" would repeat it.
  weights[(PATTERN_SAID * FEATURE_COUNT + BIAS) * columns + OUTPUT_WORDS.indexOf('with')] = UNGRAMMATICAL;
  return weights;
}

// ---------------------------------------------------------------------------------------------------------------
// Graphs

function buildVisual(): Uint8Array {
  const g = new GraphBuilder('demo_captioner_visual');
  const image = g.input('image', 'float32', ['B', 3, 224, 224]);
  const features = addAttributeFeatures(g, image);
  // in: probabilities [B,12] → row 0 of image_embs: probabilities, 1 (bias), zeros.
  const batchOnes = g.op('ReduceMax', [g.op('Mul', [features.probabilities, g.floats([0], [1])])], {
    axes: attr.ints([1]),
    keepdims: attr.int(1),
  }); // [B,1] of zeros, made from the input so the batch size follows it
  const one = g.op('Add', [batchOnes, g.floats([1], [1])]);
  const row0 = padLast(
    g,
    g.op('Concat', [features.probabilities, one], { axis: attr.int(1) }),
    FEATURE_COUNT,
    EMBED_WIDTH,
  );
  const row1 = padLast(g, features.measurements, 8, EMBED_WIDTH);
  const embs = g.op(
    'Concat',
    [g.op('Unsqueeze', [row0, g.ints([1])]), g.op('Unsqueeze', [row1, g.ints([1])])],
    {
      axis: attr.int(1),
    },
  );
  g.output(embs, 'float32', ['B', IMAGE_TOKENS, EMBED_WIDTH], 'image_embs');
  // image_latent: weighted attribute probabilities + a shared constant, L2-normalized. Weights set how similar two
  // crops look to DCS: colour counts most, then shape, then pattern (cos ≈ 0.68 for same colour+pattern).
  const latentWeights = [
    ...COLOURS.map(() => 1.0),
    ...SHAPES.map(() => 0.9),
    ...PATTERNS.map(() => 0.7),
    0.45,
  ];
  const latentRaw = padLast(
    g,
    g.op('Mul', [
      g.op('Concat', [features.probabilities, one], { axis: attr.int(1) }),
      g.floats(latentWeights, [1, FEATURE_COUNT]),
    ]),
    FEATURE_COUNT,
    LATENT_SIZE,
  );
  const latent = l2Normalize(g, latentRaw);
  g.output(latent, 'float32', ['B', LATENT_SIZE], 'image_latent');
  return g.toModel({ docString: 'Demo CoCa visual tower (shapes world; not a real model).' });
}

function buildText(): Uint8Array {
  const g = new GraphBuilder('demo_captioner_text');
  const text = g.input('text', 'int64', ['B', 'L']);
  const { classes, flags } = tokenTables(g, text);
  // Causal: "said so far" counts are a CumSum over positions ≤ t.
  const counts = g.op('CumSum', [flags, g.ints([1], [])]);
  g.output(textState(g, classes, counts), 'float32', ['B', 'L', EMBED_WIDTH], 'token_embs');
  return g.toModel({ docString: 'Demo CoCa text tower (shapes world; not a real model).' });
}

/** in: text int64[B,L] → classes float32[B,L,14] (one-hot) and the "of"/"on"/pattern flags float32[B,L,3]. */
function tokenTables(g: GraphBuilder, text: string): { classes: string; flags: string } {
  const { size } = demoVocabulary();
  const idToClass = tokenClasses();
  const classTable = new Float32Array(size * CLASSES.length);
  const flagTable = new Float32Array(size * 3);
  idToClass.forEach((cls, id) => (classTable[id * CLASSES.length + CLASSES.indexOf(cls)] = 1));
  flagTable[wordId('of') * 3] = 1;
  flagTable[wordId('on') * 3 + 1] = 1;
  for (const word of [...PATTERNS, ...Object.keys(PATTERN_NOUNS)]) flagTable[wordId(word) * 3 + 2] = 1;
  const classes = g.op('Gather', [g.floats(classTable, [size, CLASSES.length]), text], { axis: attr.int(0) });
  const flags = g.op('Gather', [g.floats(flagTable, [size, 3]), text], { axis: attr.int(0) });
  return { classes, flags };
}

/**
 * in: classes [B,L,14], counts [B,L,3] (flags summed over positions ≤ t) → token_embs [B,L,64]. Shared by the text
 * tower and the cached decoder, so both compute a position's embedding with the same operations.
 */
function textState(g: GraphBuilder, classes: string, counts: string): string {
  const seen = g.op('Min', [counts, g.floats([1], [1])]);
  const slice = (x: string, from: number, to: number) =>
    g.op('Slice', [x, g.ints([from]), g.ints([to]), g.ints([2])]);
  const seenOf = slice(seen, 0, 1);
  const seenOn = slice(seen, 1, 2);
  const seenPattern = slice(seen, 2, 3);
  const notOn = g.op('Sub', [g.floats([1], [1]), seenOn]);
  const start = g.op('Mul', [g.op('Sub', [g.floats([1], [1]), seenOf]), notOn]);
  const object = g.op('Mul', [seenOf, notOn]);
  const context = g.op('Concat', [start, object, seenOn], { axis: attr.int(2) }); // [B,L,3]
  const state = g.op('Reshape', [
    g.op('Mul', [g.op('Unsqueeze', [classes, g.ints([3])]), g.op('Unsqueeze', [context, g.ints([2])])]),
    g.ints([0, 0, GRAMMAR_STATES]),
  ]); // [B,L,42]
  // token_embs: grammar state (42), pattern said (1), "of"/"on" seen (2), zeros.
  return padLast(
    g,
    g.op('Concat', [state, seenPattern, slice(seen, 0, 2)], { axis: attr.int(2) }),
    STATE_COUNT + 2,
    EMBED_WIDTH,
    3,
  );
}

function buildDecoder(): Uint8Array {
  const g = new GraphBuilder('demo_captioner_decoder');
  const imageEmbs = g.input('image_embs', 'float32', ['B', IMAGE_TOKENS, EMBED_WIDTH]);
  const tokenEmbs = g.input('token_embs', 'float32', ['B', 'L', EMBED_WIDTH]);
  // in: image_embs [B,T,W] → row 0 [B,W] (probabilities + bias).
  const row0 = g.op('Gather', [imageEmbs, g.ints([0], [])], { axis: attr.int(1) });
  g.output(decoderLogits(g, row0, tokenEmbs), 'float32', ['B', 'L', demoVocabulary().size], 'logits');
  return g.toModel({ docString: 'Demo CoCa multimodal decoder (shapes world; not a real model).' });
}

/**
 * in: row 0 of image_embs [B,W] (or one crop's [1,W], broadcast), token_embs [B,L,W] → log-probabilities [B,L,V]. Shared by the full-prefix decoder and
 * the cached decoder (with L = 1), so a position's logits come from the same operations on the same values.
 */
function decoderLogits(g: GraphBuilder, row0: string, tokenEmbs: string): string {
  const { size } = demoVocabulary();
  // features [B,1,1,13]
  const features = g.op('Slice', [row0, g.ints([0]), g.ints([FEATURE_COUNT]), g.ints([1])]);
  const features4 = g.op('Unsqueeze', [features, g.ints([1, 2])]);
  // in: token_embs [B,L,W] → state [B,L,43,1].
  const state = g.op('Slice', [tokenEmbs, g.ints([0]), g.ints([STATE_COUNT]), g.ints([2])]);
  const state4 = g.op('Unsqueeze', [state, g.ints([3])]);
  const outer = g.op('Reshape', [
    g.op('Mul', [state4, features4]),
    g.ints([0, 0, STATE_COUNT * FEATURE_COUNT]),
  ]);
  const columns = OUTPUT_WORDS.length;
  const wordLogits = g.op('MatMul', [
    outer,
    g.floats(decoderWeights(), [STATE_COUNT * FEATURE_COUNT, columns]),
  ]);
  // Scatter the word columns to their vocabulary ids; every other id gets NON_WORD.
  const scatter = new Float32Array(columns * size);
  const bias = new Float32Array(size).fill(NON_WORD);
  const vocabulary = demoVocabulary();
  OUTPUT_WORDS.forEach((word, column) => {
    const id = word === '<eot>' ? vocabulary.eot : wordId(word);
    scatter[column * size + id] = 1;
    bias[id] = 0;
  });
  const logits = g.op('Add', [
    g.op('MatMul', [wordLogits, g.floats(scatter, [columns, size])]),
    g.floats(bias, [size]),
  ]);
  return g.op('LogSoftmax', [logits], { axis: attr.int(-1) });
}

/**
 * The cross graph of the cached contract: image_embs [B,2,64] → cross_key_0 = cross_value_0 = image_embs as
 * [B,Hx=1,T=2,Dx=64] (one "multimodal layer"; the demo decoder reads image token 0 of the keys).
 */
function buildCross(): Uint8Array {
  const g = new GraphBuilder('demo_captioner_cross');
  const imageEmbs = g.input('image_embs', 'float32', ['B', IMAGE_TOKENS, EMBED_WIDTH]);
  const keys = g.op('Unsqueeze', [imageEmbs, g.ints([1])]);
  const shape = ['B', 1, IMAGE_TOKENS, EMBED_WIDTH];
  g.output(keys, 'float32', shape, 'cross_key_0');
  g.output(g.op('Identity', [keys]), 'float32', shape, 'cross_value_0');
  return g.toModel({ docString: 'Demo CoCa cross-attention keys/values (shapes world; not a real model).' });
}

/**
 * The decoder of the cached contract (runtime/README.md): one new token per row. The demo's only causal state is
 * the "of"/"on"/pattern flags said so far, so its self-attention cache is one layer (K = 1, H = 1, D = 3) holding each
 * earlier position's flags: present = past ⧺ the new token's flags, and their sum over positions is the full-prefix
 * CumSum at the last position (sums of 0/1 values are exact in any order). The new position's embedding and logits
 * then come from the same subgraphs as the text tower and the full-prefix decoder, so the logits are byte-identical.
 */
function buildDecoderWithPast(): Uint8Array {
  const g = new GraphBuilder('demo_captioner_decoder_with_past');
  const ids = g.input('input_ids', 'int64', ['B', 1]);
  g.input('position', 'int64', [1]);
  const pastKey = g.input('past_key_0', 'float32', ['B', 1, 'P', 3]);
  const pastValue = g.input('past_value_0', 'float32', ['B', 1, 'P', 3]);
  // cross_*: C crops' [C,Hx,T,Dx], the B = C·R rows grouped by crop (C = 1: one crop, all rows; runtime/README.md)
  const crossKey = g.input('cross_key_0', 'float32', ['C', 1, IMAGE_TOKENS, EMBED_WIDTH]);
  g.input('cross_value_0', 'float32', ['C', 1, IMAGE_TOKENS, EMBED_WIDTH]);
  const { classes, flags } = tokenTables(g, ids); // [B,1,14], [B,1,3]
  const flags4 = g.op('Unsqueeze', [flags, g.ints([1])]); // [B,1,1,3]
  const presentKey = g.op('Concat', [pastKey, flags4], { axis: attr.int(2) }); // [B,1,P+1,3]
  const presentValue = g.op('Concat', [pastValue, g.op('Identity', [flags4])], { axis: attr.int(2) });
  const counts = g.op('ReduceSum', [presentKey, g.ints([2])], { keepdims: attr.int(0) }); // [B,1,3]
  const tokenEmbs = textState(g, classes, counts); // [B,1,64]
  // image token 0 of the single cross head: [C,1,2,64] → [C,64], repeated to the crop's R = B / C rows → [B,64]
  const crop0 = g.op('Gather', [g.op('Squeeze', [crossKey, g.ints([1])]), g.ints([0], [])], {
    axis: attr.int(1),
  });
  const first = (value: string) => g.op('Slice', [g.op('Shape', [value]), g.ints([0]), g.ints([1])]);
  const crops = first(crop0);
  const rowsPerCrop = g.op('Div', [first(ids), crops]);
  const grouped = g.op('Expand', [
    g.op('Unsqueeze', [crop0, g.ints([1])]),
    g.op('Concat', [crops, rowsPerCrop, g.ints([EMBED_WIDTH])], { axis: attr.int(0) }),
  ]); // [C,R,64]
  const row0 = g.op('Reshape', [grouped, g.ints([-1, EMBED_WIDTH])]);
  const logits = g.op('Squeeze', [decoderLogits(g, row0, tokenEmbs), g.ints([1])]); // [B,V]
  g.output(logits, 'float32', ['B', demoVocabulary().size], 'logits');
  g.output(presentKey, 'float32', ['B', 1, 'P1', 3], 'present_key_0');
  g.output(presentValue, 'float32', ['B', 1, 'P1', 3], 'present_value_0');
  return g.toModel({
    docString: 'Demo CoCa decoder with a self-attention cache (shapes world; not a real model).',
  });
}

/** Grammatical class of every vocabulary id (sot is its own class; eot, pad and non-words are "other"). */
function tokenClasses(): TokenClass[] {
  const vocabulary = demoVocabulary();
  const classes: TokenClass[] = new Array<TokenClass>(vocabulary.size).fill('other');
  for (const word of DEMO_WORDS) classes[wordId(word)] = classOf(word);
  classes[vocabulary.sot] = 'sot';
  return classes;
}

/** Zero-pads the last axis of a rank-`rank` value from `from` to `to`. */
function padLast(g: GraphBuilder, value: string, from: number, to: number, rank = 2): string {
  if (to === from) return value;
  const pads = new Array<number>(2 * rank).fill(0);
  pads[2 * rank - 1] = to - from;
  return g.op('Pad', [value, g.ints(pads)], { mode: attr.string('constant') });
}

/** x / ‖x‖ over the last axis of a [B,D] value. */
export function l2Normalize(g: GraphBuilder, value: string): string {
  const norm = g.op('Sqrt', [
    g.op('Add', [
      g.op('ReduceSumSquare', [value], { axes: attr.ints([1]), keepdims: attr.int(1) }),
      g.floats([1e-12], [1]),
    ]),
  ]);
  return g.op('Div', [value, norm]);
}
