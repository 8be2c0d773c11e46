/**
 * The tensor contracts of DESIGN.md §4, as data, and the check of a session's metadata against them.
 *
 * A dimension is a number (fixed: the graph must declare the same number, or leave it dynamic) or a name (dynamic:
 * any size; equal names across the graphs of a role are the same size, e.g. the decoder's `C` is the encoder's `C`).
 * Graph dims that are symbolic (or negative) are accepted for a fixed contract dim: they cannot be checked before a
 * run, and onnxruntime checks them at run time.
 */
import type * as ort from 'onnxruntime-node';
import type { Role } from '../../shared/models.ts';
import type { Manifest, GraphFile } from './manifest.ts';

/** Element types that appear in the contracts. */
export type ContractDType = 'float32' | 'int64' | 'int32';

/** One dimension of a contract shape: fixed size or the name of a dynamic size. */
export type ContractDim = number | string;

/** One named tensor of a role's graph. */
export interface TensorContract {
  /** Canonical name (DESIGN.md §4); the graph's own name may differ through the manifest's `names`. */
  name: string;
  /** Accepted element types (the first is what the engine feeds). */
  dtypes: readonly ContractDType[];
  /** Accepted shapes; more than one when the contract allows alternatives (the decoder's logits). */
  shapes: readonly (readonly ContractDim[])[];
}

/** Inputs and outputs of one role's graph. */
export interface RoleContract {
  role: Role;
  inputs: readonly TensorContract[];
  outputs: readonly TensorContract[];
}

const f32 = ['float32'] as const;

/** DESIGN.md §4, role by role. */
export const ROLE_CONTRACTS: Record<Role, RoleContract> = {
  'segmenter.encoder': {
    role: 'segmenter.encoder',
    // in: image float32[1,3,1024,1024] (SAM mean/std, zero-padded bottom/right)
    inputs: [{ name: 'image', dtypes: f32, shapes: [[1, 3, 1024, 1024]] }],
    // out: image_embeddings float32[1,C,64,64] (C = 256 for SAM)
    outputs: [{ name: 'image_embeddings', dtypes: f32, shapes: [[1, 'C', 64, 64]] }],
  },
  'segmenter.decoder': {
    role: 'segmenter.decoder',
    // The official SamOnnxModel export: batch fixed at 1, N points dynamic, the caller appends the padding point.
    inputs: [
      { name: 'image_embeddings', dtypes: f32, shapes: [[1, 'C', 64, 64]] },
      { name: 'point_coords', dtypes: f32, shapes: [[1, 'N', 2]] },
      { name: 'point_labels', dtypes: f32, shapes: [[1, 'N']] },
      { name: 'mask_input', dtypes: f32, shapes: [[1, 1, 256, 256]] },
      { name: 'has_mask_input', dtypes: f32, shapes: [[1]] },
      { name: 'orig_im_size', dtypes: f32, shapes: [[2]] },
    ],
    // 4 masks: index 0 the single-mask token, 1..3 the multimask outputs that automatic mask generation keeps.
    outputs: [
      { name: 'masks', dtypes: f32, shapes: [[1, 4, 'H', 'W']] },
      { name: 'iou_predictions', dtypes: f32, shapes: [[1, 4]] },
      { name: 'low_res_masks', dtypes: f32, shapes: [[1, 4, 256, 256]] },
    ],
  },
  'captioner.visual': {
    role: 'captioner.visual',
    inputs: [{ name: 'image', dtypes: f32, shapes: [['B', 3, 224, 224]] }],
    outputs: [
      { name: 'image_latent', dtypes: f32, shapes: [['B', 'D']] },
      { name: 'image_embs', dtypes: f32, shapes: [['B', 'T', 'W']] },
    ],
  },
  'captioner.text': {
    role: 'captioner.text',
    inputs: [{ name: 'text', dtypes: ['int64'], shapes: [['B', 'L']] }],
    outputs: [{ name: 'token_embs', dtypes: f32, shapes: [['B', 'L', 'W']] }],
  },
  'captioner.decoder': {
    role: 'captioner.decoder',
    inputs: [
      { name: 'image_embs', dtypes: f32, shapes: [['B', 'T', 'W']] },
      { name: 'token_embs', dtypes: f32, shapes: [['B', 'L', 'W']] },
    ],
    // All positions [B,L,V], or the last position only [B,V] (fewer host copies).
    outputs: [
      {
        name: 'logits',
        dtypes: f32,
        shapes: [
          ['B', 'L', 'V'],
          ['B', 'V'],
        ],
      },
    ],
  },
  'scorer.image': {
    role: 'scorer.image',
    inputs: [{ name: 'image', dtypes: f32, shapes: [['B', 3, 224, 224]] }],
    outputs: [{ name: 'embedding', dtypes: f32, shapes: [['B', 'E']] }],
  },
  'scorer.text': {
    role: 'scorer.text',
    // OpenAI's clip.tokenize gives int32 on torch ≥ 1.8 (Immich exports int32); open_clip gives int64.
    inputs: [{ name: 'text', dtypes: ['int64', 'int32'], shapes: [['B', 77]] }],
    outputs: [{ name: 'embedding', dtypes: f32, shapes: [['B', 'E']] }],
  },
};

/** The manifest entry (ONNX file, checksum, names) of a role. */
export function graphFileOf(manifest: Manifest, role: Role): GraphFile {
  switch (role) {
    case 'segmenter.encoder':
      return manifest.segmenter.encoder;
    case 'segmenter.decoder':
      return manifest.segmenter.decoder;
    case 'captioner.visual':
      return manifest.captioner.visual;
    case 'captioner.text':
      return manifest.captioner.text;
    case 'captioner.decoder':
      return manifest.captioner.decoder;
    case 'scorer.image':
      return manifest.scorer.image;
    case 'scorer.text':
      return manifest.scorer.text;
  }
}

