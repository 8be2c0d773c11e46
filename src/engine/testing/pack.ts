/**
 * A tiny model pack with the exact contracts of DESIGN.md §4, for tests of the runtime and of the CLI.
 *
 * The graphs are real ONNX (built with the project's GraphBuilder) and run in onnxruntime-node, but compute trivial
 * functions (pooling, a resize, a matmul): they exist to exercise loading, validation, providers and feeds, not to
 * produce meaningful masks or captions — that is the demo pack's job. Each graph takes options so tests can build
 * copies that break one contract rule at a time.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Role } from '../../shared/models.ts';
import { attr, GraphBuilder, type Dim, type DType } from '../demo/onnx-builder.ts';
import type { Manifest } from '../runtime/manifest.ts';

/** Vocabulary size of the test captioner's logits. */
export const TEST_VOCAB = 8;
/** Embedding width of the test scorer. */
export const TEST_EMBED = 4;

/** The SAM-like encoder: `image` [1,3,1024,1024] → 16×16 average pool → `image_embeddings` [1,3,64,64]. */
export function testEncoder(
  options: { inputName?: string; inputDims?: Dim[]; inputDtype?: DType } = {},
): Uint8Array {
  const g = new GraphBuilder('test_encoder');
  const image = g.input(
    options.inputName ?? 'image',
    options.inputDtype ?? 'float32',
    options.inputDims ?? [1, 3, 1024, 1024],
  );
  const pooled = g.op('AveragePool', [image], {
    kernel_shape: attr.ints([16, 16]),
    strides: attr.ints([16, 16]),
  });
  g.output(pooled, 'float32', [1, 3, 64, 64], 'image_embeddings');
  return g.toModel();
}

/**
 * The SAM-like decoder: `low_res_masks` = mask_input·has_mask_input repeated 4×, `masks` = those resized to
 * `orig_im_size`, `iou_predictions` = the sum of point labels, repeated 4×.
 */
export function testDecoder(options: { embedChannels?: number } = {}): Uint8Array {
  const g = new GraphBuilder('test_decoder');
  g.input('image_embeddings', 'float32', [1, options.embedChannels ?? 3, 64, 64]);
  g.input('point_coords', 'float32', [1, 'num_points', 2]);
  const labels = g.input('point_labels', 'float32', [1, 'num_points']);
  const maskInput = g.input('mask_input', 'float32', [1, 1, 256, 256]);
  const hasMask = g.input('has_mask_input', 'float32', [1]);
  const size = g.input('orig_im_size', 'float32', [2]);
  const low = g.op('Mul', [maskInput, hasMask]);
  const low4 = g.op('Concat', [low, low, low, low], { axis: attr.int(1) });
  const sizes = g.op('Concat', [g.ints([1, 4]), g.op('Cast', [size], { to: attr.int(7) })], {
    axis: attr.int(0),
  });
  const masks = g.op('Resize', [low4, '', '', sizes], { mode: attr.string('linear') });
  const iou = g.op('Expand', [
    g.op('ReduceSum', [labels, g.ints([1])], { keepdims: attr.int(1) }),
    g.ints([1, 4]),
  ]);
  g.output(masks, 'float32', [1, 4, 'H', 'W'], 'masks');
  g.output(iou, 'float32', [1, 4], 'iou_predictions');
  g.output(low4, 'float32', [1, 4, 256, 256], 'low_res_masks');
  return g.toModel();
}

/** CoCa-like visual: `image` [B,3,224,224] → `image_latent` [B,3] (channel means), `image_embs` [B,16,3]. */
export function testVisual(options: { inputDims?: Dim[] } = {}): Uint8Array {
  const g = new GraphBuilder('test_visual');
  const image = g.input('image', 'float32', options.inputDims ?? ['batch', 3, 224, 224]);
  const latent = g.op('Flatten', [g.op('GlobalAveragePool', [image])], { axis: attr.int(1) });
  const grid = g.op('AveragePool', [image], {
    kernel_shape: attr.ints([56, 56]),
    strides: attr.ints([56, 56]),
  });
  const embs = g.op('Transpose', [g.op('Reshape', [grid, g.ints([0, 3, 16])])], {
    perm: attr.ints([0, 2, 1]),
  });
  g.output(latent, 'float32', ['batch', 3], 'image_latent');
  g.output(embs, 'float32', ['batch', 16, 3], 'image_embs');
  return g.toModel();
}

/** CoCa-like text tower: `text` int64 [B,L] → `token_embs` [B,L,3] (the id repeated over the width). */
export function testText(): Uint8Array {
  const g = new GraphBuilder('test_text');
  const text = g.input('text', 'int64', ['batch', 'length']);
  const ids = g.op('Unsqueeze', [g.op('Cast', [text], { to: attr.int(1) }), g.ints([2])]);
  g.output(g.op('Mul', [ids, g.floats([1, 1, 1])]), 'float32', ['batch', 'length', 3], 'token_embs');
  return g.toModel();
}

/** CoCa-like decoder: logits [B,L,V] = (token_embs + mean over T of image_embs) · W. */
export function testTextDecoder(options: { vocab?: number; lastOnly?: boolean } = {}): Uint8Array {
  const vocab = options.vocab ?? TEST_VOCAB;
  const g = new GraphBuilder('test_text_decoder');
  const embs = g.input('image_embs', 'float32', ['batch', 16, 3]);
  const tokens = g.input('token_embs', 'float32', ['batch', 'length', 3]);
  const pooled = g.op('ReduceMean', [embs], { axes: attr.ints([1]), keepdims: attr.int(1) });
  const weights = Array.from({ length: 3 * vocab }, (_, i) => ((i % vocab) - vocab / 2) / vocab);
  let logits = g.op('MatMul', [g.op('Add', [tokens, pooled]), g.floats(weights, [3, vocab])]);
  if (options.lastOnly) {
    logits = g.op('Squeeze', [
      g.op('Gather', [logits, g.ints([-1], [1])], { axis: attr.int(1) }),
      g.ints([1]),
    ]);
    g.output(logits, 'float32', ['batch', vocab], 'logits');
  } else {
    g.output(logits, 'float32', ['batch', 'length', vocab], 'logits');
  }
  return g.toModel();
}

