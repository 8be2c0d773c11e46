/**
 * The tensor contracts of DESIGN.md §4, as data, and the check of a session's metadata against them.
 *
 * A dimension is a number (fixed: the graph must declare the same number, or leave it dynamic) or a name (dynamic:
 * any size; equal names across the graphs of a role are the same size, e.g. the decoder's `C` is the encoder's `C`).
 * Graph dims that are symbolic (or negative) are accepted for a fixed contract dim: they cannot be checked before a
 * run, and onnxruntime checks them at run time.
 */
import type * as ort from 'onnxruntime-node';
import type { OptionalRole, PackContracts, PackRole, Role } from '../../shared/models.ts';
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
  role: PackRole;
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

/** The SAM decoder with a prompt batch axis B (mask_input and has_mask_input are shared by the B prompts). */
const SEGMENTER_DECODER_BATCHED: RoleContract = {
  role: 'segmenter.decoderBatched',
  inputs: [
    { name: 'image_embeddings', dtypes: f32, shapes: [[1, 'C', 64, 64]] },
    { name: 'point_coords', dtypes: f32, shapes: [['B', 'N', 2]] },
    { name: 'point_labels', dtypes: f32, shapes: [['B', 'N']] },
    { name: 'mask_input', dtypes: f32, shapes: [[1, 1, 256, 256]] },
    { name: 'has_mask_input', dtypes: f32, shapes: [[1]] },
    { name: 'orig_im_size', dtypes: f32, shapes: [[2]] },
  ],
  outputs: [
    { name: 'masks', dtypes: f32, shapes: [['B', 4, 'H', 'W']] },
    { name: 'iou_predictions', dtypes: f32, shapes: [['B', 4]] },
    { name: 'low_res_masks', dtypes: f32, shapes: [['B', 4, 256, 256]] },
  ],
};

/** Canonical names of the cache tensors: `past_key_<i>` … `cross_value_<j>`. */
const CACHE_NAME = /^(past|present|cross)_(key|value)_(\d+)$/;

/** How many indexed pairs `<kind>_key_<i>` / `<kind>_value_<i>` a name list holds (highest index + 1). */
export function countIndexed(names: readonly string[], kind: 'past' | 'present' | 'cross'): number {
  let count = 0;
  for (const name of names) {
    const match = CACHE_NAME.exec(name);
    if (match && match[1] === kind) count = Math.max(count, Number(match[3]) + 1);
  }
  return count;
}

const pairs = (kind: 'past' | 'present' | 'cross', count: number, shape: readonly ContractDim[]) =>
  Array.from({ length: count }, (_, i) => [
    { name: `${kind}_key_${i}`, dtypes: f32, shapes: [shape] },
    { name: `${kind}_value_${i}`, dtypes: f32, shapes: [shape] },
  ]).flat();

/** `captioner.cross` with M pairs of outputs: image_embs [B,T,W] → cross_key_j, cross_value_j [B,Hx,T,Dx]. */
export function crossContract(layers: number): RoleContract {
  return {
    role: 'captioner.cross',
    inputs: [{ name: 'image_embs', dtypes: f32, shapes: [['B', 'T', 'W']] }],
    outputs: pairs('cross', layers, ['B', 'Hx', 'T', 'Dx']),
  };
}

/**
 * `captioner.decoderWithPast` with K self-attention layers and M cross-attention layers: input_ids [B,1],
 * position [1], past_* [B,H,P,D], cross_* [1,Hx,T,Dx] (one crop's, broadcast over the B rows) → logits [B,V],
 * present_* [B,H,P+1,D]. A graph may declare the cross batch symbolic (the exporter's do); a fixed size other than 1
 * cannot take the engine's feeds.
 */
export function withPastContract(selfLayers: number, crossLayers: number): RoleContract {
  return {
    role: 'captioner.decoderWithPast',
    inputs: [
      { name: 'input_ids', dtypes: ['int64'], shapes: [['B', 1]] },
      { name: 'position', dtypes: ['int64'], shapes: [[1]] },
      ...pairs('past', selfLayers, ['B', 'H', 'P', 'D']),
      ...pairs('cross', crossLayers, [1, 'Hx', 'T', 'Dx']),
    ],
    outputs: [
      { name: 'logits', dtypes: f32, shapes: [['B', 'V']] },
      ...pairs('present', selfLayers, ['B', 'H', 'P1', 'D']),
    ],
  };
}

/**
 * The contract of any role of a pack. The cache graphs' tensor counts (K self-attention and M cross-attention
 * layers) are read from the graph's own input/output names, mapped back to canonical names through `names`.
 */
export function contractOf(
  role: PackRole,
  inputs: readonly ValueMetadata[] = [],
  outputs: readonly ValueMetadata[] = [],
  names: Record<string, string> = {},
): RoleContract {
  if (role === 'segmenter.decoderBatched') return SEGMENTER_DECODER_BATCHED;
  if (role !== 'captioner.cross' && role !== 'captioner.decoderWithPast') return ROLE_CONTRACTS[role];
  const canonical = new Map(Object.entries(names).map(([from, to]) => [to, from]));
  const canonicalOf = (list: readonly ValueMetadata[]) => list.map((m) => canonical.get(m.name) ?? m.name);
  if (role === 'captioner.cross') return crossContract(countIndexed(canonicalOf(outputs), 'cross'));
  const inputNames = canonicalOf(inputs);
  return withPastContract(countIndexed(inputNames, 'past'), countIndexed(inputNames, 'cross'));
}

/** The manifest entry of an optional graph, or undefined when the pack does not offer it. */
export function optionalGraphFileOf(manifest: Manifest, role: OptionalRole): GraphFile | undefined {
  switch (role) {
    case 'segmenter.decoderBatched':
      return manifest.segmenter.decoderBatched;
    case 'captioner.cross':
      return manifest.captioner.cross;
    case 'captioner.decoderWithPast':
      return manifest.captioner.decoderWithPast;
  }
}

/** The optional graphs a manifest lists, in OPTIONAL_ROLES order. */
export function offeredOptionalRoles(manifest: Manifest): OptionalRole[] {
  return (['segmenter.decoderBatched', 'captioner.cross', 'captioner.decoderWithPast'] as const).filter(
    (role) => optionalGraphFileOf(manifest, role) !== undefined,
  );
}

/** Which contracts the manifest offers: the cached captioner needs both `cross` and `decoderWithPast`. */
export function packContracts(manifest: Manifest): PackContracts {
  return {
    captioner: manifest.captioner.cross && manifest.captioner.decoderWithPast ? 'cached' : 'full-prefix',
    segmenter: manifest.segmenter.decoderBatched ? 'batched' : 'batch-1',
  };
}

/** The manifest entry (ONNX file, checksum, names) of a role; throws for an optional graph the pack lacks. */
export function graphFileOf(manifest: Manifest, role: PackRole): GraphFile {
  switch (role) {
    case 'segmenter.decoderBatched':
    case 'captioner.cross':
    case 'captioner.decoderWithPast': {
      const graph = optionalGraphFileOf(manifest, role);
      if (!graph) throw new Error(`model pack "${manifest.name}" has no ${role} graph`);
      return graph;
    }
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