/** A graph's tensor as onnxruntime describes it (`session.inputMetadata` / `outputMetadata`). */
export type ValueMetadata = ort.InferenceSession.ValueMetadata;

/** One violation of a contract, before it is given a pack location. */
export interface ContractViolation {
  code:
    | 'input-missing'
    | 'input-unexpected'
    | 'output-missing'
    | 'dtype-mismatch'
    | 'rank-mismatch'
    | 'dim-mismatch';
  /** Canonical tensor name (or the graph's name for an unexpected input). */
  tensor: string;
  detail: string;
}

/** The resolved names of a checked graph: canonical → graph name, for the tensors of the contract. */
export interface ResolvedNames {
  inputs: Record<string, string>;
  outputs: Record<string, string>;
}

/**
 * Checks a session's metadata against a role's contract.
 *
 * `names` maps canonical names to the graph's (the manifest's `names`); unmapped names are used as they are. Returns
 * every violation (empty when the graph honours the contract) and the resolved names. Extra graph outputs are fine
 * (e.g. SAM's `--return-extra-metrics`); an extra graph input is not, since the engine could not feed it.
 */
export function checkContract(
  contract: RoleContract,
  inputs: readonly ValueMetadata[],
  outputs: readonly ValueMetadata[],
  names: Record<string, string> = {},
): { violations: ContractViolation[]; names: ResolvedNames } {
  const violations: ContractViolation[] = [];
  const resolved: ResolvedNames = { inputs: {}, outputs: {} };
  const check = (
    side: 'input' | 'output',
    tensors: readonly TensorContract[],
    metadata: readonly ValueMetadata[],
  ) => {
    const byName = new Map(metadata.map((m) => [m.name, m]));
    for (const tensor of tensors) {
      const graphName = names[tensor.name] ?? tensor.name;
      const meta = byName.get(graphName);
      if (!meta) {
        const mapped = graphName === tensor.name ? '' : ` (mapped to "${graphName}" by the manifest's names)`;
        violations.push({
          code: side === 'input' ? 'input-missing' : 'output-missing',
          tensor: tensor.name,
          detail: `the graph has no ${side} "${graphName}"${mapped}; its ${side}s are ${listNames(metadata)}`,
        });
        continue;
      }
      (side === 'input' ? resolved.inputs : resolved.outputs)[tensor.name] = graphName;
      const violation = checkTensor(tensor, meta, side);
      if (violation) violations.push(violation);
    }
  };
  check('input', contract.inputs, inputs);
  check('output', contract.outputs, outputs);
  const expected = new Set(Object.values(resolved.inputs));
  for (const meta of inputs) {
    if (!expected.has(meta.name)) {
      violations.push({
        code: 'input-unexpected',
        tensor: meta.name,
        detail: `the graph has an input "${meta.name}" that the ${contract.role} contract does not know (expected ${contract.inputs
          .map((t) => `"${t.name}"`)
          .join(', ')}); map names in the manifest or re-export the graph`,
      });
    }
  }
  return { violations, names: resolved };
}

/** Formats a contract or graph shape as `[1,3,1024,1024]` / `[B,L,V]`. */
export function formatShape(shape: readonly (number | string)[]): string {
  return `[${shape.join(',')}]`;
}

function checkTensor(
  tensor: TensorContract,
  meta: ValueMetadata,
  side: 'input' | 'output',
): ContractViolation | undefined {
  const where = `${side} "${meta.name}"`;
  if (!meta.isTensor) {
    return {
      code: 'dtype-mismatch',
      tensor: tensor.name,
      detail: `${where} is not a tensor; expected ${tensor.dtypes.join(' or ')}`,
    };
  }
  if (!(tensor.dtypes as readonly string[]).includes(meta.type)) {
    return {
      code: 'dtype-mismatch',
      tensor: tensor.name,
      detail: `${where} has dtype ${meta.type}; expected ${tensor.dtypes.join(' or ')}`,
    };
  }
  const shape = meta.shape;
  // A graph without shape information cannot be checked statically; onnxruntime checks at run time.
  if (!shape) return undefined;
  const expected = tensor.shapes.map(formatShape).join(' or ');
  const sameRank = tensor.shapes.filter((s) => s.length === shape.length);
  if (sameRank.length === 0) {
    return {
      code: 'rank-mismatch',
      tensor: tensor.name,
      detail: `${where} has rank ${shape.length} ${formatShape(shape)}; expected rank ${[...new Set(tensor.shapes.map((s) => s.length))].join(' or ')} ${expected}`,
    };
  }
  const mismatches: string[] = [];
  for (const candidate of sameRank) {
    const wrong = candidate.flatMap((want, axis) => {
      const got = shape[axis];
      return typeof want === 'number' && typeof got === 'number' && got >= 0 && got !== want
        ? [`dim ${axis} is ${got}, expected ${want}`]
        : [];
    });
    if (wrong.length === 0) return undefined;
    mismatches.push(wrong.join(', '));
  }
  return {
    code: 'dim-mismatch',
    tensor: tensor.name,
    detail: `${where} has shape ${formatShape(shape)}; ${mismatches[0]} (contract ${expected})`,
  };
}

function listNames(metadata: readonly ValueMetadata[]): string {
  return metadata.length === 0 ? '(none)' : metadata.map((m) => `"${m.name}"`).join(', ');
}
