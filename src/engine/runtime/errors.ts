/**
 * The one error type of the model runtime.
 *
 * Every problem with a model pack (its manifest, a file, a session, a tensor) is a `ModelPackError` with a `code`, so
 * callers can branch on the kind of failure and the models panel can list issues as plain data; the message always
 * names the pack and, where they apply, the file, the role and the tensor.
 */
import type { PackIssue, PackRole } from '../../shared/models.ts';

/** Kinds of model-pack failure, each with its own message (DESIGN.md §4). */
export type ModelPackErrorCode =
  /** The folder has no manifest.json. */
  | 'manifest-missing'
  /** manifest.json is not JSON. */
  | 'manifest-json'
  /** manifest.json is JSON but fails the schema of manifest.ts. */
  | 'manifest-schema'
  /** A file the manifest names does not exist. */
  | 'file-missing'
  /** A file the manifest names has 0 bytes. */
  | 'file-empty'
  /** A file is a Git-LFS pointer (the repository was cloned without `git lfs pull`). */
  | 'lfs-pointer'
  /** A file is shorter than the manifest says (an interrupted copy or download). */
  | 'file-truncated'
  /** A file is longer than the manifest says. */
  | 'file-size'
  /** A file's SHA-256 differs from the manifest's. */
  | 'checksum-mismatch'
  /** onnxruntime could not parse the file as an ONNX model. */
  | 'onnx-invalid'
  /** onnxruntime parsed the model but could not create a session (unsupported operator, bad graph …). */
  | 'session-create'
  /** A graph lacks an input the role's contract needs (after the manifest's `names` mapping). */
  | 'input-missing'
  /** A graph has an input the role's contract does not know (the engine could not feed it). */
  | 'input-unexpected'
  /** A graph lacks an output the role's contract needs. */
  | 'output-missing'
  /** A tensor has another element type than the contract allows. */
  | 'dtype-mismatch'
  /** A tensor has another rank than the contract allows. */
  | 'rank-mismatch'
  /** A tensor has a fixed dimension that differs from the contract's. */
  | 'dim-mismatch'
  /** Two graphs of a pack disagree (e.g. the captioner's logits width vs the manifest's vocabSize). */
  | 'pack-mismatch'
  /** The tokenizer file is missing, empty, an LFS pointer or not JSON. */
  | 'tokenizer-invalid'
  /** `run` was called without a feed the graph needs, or with an unknown one. */
  | 'feed-invalid'
  /** The pack (or this session) was disposed. */
  | 'disposed'
  /** An optional graph (e.g. `captioner.decoderWithPast`) was asked for but the pack does not offer it. */
  | 'graph-absent';

/** Where in a pack an error sits; every field optional. */
export interface ModelPackErrorContext {
  /** The pack's name (or its folder when the manifest could not be read). */
  pack: string;
  role?: PackRole;
  /** File name relative to the pack folder. */
  file?: string;
  /** Canonical tensor name (DESIGN.md §4). */
  tensor?: string;
}

/**
 * A typed model-pack failure.
 *
 * The message starts with `model pack "<pack>"` and names the role, file and tensor when known, then the mismatch.
 */
export class ModelPackError extends Error {
  override readonly name = 'ModelPackError';
  readonly code: ModelPackErrorCode;
  readonly pack: string;
  readonly role?: PackRole;
  readonly file?: string;
  readonly tensor?: string;
  /** The problem alone, without the location prefix (what the models panel shows next to the location). */
  readonly detail: string;

  constructor(
    code: ModelPackErrorCode,
    context: ModelPackErrorContext,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${describeLocation(context)}: ${detail}`, options);
    this.code = code;
    this.pack = context.pack;
    this.role = context.role;
    this.file = context.file;
    this.tensor = context.tensor;
    this.detail = detail;
  }

  /** The error as plain data for `PackSummary.issues`. */
  toIssue(): PackIssue {
    return {
      code: this.code,
      ...(this.role ? { role: this.role } : {}),
      ...(this.file ? { file: this.file } : {}),
      ...(this.tensor ? { tensor: this.tensor } : {}),
      message: this.message,
    };
  }
}

/** `model pack "demo", segmenter.encoder (encoder.onnx), tensor "image"` — the prefix of every message. */
export function describeLocation(context: ModelPackErrorContext): string {
  let text = `model pack "${context.pack}"`;
  if (context.role) text += `, ${context.role}`;
  if (context.file) text += context.role ? ` (${context.file})` : `, file ${context.file}`;
  if (context.tensor) text += `, tensor "${context.tensor}"`;
  return text;
}
