/**
 * Tensor construction for the engine's feeds: the one place outside `pack.ts` that touches `ort.Tensor`, so decoding
 * and segmentation code builds feeds through these helpers and reads outputs as typed arrays. onnxruntime-node is
 * imported inside `src/engine/runtime/` only (an ESLint fence says so).
 */
import * as ort from 'onnxruntime-node';

/** A tensor as the engine passes it around (onnxruntime's, opaque outside runtime/). */
export type Tensor = ort.Tensor;

/** float32 tensor over `data` (not copied). */
export function floatTensor(data: Float32Array, dims: readonly number[]): Tensor {
  return new ort.Tensor('float32', data, dims);
}

/** int64 tensor from numbers (token ids, positions). */
export function int64Tensor(values: ArrayLike<number>, dims: readonly number[]): Tensor {
  return new ort.Tensor(
    'int64',
    BigInt64Array.from({ length: values.length }, (_, i) => BigInt(values[i]!)),
    dims,
  );
}

/** The float32 data of an output tensor, with a clear error when the graph returned another type. */
export function floatData(tensor: Tensor | undefined, what: string): { data: Float32Array; dims: number[] } {
  if (!tensor) throw new Error(`${what} is missing from the graph's outputs`);
  if (tensor.type !== 'float32') throw new Error(`${what} is ${tensor.type}, expected float32`);
  return { data: tensor.data as Float32Array, dims: tensor.dims.map(Number) };
}

/**
 * Output `name` of a run as float32 data and dims, with the error naming `role` (the graph) when the output is missing
 * (listing what the run returned) or not float32.
 */
export function floatOutput(
  out: Readonly<Record<string, Tensor>>,
  name: string,
  role: string,
): { data: Float32Array; dims: number[] } {
  const tensor = out[name];
  if (!tensor)
    throw new Error(`${role} returned no "${name}" output (got ${Object.keys(out).join(', ') || 'nothing'})`);
  if (tensor.type !== 'float32')
    throw new Error(`${role} output "${name}" is ${tensor.type}, expected float32`);
  return { data: tensor.data as Float32Array, dims: tensor.dims.map(Number) };
}

/** A session's declared input names and shapes: the runtime's `ModelSession` or a bare onnxruntime session. */
export interface DeclaredInputs {
  readonly inputNames: readonly string[];
  readonly inputs?: Readonly<Record<string, { shape: (number | string)[] }>>;
  readonly inputMetadata?: readonly ort.InferenceSession.ValueMetadata[];
}

/** The declared shape of input `name` (symbolic dims are strings), or undefined when the session does not say. */
export function declaredShape(session: DeclaredInputs, name: string): (number | string)[] | undefined {
  const info = session.inputs?.[name];
  if (info) return info.shape;
  const meta = session.inputMetadata?.find((m) => m.name === name);
  return meta?.isTensor ? [...meta.shape] : undefined;
}
