/**
 * A minimal protobuf encoder for the parts of ONNX's `ModelProto` that the model graphs and the CPU SAE graphs
 * need: nodes with int, float, string, ints and tensor attributes, raw-data initializers, and typed inputs/outputs with
 * symbolic dims.
 * Field numbers follow `onnx/onnx.proto` (IR version 8).
 * @module
 */

/** ONNX `TensorProto.DataType` codes used here. */
export const ONNX_DTYPE: Record<OnnxDtype, number> = { float: 1, int64: 7, bool: 9, double: 11 };
/** An ONNX element type name. */
export type OnnxDtype = "float" | "int64" | "bool" | "double";

/** A node attribute value: a number is an int unless wrapped as `{ float }`; `{ string }` is a string (ScatterND's reduction). */
export type AttributeValue = number | { float: number } | { string: string } | number[] | OnnxTensor;

/** An initializer or constant tensor. */
export interface OnnxTensor {
  /** Element type. */
  dtype: OnnxDtype;
  /** Dimensions. */
  dims: readonly number[];
  /** Row-major values. */
  data: Float32Array | BigInt64Array | Uint8Array;
}

/** One graph node. */
export interface OnnxNode {
  /** The operator, e.g. `MatMul`. */
  opType: string;
  /** Names of its inputs. */
  inputs: readonly string[];
  /** Names of its outputs. */
  outputs: readonly string[];
  /** Its attributes by name. */
  attributes?: Record<string, AttributeValue>;
}

/** A graph input or output: name, element type and optional dims (a string dim is symbolic). */
export interface OnnxValueInfo {
  /** The value's name. */
  name: string;
  /** Element type. */
  dtype: OnnxDtype;
  /** Dimensions; a string is a symbolic dimension. */
  dims?: readonly (number | string)[];
}

/** A whole single-graph model. */
export interface OnnxGraph {
  /** Nodes in topological order. */
  nodes: readonly OnnxNode[];
  /** Constant tensors by name. */
  initializers: ReadonlyMap<string, OnnxTensor>;
  /** The graph's inputs. */
  inputs: readonly OnnxValueInfo[];
  /** The graph's outputs. */
  outputs: readonly OnnxValueInfo[];
}

class Writer {
  #chunks: Uint8Array[] = [];
  #length = 0;

  get length(): number {
    return this.#length;
  }

  bytes(bytes: Uint8Array): void {
    this.#chunks.push(bytes);
    this.#length += bytes.length;
  }

  varint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    const out: number[] = [];
    while (v >= 0x80n) {
      out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(Number(v));
    this.bytes(Uint8Array.from(out));
  }

  tag(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }

  int(field: number, value: number | bigint): void {
    this.tag(field, 0);
    this.varint(value);
  }

  float(field: number, value: number): void {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.bytes(b);
  }

  lengthDelimited(field: number, bytes: Uint8Array): void {
    this.tag(field, 2);
    this.varint(bytes.length);
    this.bytes(bytes);
  }

  string(field: number, value: string): void {
    this.lengthDelimited(field, new TextEncoder().encode(value));
  }

  message(field: number, write: (w: Writer) => void): void {
    const inner = new Writer();
    write(inner);
    this.lengthDelimited(field, inner.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.#length);
    let offset = 0;
    for (const c of this.#chunks) {
      out.set(c, offset);
      offset += c.length;
    }
    return out;
  }
}

function writeTensor(w: Writer, name: string, t: OnnxTensor): void {
  const packed = new Writer();
  for (const d of t.dims) packed.varint(d);
  w.lengthDelimited(1, packed.finish());
  w.int(2, ONNX_DTYPE[t.dtype]);
  if (name) w.string(8, name);
  w.lengthDelimited(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

function writeAttribute(w: Writer, name: string, value: AttributeValue): void {
  w.string(1, name);
  if (typeof value === "number") {
    w.int(3, value);
    w.int(20, 2);
  } else if (Array.isArray(value)) {
    const packed = new Writer();
    for (const v of value) packed.varint(v);
    w.lengthDelimited(8, packed.finish());
    w.int(20, 7);
  } else if ("float" in value) {
    w.float(2, value.float);
    w.int(20, 1);
  } else if ("string" in value) {
    w.string(4, value.string);
    w.int(20, 3);
  } else {
    w.message(5, (t) => writeTensor(t, "", value));
    w.int(20, 4);
  }
}

function writeValueInfo(w: Writer, info: OnnxValueInfo): void {
  w.string(1, info.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, ONNX_DTYPE[info.dtype]);
      const dims = info.dims;
      if (!dims) return;
      tensor.message(2, (shape) => {
        for (const d of dims) shape.message(1, (dim) => typeof d === "number" ? dim.int(1, d) : dim.string(2, d));
      });
    }));
}

/** Serializes a graph as an ONNX model (opset 17) ready for `InferenceSession.create`. */
export function encodeOnnxModel(graph: OnnxGraph): Uint8Array {
  const w = new Writer();
  w.int(1, 8); // ir_version
  w.string(2, "sae");
  w.message(7, (g) => {
    for (const node of graph.nodes) {
      g.message(1, (n) => {
        for (const i of node.inputs) n.string(1, i);
        for (const o of node.outputs) n.string(2, o);
        n.string(4, node.opType);
        for (const [name, value] of Object.entries(node.attributes ?? {})) {
          n.message(5, (a) => writeAttribute(a, name, value));
        }
      });
    }
    g.string(2, "sae");
    for (const [name, t] of graph.initializers) g.message(5, (tw) => writeTensor(tw, name, t));
    for (const i of graph.inputs) g.message(11, (v) => writeValueInfo(v, i));
    for (const o of graph.outputs) g.message(12, (v) => writeValueInfo(v, o));
  });
  w.message(8, (o) => {
    o.string(1, "");
    o.int(2, 17);
  });
  return w.finish();
}
