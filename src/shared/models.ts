/** Model-pack facts that cross the UI boundary: roles, providers, validation results. Plain data only. */

/** The seven ONNX graphs a model pack provides (DESIGN.md §4). */
export const ROLES = [
  'segmenter.encoder',
  'segmenter.decoder',
  'captioner.visual',
  'captioner.text',
  'captioner.decoder',
  'scorer.image',
  'scorer.text',
] as const;

export type Role = (typeof ROLES)[number];

/**
 * Optional graphs a pack may add beside its roles (DESIGN.md §4, "fast contracts"): the SAM decoder with a prompt
 * batch axis, and the captioner's cross-attention K/V graph + decoder with a self-attention cache.
 */
export const OPTIONAL_ROLES = [
  'segmenter.decoderBatched',
  'captioner.cross',
  'captioner.decoderWithPast',
] as const;

export type OptionalRole = (typeof OPTIONAL_ROLES)[number];

/** A required or an optional graph of a pack. */
export type PackRole = Role | OptionalRole;

/** Which decoding contracts a pack offers: full-prefix / batch-1 always, cached / batched when its graphs are there. */
export interface PackContracts {
  captioner: 'cached' | 'full-prefix';
  segmenter: 'batched' | 'batch-1';
}

/** Execution providers the engine may request from onnxruntime-node. */
export type ExecutionProvider = 'cuda' | 'dml' | 'coreml' | 'cpu';

/** Which provider a role's session runs on, and why (e.g. the GPU provider failed to load). */
export interface ProviderInfo {
  role: PackRole;
  requested: ExecutionProvider[];
  used: ExecutionProvider;
  /** Why `used` is not the first requested provider; absent when it is. */
  fallbackReason?: string;
}

/** One problem found while validating a pack. */
export interface PackIssue {
  /** Machine-readable kind (the runtime's `ModelPackError` code, e.g. `checksum-mismatch`). */
  code?: string;
  role?: PackRole;
  file?: string;
  tensor?: string;
  message: string;
}

/** Summary of a pack as listed by `models list` and the models panel. */
export interface PackSummary {
  name: string;
  dir: string;
  description: string;
  /** True for the generated shapes-world pack: a demo for exercising the pipeline, not a real model. */
  demo: boolean;
  valid: boolean;
  issues: PackIssue[];
  /** The contracts the manifest offers (absent when the manifest could not be read). */
  contracts?: PackContracts;
}
