/**
 * The model-pack manifest (`manifest.json`) and its schema.
 *
 * A pack names, per role, its ONNX file with a checksum, optional I/O name overrides, and the constants its
 * preprocessing needs. Canonical tensor names are those of DESIGN.md §4; a real export with other names maps them in
 * `names` (canonical → graph name), so the engine always builds feeds by the graph's exact input names.
 */
import { z } from 'zod';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex SHA-256');
const rgb = z.tuple([z.number(), z.number(), z.number()]);

/** One ONNX file of a role. */
export const GraphFileSchema = z.strictObject({
  file: z.string().min(1),
  sha256,
  /** Size in bytes; lets a truncated copy be told apart from a corrupt one before hashing. */
  bytes: z.number().int().positive(),
  /** Side files with external tensor data (e.g. SAM ViT-H `<name>_data.bin`), each with its checksum. */
  externalData: z
    .array(z.strictObject({ file: z.string().min(1), sha256, bytes: z.number().int().positive() }))
    .optional(),
  /** Canonical tensor name → name in the graph, for exports that name tensors differently. */
  names: z.record(z.string(), z.string()).optional(),
});

export const SegmenterSchema = z.strictObject({
  kind: z.literal('sam'),
  encoder: GraphFileSchema,
  decoder: GraphFileSchema,
  /** Optional: the decoder with a dynamic prompt-batch axis (runtime/README.md "Fast contracts"). */
  decoderBatched: GraphFileSchema.optional(),
  preprocess: z.strictObject({
    /** SAM resizes the longest side to 1024 and zero-pads bottom/right. */
    longestSide: z.number().int().positive().default(1024),
    mean: rgb.default([123.675, 116.28, 103.53]),
    std: rgb.default([58.395, 57.12, 57.375]),
  }),
  /** Logit threshold for "inside" (`sam.mask_threshold`). */
  maskThreshold: z.number().default(0),
});

export const SpecialTokensSchema = z.strictObject({
  sot: z.number().int().nonnegative(),
  eot: z.number().int().nonnegative(),
  pad: z.number().int().nonnegative(),
});

export const CropPreprocessSchema = z.strictObject({
  size: z.number().int().positive().default(224),
  /** OpenAI CLIP mean/std on the 0–1 scale. */
  mean: rgb.default([0.48145466, 0.4578275, 0.40821073]),
  std: rgb.default([0.26862954, 0.26130258, 0.27577711]),
});

export const CaptionerSchema = z.strictObject({
  kind: z.literal('coca'),
  visual: GraphFileSchema,
  text: GraphFileSchema,
  decoder: GraphFileSchema,
  /** Optional, with `decoderWithPast`: cross-attention K/V of a crop's image tokens (runtime/README.md). */
  cross: GraphFileSchema.optional(),
  /** Optional, with `cross`: one new position per row with a self-attention cache (runtime/README.md). */
  decoderWithPast: GraphFileSchema.optional(),
  /**
   * `decoderWithPast` takes C crops' cross_* [C,Hx,T,Dx] with its B = C·R rows grouped by crop (one run per step for
   * all crops; runtime/README.md). Absent or false: cross_* of one crop, broadcast (one run per crop).
   */
  crossGrouped: z.boolean().optional(),
  tokenizer: z.string().min(1),
  specialTokens: SpecialTokensSchema,
  vocabSize: z.number().int().positive(),
  preprocess: CropPreprocessSchema,
});

export const ScorerSchema = z.strictObject({
  kind: z.literal('clip'),
  image: GraphFileSchema,
  text: GraphFileSchema,
  tokenizer: z.string().min(1),
  specialTokens: SpecialTokensSchema,
  contextLength: z.number().int().positive().default(77),
  /** θ = logitScale · cos; 100 for the released CLIP models. */
  logitScale: z.number().positive().default(100),
  preprocess: CropPreprocessSchema,
});

export const ManifestSchema = z.strictObject({
  format: z.literal('pseudo-ris-model-pack'),
  version: z.literal(1),
  name: z.string().min(1),
  description: z.string().default(''),
  /** The generated shapes-world pack: exercises the pipeline, is not a real model. */
  demo: z.boolean().default(false),
  segmenter: SegmenterSchema,
  captioner: CaptionerSchema,
  scorer: ScorerSchema,
});

export type Manifest = z.infer<typeof ManifestSchema>;
export type GraphFile = z.infer<typeof GraphFileSchema>;
