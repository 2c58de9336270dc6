/**
 * A small ONNX graph writer over `onnx-proto` (the ONNX protobuf schema compiled for protobufjs): enough
 * to export the encoders of a model trained with TensorFlow.js (`@rewardlab/agents`' contrastive model)
 * into the same `.onnx` files a CLIP export ships, so that one loader serves both.
 *
 * Tensors are stored as raw little-endian bytes (`raw_data`), as exporters do. Dimensions given as
 * strings are symbolic (`"batch"`), as in exported CLIP encoders.
 */
import { onnx } from 'onnx-proto';

export type OnnxElementType = 'float' | 'int64';
export type OnnxDim = number | string;
export type OnnxAttribute = number | number[] | string | { floats: number[] } | { int: number } | { float: number };

const ELEMENT: Record<OnnxElementType, onnx.TensorProto.DataType> = {
  float: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
};

/** The ONNX opset the writer declares (default domain); every op used must exist in it. */
export const ONNX_OPSET = 13;
/** ONNX IR version 7 goes with opset 13. */
const IR_VERSION = 7;

function valueInfo(name: string, type: OnnxElementType, dims: readonly OnnxDim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEMENT[type],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, value: OnnxAttribute): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (typeof value === 'number') return Number.isInteger(value) ? { name, type: T.INT, i: value } : { name, type: T.FLOAT, f: value };
  if (Array.isArray(value)) return { name, type: T.INTS, ints: value };
  if ('floats' in value) return { name, type: T.FLOATS, floats: value.floats };
  if ('int' in value) return { name, type: T.INT, i: value.int };
  return { name, type: T.FLOAT, f: value.float };
}

export class OnnxGraphBuilder {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  constructor(readonly name: string) {}

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`ONNX graph ${this.name}: the name "${name}" is used twice`);
    this.names.add(name);
    return name;
  }

  /** A fresh value name with this prefix. */
  fresh(prefix: string): string {
    let name: string;
    do name = `${prefix}_${this.counter++}`;
    while (this.names.has(name));
    return name;
  }

  input(name: string, type: OnnxElementType, dims: readonly OnnxDim[]): string {
    this.inputs.push(valueInfo(this.claim(name), type, dims));
    return name;
  }

  output(name: string, type: OnnxElementType, dims: readonly OnnxDim[]): string {
    this.outputs.push(valueInfo(name, type, dims));
    return name;
  }

  /** A constant tensor (weights, shapes, axes). */
  initializer(name: string, data: Float32Array | BigInt64Array, dims: readonly number[]): string {
    const count = dims.reduce((a, b) => a * b, 1);
    if (data.length !== count) throw new Error(`ONNX initializer ${name}: ${data.length} values for dims [${dims.join(', ')}] (${count})`);
    this.initializers.push({
      name: this.claim(name),
      dims: [...dims],
      dataType: data instanceof Float32Array ? ELEMENT.float : ELEMENT.int64,
      rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice(),
    });
    return name;
  }

  /** An int64 constant, e.g. the axes of ReduceSum or Unsqueeze in opset 13. */
  ints(name: string, values: readonly number[]): string {
    return this.initializer(name, BigInt64Array.from(values.map(BigInt)), [values.length]);
  }

  /** Adds a node; returns its first output's name (a fresh one unless `outputs` names it). */
  node(opType: string, inputs: readonly string[], attributes: Record<string, OnnxAttribute> = {}, outputs?: readonly string[]): string {
    const outs = outputs ? outputs.map((o) => this.claim(o)) : [this.claim(this.fresh(opType.toLowerCase()))];
    this.nodes.push({
      opType,
      name: this.fresh(`${opType}_node`),
      input: [...inputs],
      output: outs,
      attribute: Object.entries(attributes).map(([k, v]) => attribute(k, v)),
    });
    return outs[0]!;
  }

  /** The serialised ModelProto. `metadata` lands in the model's metadata_props. */
  toBytes(options: { producer?: string; docString?: string; metadata?: Record<string, string> } = {}): Uint8Array {
    const model: onnx.IModelProto = {
      irVersion: IR_VERSION,
      producerName: options.producer ?? 'rewardlab',
      opsetImport: [{ domain: '', version: ONNX_OPSET }],
      docString: options.docString ?? '',
      metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
      graph: { name: this.name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs },
    };
    const err = onnx.ModelProto.verify(model);
    if (err) throw new Error(`ONNX graph ${this.name}: ${err}`);
    return onnx.ModelProto.encode(model).finish();
  }
}

/** Reads a serialised ModelProto back (for tests and for checking a model directory's files). */
export function readOnnxModel(bytes: Uint8Array): onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}