/** CLIP-like image tower: `image` [B,3,224,224] → channel means · W → `embedding` [B,4]. */
export function testScorerImage(): Uint8Array {
  const g = new GraphBuilder('test_scorer_image');
  const image = g.input('image', 'float32', ['batch', 3, 224, 224]);
  const means = g.op('Flatten', [g.op('GlobalAveragePool', [image])], { axis: attr.int(1) });
  const weights = Array.from({ length: 3 * TEST_EMBED }, (_, i) => (i % 5) - 2);
  g.output(
    g.op('MatMul', [means, g.floats(weights, [3, TEST_EMBED])]),
    'float32',
    ['batch', TEST_EMBED],
    'embedding',
  );
  return g.toModel();
}

/** CLIP-like text tower: `text` [B,77] (int64 by default) → ids · W → `embedding` [B,E]. */
export function testScorerText(options: { dtype?: DType; embed?: number } = {}): Uint8Array {
  const embed = options.embed ?? TEST_EMBED;
  const g = new GraphBuilder('test_scorer_text');
  const text = g.input('text', options.dtype ?? 'int64', ['batch', 77]);
  const ids = options.dtype === 'float32' ? text : g.op('Cast', [text], { to: attr.int(1) });
  const weights = Array.from({ length: 77 * embed }, (_, i) => ((i * 7) % 11) / 11);
  g.output(g.op('MatMul', [ids, g.floats(weights, [77, embed])]), 'float32', ['batch', embed], 'embedding');
  return g.toModel();
}

/** File name of each role's graph in a test pack. */
export const TEST_FILES: Record<Role, string> = {
  'segmenter.encoder': 'sam_encoder.onnx',
  'segmenter.decoder': 'sam_decoder.onnx',
  'captioner.visual': 'coca_visual.onnx',
  'captioner.text': 'coca_text.onnx',
  'captioner.decoder': 'coca_decoder.onnx',
  'scorer.image': 'clip_image.onnx',
  'scorer.text': 'clip_text.onnx',
};

/** A minimal tokenizer.json (a word-level model): enough for the pack's file checks, not for real captions. */
export const TEST_TOKENIZER = JSON.stringify({
  version: '1.0',
  model: {
    type: 'WordLevel',
    vocab: { '<pad>': 0, a: 1, red: 2, circle: 3, square: 4, '<sot>': 5, '<eot>': 6, '<unk>': 7 },
    unk_token: '<unk>',
  },
});

/** Options of {@link writeTestPack}. */
export interface TestPackOptions {
  name?: string;
  /** Replace a role's graph bytes (the manifest records the replacement's true size and checksum). */
  graphs?: Partial<Record<Role, Uint8Array>>;
  /** Edit the manifest object before it is written (e.g. to point at other names). */
  editManifest?: (manifest: Manifest) => void;
}

/** Writes a complete, valid test pack into `dir` and returns its manifest. */
export async function writeTestPack(dir: string, options: TestPackOptions = {}): Promise<Manifest> {
  await mkdir(dir, { recursive: true });
  const graphs: Record<Role, Uint8Array> = {
    'segmenter.encoder': testEncoder(),
    'segmenter.decoder': testDecoder(),
    'captioner.visual': testVisual(),
    'captioner.text': testText(),
    'captioner.decoder': testTextDecoder(),
    'scorer.image': testScorerImage(),
    'scorer.text': testScorerText(),
    ...options.graphs,
  };
  const entry = async (role: Role) => {
    const bytes = graphs[role];
    await writeFile(join(dir, TEST_FILES[role]), bytes);
    return {
      file: TEST_FILES[role],
      sha256: createHash('sha256').update(bytes).digest('hex'),
      bytes: bytes.length,
    };
  };
  await writeFile(join(dir, 'tokenizer.json'), TEST_TOKENIZER);
  const special = { sot: 5, eot: 6, pad: 0 };
  const manifest: Manifest = {
    format: 'pseudo-ris-model-pack',
    version: 1,
    name: options.name ?? 'test-pack',
    description: 'A tiny pack of trivial graphs with the DESIGN.md §4 contracts (tests only).',
    demo: true,
    segmenter: {
      kind: 'sam',
      encoder: await entry('segmenter.encoder'),
      decoder: await entry('segmenter.decoder'),
      preprocess: { longestSide: 1024, mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375] },
      maskThreshold: 0,
    },
    captioner: {
      kind: 'coca',
      visual: await entry('captioner.visual'),
      text: await entry('captioner.text'),
      decoder: await entry('captioner.decoder'),
      tokenizer: 'tokenizer.json',
      specialTokens: special,
      vocabSize: TEST_VOCAB,
      preprocess: {
        size: 224,
        mean: [0.48145466, 0.4578275, 0.40821073],
        std: [0.26862954, 0.26130258, 0.27577711],
      },
    },
    scorer: {
      kind: 'clip',
      image: await entry('scorer.image'),
      text: await entry('scorer.text'),
      tokenizer: 'tokenizer.json',
      specialTokens: special,
      contextLength: 77,
      logitScale: 100,
      preprocess: {
        size: 224,
        mean: [0.48145466, 0.4578275, 0.40821073],
        std: [0.26862954, 0.26130258, 0.27577711],
      },
    },
  };
  options.editManifest?.(manifest);
  await writeFile(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
