/**
 * Builds the small ONNX graphs the SAE runs on the CPU: named inputs and outputs, nodes whose
 * outputs get fresh names, and scalar or vector constants.
 *
 * @module
 */

import type { AttributeValue, OnnxDtype, OnnxGraph, OnnxNode, OnnxValueInfo } from "../util/onnx_proto.ts";

/**
 * An ONNX graph under construction. Symbolic dims are strings (`"rows"`); those named in `sizes` are declared as
 * their numbers, since ONNX Runtime fuses a bias into its matrix product (one pass over the output instead of two or
 * three) only when it can see the bias fits the product's last dimension.
 *
 * @example ReLU(x · W + b)
 * ```ts
 * import { GraphBuilder } from "./graph_builder.ts";
 * const g = new GraphBuilder();
 * const x = g.input("x", ["rows", 4]);
 * const h = g.node("Add", [g.node("MatMul", [x, g.input("W", [4, 8])]), g.input("b", [8])]);
 * g.output(g.node("Relu", [h]), "f", ["rows", 8]);
 * console.log(g.build().nodes.length); // 4
 * ```
 *
 * @example Named sizes declared as numbers
 * ```ts
 * import { GraphBuilder } from "./graph_builder.ts";
 * const g = new GraphBuilder({ d_sae: 8 });
 * g.input("b_enc", ["d_sae"]);
 * console.log(g.build().inputs[0].dims); // [ 8 ]
 * ```
 */
export class GraphBuilder {
  readonly #sizes: Readonly<Record<string, number>>;
  readonly #nodes: OnnxNode[] = [];
  readonly #inputs: OnnxValueInfo[] = [];
  readonly #outputs: OnnxValueInfo[] = [];
  #next = 0;

  /**
   * Creates an empty graph.
   *
   * @param sizes Symbolic dims known when the graph is built, declared as numbers.
   */
  constructor(sizes: Readonly<Record<string, number>> = {}) {
    this.#sizes = sizes;
  }

  /** Names of the inputs declared so far, in order. */
  get inputNames(): string[] {
    return this.#inputs.map((i) => i.name);
  }

  /** Declares an input (once per name; float unless `dtype` says otherwise) and returns its name. */
  input(name: string, dims: readonly (number | string)[], dtype: OnnxDtype = "float"): string {
    if (!this.#inputs.some((i) => i.name === name)) {
      this.#inputs.push({ name, dtype, dims: dims.map((d) => typeof d === "string" ? this.#sizes[d] ?? d : d) });
    }
    return name;
  }

  /** Names and element types of the inputs declared so far, in order. */
  get inputTypes(): { name: string; dtype: OnnxDtype }[] {
    return this.#inputs.map(({ name, dtype }) => ({ name, dtype }));
  }

  /** Adds a node with one output and returns the output's name. */
  node(opType: string, inputs: readonly string[], attributes?: Record<string, AttributeValue>): string {
    return this.nodes(opType, inputs, 1, attributes)[0];
  }

  /** Adds a node with `count` outputs and returns their names. */
  nodes(
    opType: string,
    inputs: readonly string[],
    count: number,
    attributes?: Record<string, AttributeValue>,
  ): string[] {
    const outputs = Array.from({ length: count }, () => `${opType.toLowerCase()}_${this.#next++}`);
    this.#nodes.push({ opType, inputs, outputs, attributes });
    return outputs;
  }

  /** A float scalar constant. */
  scalar(value: number): string {
    return this.node("Constant", [], { value: { dtype: "float", dims: [], data: Float32Array.of(value) } });
  }

  /** An int64 scalar constant (Range's bounds). */
  int64(value: number): string {
    return this.node("Constant", [], { value: { dtype: "int64", dims: [], data: BigInt64Array.of(BigInt(value)) } });
  }

  /** An int64 vector constant (TopK's k, Unsqueeze's axes). */
  int64s(values: readonly number[]): string {
    return this.node("Constant", [], {
      value: { dtype: "int64", dims: [values.length], data: BigInt64Array.from(values, BigInt) },
    });
  }

  /** Makes `value` a graph output named `name`. */
  output(value: string, name: string, dims: readonly (number | string)[], dtype: OnnxDtype = "float"): void {
    this.#nodes.push({ opType: "Identity", inputs: [value], outputs: [name] });
    this.#outputs.push({ name, dtype, dims });
  }

  /** The graph, without initializers (weights come in as inputs). */
  build(): OnnxGraph {
    return { nodes: this.#nodes, initializers: new Map(), inputs: this.#inputs, outputs: this.#outputs };
  }
}
