/**
 * A small builder for ONNX graphs, protobuf-encoded with `onnx-proto`.
 *
 * The demo model pack and the runtime's tests build their graphs with it: hand-written graphs from standard ONNX
 * operators, so that every test and the demo run real onnxruntime-node sessions. Encoding is deterministic: the same
 * calls give byte-identical files.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** Element types the builder can declare (the subset the pack contracts use). */
export type DType = 'float32' | 'int64' | 'int32' | 'bool' | 'uint8' | 'float16';

/** A dimension: a fixed size, or a symbolic name for a dynamic one. */
export type Dim = number | string;

/** An attribute value with its ONNX type made explicit. */
export type AttributeValue =
  | { type: 'int'; value: number }
  | { type: 'float'; value: number }
  | { type: 'ints'; value: number[] }
  | { type: 'floats'; value: number[] }
  | { type: 'string'; value: string }
  | { type: 'tensor'; value: TensorValue }
  | { type: 'graph'; value: GraphBuilder };

/** A constant tensor: row-major values of a declared type and shape. */
export interface TensorValue {
  dtype: DType;
  dims: number[];
  values: ArrayLike<number> | ArrayLike<bigint>;
}

/** Shorthand attribute constructors: `attr.int(1)`, `attr.floats([0.5])`, `attr.graph(body)`. */
export const attr = {
  int: (value: number): AttributeValue => ({ type: 'int', value }),
  float: (value: number): AttributeValue => ({ type: 'float', value }),
  ints: (value: number[]): AttributeValue => ({ type: 'ints', value }),
  floats: (value: number[]): AttributeValue => ({ type: 'floats', value }),
  string: (value: string): AttributeValue => ({ type: 'string', value }),
  tensor: (value: TensorValue): AttributeValue => ({ type: 'tensor', value }),
  graph: (value: GraphBuilder): AttributeValue => ({ type: 'graph', value }),
};

const ELEMENT_TYPE: Record<DType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  uint8: onnx.TensorProto.DataType.UINT8,
  int32: onnx.TensorProto.DataType.INT32,
  int64: onnx.TensorProto.DataType.INT64,
  bool: onnx.TensorProto.DataType.BOOL,
  float16: onnx.TensorProto.DataType.FLOAT16,
};

/** Options of {@link GraphBuilder.toModel}. */
export interface ModelOptions {
  /** Default-domain opset; 17 is the official SAM decoder export's. */
  opset?: number;
  /** ONNX IR version; 8 is the newest `onnx-proto` knows and every supported onnxruntime reads it. */
  irVersion?: number;
  producerName?: string;
  docString?: string;
  /** Free-form metadata_props (e.g. the demo pack's build parameters). */
  metadata?: Record<string, string>;
}

/**
 * Builds one ONNX graph node by node.
 *
 * Value names are generated (`<op>_<n>`) unless given; `op` returns the single output's name so graphs read like
 * expressions: `const y = g.op('Relu', [g.op('Add', [x, b])])`.
 */
export class GraphBuilder {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private counter = 0;

  constructor(readonly name: string) {}

  /** Declares a graph input and returns its name. */
  input(name: string, dtype: DType, dims: Dim[]): string {
    this.inputs.push(valueInfo(name, dtype, dims));
    return name;
  }

  /** Declares an existing value as a graph output (optionally renaming it through an Identity). */
  output(value: string, dtype: DType, dims: Dim[], name = value): string {
    const outName = name === value ? value : this.op('Identity', [value], {}, name);
    this.outputs.push(valueInfo(outName, dtype, dims));
    return outName;
  }

  /** Adds a constant tensor as an initializer and returns its name. */
  constant(tensor: TensorValue, name = this.fresh('const')): string {
    this.initializers.push(tensorProto(name, tensor));
    return name;
  }

  /** Shorthand for a float32 constant. */
  floats(values: ArrayLike<number>, dims: number[] = [values.length], name?: string): string {
    return this.constant({ dtype: 'float32', dims, values }, name);
  }

