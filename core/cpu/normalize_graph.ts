/**
 * The SAE input transform as ONNX nodes (normalize_activations, then b_dec subtraction) and its
 * inverse on the output: the CPU twin of `core/ops/normalize.ts`, with the same math.
 *
 * @module
 */

import type { NormalizeMode } from "../ops/normalize.ts";
import type { GraphBuilder } from "./graph_builder.ts";

/** Per-token undo values [rows, 1] a mode produces on input and needs on output: y · scale + shift. */
export type UndoNames = { scale: string; shift?: string };

/** The names per-token undo values have as graph inputs and outputs for `mode` (none for other modes). */
export function undoNames(mode: NormalizeMode): UndoNames | undefined {
  if (mode === "constant_norm_rescale") return { scale: "undo_scale" };
  if (mode === "layer_norm") return { scale: "undo_scale", shift: "undo_shift" };
  return undefined;
}

/**
 * Adds `x' = normalize(x) - b_dec` to the graph.
 *
 * @example
 * ```ts ignore
 * const { xIn, undo } = normalizeInNodes(g, "x", { mode: "layer_norm", scale: 1, width: 768, bDec: "b_dec" });
 * ```
 *
 * @returns The SAE input and, for per-token modes, the undo values.
 */
export function normalizeInNodes(
  g: GraphBuilder,
  x: string,
  transform: { mode: NormalizeMode; scale: number; width: number; bDec?: string },
): { xIn: string; undo?: UndoNames } {
  const { mode, scale, width, bDec } = transform;
  let y = x;
  let undo: UndoNames | undefined;
  if (mode === "expected_average_only_in") {
    y = g.node("Mul", [x, g.scalar(scale)]);
  } else if (mode === "constant_norm_rescale") {
    const norm = g.node("Sqrt", [g.node("ReduceSumSquare", [x], { axes: [-1], keepdims: 1 })]);
    const inScale = g.node("Div", [g.scalar(Math.sqrt(width)), norm]);
    y = g.node("Mul", [x, inScale]);
    undo = { scale: g.node("Reciprocal", [inScale]) };
  } else if (mode === "layer_norm") {
    const mean = g.node("ReduceMean", [x], { axes: [-1], keepdims: 1 });
    const centered = g.node("Sub", [x, mean]);
    const variance = g.node("Div", [
      g.node("ReduceSumSquare", [centered], { axes: [-1], keepdims: 1 }),
      g.scalar(width - 1), // unbiased, as torch's default std
    ]);
    const sd = g.node("Sqrt", [variance]);
    y = g.node("Mul", [centered, g.node("Reciprocal", [g.node("Add", [sd, g.scalar(1e-5)])])]);
    undo = { scale: sd, shift: mean };
  }
  return { xIn: bDec === undefined ? y : g.node("Sub", [y, bDec]), undo };
}

/**
 * Adds the inverse normalization of an SAE output (nothing for mode `none`).
 *
 * @example
 * ```ts ignore
 * const recon = normalizeOutNodes(g, y, { mode: "layer_norm", scale: 1 }, undo);
 * ```
 *
 * @param undo The per-token values of the encode (per-token modes only).
 */
export function normalizeOutNodes(
  g: GraphBuilder,
  y: string,
  transform: { mode: NormalizeMode; scale: number },
  undo: UndoNames | undefined,
): string {
  if (transform.mode === "expected_average_only_in") return g.node("Mul", [y, g.scalar(1 / transform.scale)]);
  if (!undo) return y;
  const scaled = g.node("Mul", [y, undo.scale]);
  return undo.shift === undefined ? scaled : g.node("Add", [scaled, undo.shift]);
}
