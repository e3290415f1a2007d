/**
 * TopK selection as ONNX nodes: the k largest entries of each row, ReLU'd, as a dense row or decoded
 * sparsely from the k rows of W_dec they select (the CPU twins of `core/ops/topk.ts` and
 * `core/ops/decode_sparse.ts`).
 *
 * @module
 */

import type { GraphBuilder } from "./graph_builder.ts";

/** The kept entries of each row: ReLU'd values and their int64 indices, [rows, k] each. */
export interface TopkNodes {
  /** max(value, 0) of each kept entry. */
  values: string;
  /** Column of each kept entry. */
  indices: string;
}

/**
 * Adds the selection of the k largest entries of each row of `h` [rows, n].
 *
 * @example
 * ```ts ignore
 * const top = topkNodes(g, h, 32);
 * ```
 */
export function topkNodes(g: GraphBuilder, h: string, k: number): TopkNodes {
  const [values, indices] = g.nodes("TopK", [h, g.int64s([k])], 2, { axis: -1, largest: 1, sorted: 0 });
  return { values: g.node("Relu", [values]), indices };
}

/**
 * Adds the dense form of a selection: the kept values in their columns of a zero row shaped like `like`.
 *
 * @example
 * ```ts ignore
 * const features = denseTopkNodes(g, h, topkNodes(g, h, 32));
 * ```
 */
export function denseTopkNodes(g: GraphBuilder, like: string, top: TopkNodes): string {
  const zeros = g.node("ConstantOfShape", [g.node("Shape", [like])]);
  return g.node("ScatterElements", [zeros, top.indices, top.values], { axis: -1 });
}

/**
 * Adds `Σ_j values_j · W_dec[indices_j] + b_dec` per row: a decode that reads k rows of W_dec, not d_sae.
 *
 * @example
 * ```ts ignore
 * const recon = sparseDecodeNodes(g, topkNodes(g, h, 32), "W_dec", "b_dec");
 * ```
 */
export function sparseDecodeNodes(g: GraphBuilder, top: TopkNodes, wDec: string, bDec: string): string {
  const rows = g.node("Gather", [wDec, top.indices], { axis: 0 }); // [rows, k, d_in]
  const weights = g.node("Unsqueeze", [top.values, g.int64s([1])]); // [rows, 1, k]
  const summed = g.node("Squeeze", [g.node("MatMul", [weights, rows]), g.int64s([1])]);
  return g.node("Add", [summed, bDec]);
}