  /** Shorthand for an int64 constant (shapes, axes, indices). */
  ints(values: ArrayLike<number>, dims: number[] = [values.length], name?: string): string {
    return this.constant({ dtype: 'int64', dims, values }, name);
  }

  /** Adds a node with several outputs; returns their names. An empty string input means "optional, absent". */
  node(
    opType: string,
    inputs: string[],
    attributes: Record<string, AttributeValue> = {},
    outputs: number | string[] = 1,
    domain = '',
  ): string[] {
    const outputNames =
      typeof outputs === 'number'
        ? Array.from({ length: outputs }, () => this.fresh(opType.toLowerCase()))
        : outputs;
    this.nodes.push({
      opType,
      domain,
      name: this.fresh(`${opType}_node`),
      input: inputs,
      output: outputNames,
      attribute: Object.entries(attributes).map(([key, value]) => attributeProto(key, value)),
    });
    return outputNames;
  }

  /** Adds a single-output node and returns the output's name. */
  op(
    opType: string,
    inputs: string[],
    attributes: Record<string, AttributeValue> = {},
    outputName?: string,
  ): string {
    return this.node(opType, inputs, attributes, outputName ? [outputName] : 1)[0];
  }

  /** The graph as an ONNX GraphProto (used directly for Loop/If bodies). */
  toGraphProto(): onnxProto.onnx.IGraphProto {
    return {
      name: this.name,
      node: this.nodes,
      input: this.inputs,
      output: this.outputs,
      initializer: this.initializers,
    };
  }

  /** Encodes the graph as a complete ONNX model file. */
  toModel(options: ModelOptions = {}): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: options.irVersion ?? 8,
      producerName: options.producerName ?? 'pseudo-ris-studio',
      docString: options.docString ?? '',
      opsetImport: [{ domain: '', version: options.opset ?? 17 }],
      graph: this.toGraphProto(),
      metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
    });
    return onnx.ModelProto.encode(model).finish();
  }

  private fresh(prefix: string): string {
    this.counter += 1;
    return `${this.name}/${prefix}_${this.counter}`;
  }
}

function valueInfo(name: string, dtype: DType, dims: Dim[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEMENT_TYPE[dtype],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function tensorProto(name: string, tensor: TensorValue): onnxProto.onnx.ITensorProto {
  const count = tensor.dims.reduce((a, b) => a * b, 1);
  if (tensor.values.length !== count) {
    throw new Error(
      `constant "${name}": ${tensor.values.length} values for dims [${tensor.dims.join(', ')}] (${count})`,
    );
  }
  const proto: onnxProto.onnx.ITensorProto = {
    name,
    dims: tensor.dims,
    dataType: ELEMENT_TYPE[tensor.dtype],
  };
  const values = Array.from(tensor.values as ArrayLike<number | bigint>, Number);
  switch (tensor.dtype) {
    case 'float32':
      proto.rawData = new Uint8Array(Float32Array.from(values).buffer);
      break;
    case 'int64':
      proto.rawData = new Uint8Array(BigInt64Array.from(values.map((v) => BigInt(Math.trunc(v)))).buffer);
      break;
    case 'int32':
      proto.rawData = new Uint8Array(Int32Array.from(values).buffer);
      break;
    case 'uint8':
    case 'bool':
      proto.rawData = Uint8Array.from(values);
      break;
    case 'float16':
      throw new Error(`constant "${name}": float16 constants are not supported by the builder`);
  }
  return proto;
}

function attributeProto(name: string, value: AttributeValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  switch (value.type) {
    case 'int':
      return { name, type: T.INT, i: value.value };
    case 'float':
      return { name, type: T.FLOAT, f: value.value };
    case 'ints':
      return { name, type: T.INTS, ints: value.value };
    case 'floats':
      return { name, type: T.FLOATS, floats: value.value };
    case 'string':
      return { name, type: T.STRING, s: new TextEncoder().encode(value.value) };
    case 'tensor':
      return { name, type: T.TENSOR, t: tensorProto(`${name}_value`, value.value) };
    case 'graph':
      return { name, type: T.GRAPH, g: value.value.toGraphProto() };
  }
}
