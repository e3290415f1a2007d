/**
 * The SAE input transform (normalize_activations, then b_dec subtraction) and its inverse on output.
 *
 * @module
 */

import type { Gpu } from "../gpu/device.ts";
import { dispatch, type WgslSource } from "../gpu/pipelines.ts";
import { emptyBuffer, GpuTensor } from "../gpu/tensor.ts";
import { ELEMENTWISE_WG, elementwiseGroups } from "./elementwise.ts";
import normalizeInWgsl from "../../shaders/normalize_in.wgsl" with { type: "text" };
import normalizeOutWgsl from "../../shaders/normalize_out.wgsl" with { type: "text" };

const NORMALIZE_IN: WgslSource = { name: "normalize_in", code: normalizeInWgsl };
const NORMALIZE_OUT: WgslSource = { name: "normalize_out", code: normalizeOutWgsl };

/** `normalize_in.wgsl` over `rows` rows of `n`: `xIn = normalize(x)` (− `bDec` when `subtractBDec`), and `undo`. */
function recordNormalizeIn(
  gpu: Gpu,
  encoder: GPUCommandEncoder,
  mode: NormalizeMode,
  u: { rows: number; n: number; scale: number; subtractBDec: boolean },
  b: { x: GPUBuffer; bDec: GPUBuffer; xIn: GPUBuffer; undo: GPUBuffer },
): void {
  const spec = { sources: [NORMALIZE_IN], overrides: { MODE: NORMALIZE_MODES.indexOf(mode), WG: ELEMENTWISE_WG } };
  const params = new Uint32Array([u.rows, u.n, 0, u.subtractBDec ? 1 : 0]);
  new Float32Array(params.buffer)[2] = u.scale;
  dispatch(gpu, encoder, spec, params, [b.x, b.bDec, b.xIn, b.undo], elementwiseGroups(u.rows));
}

/** `normalize_out.wgsl` over `rows` rows of `n`: `y = y · out_scale + shift` in place, per row's `undo` record. */
function recordNormalizeOut(
  gpu: Gpu,
  encoder: GPUCommandEncoder,
  u: { rows: number; n: number },
  b: { undo: GPUBuffer; y: GPUBuffer },
): void {
  const spec = { sources: [NORMALIZE_OUT], overrides: { WG: ELEMENTWISE_WG } };
  dispatch(gpu, encoder, spec, new Uint32Array([u.rows, u.n]), [b.undo, b.y], elementwiseGroups(u.rows * u.n));
}

/** SAELens's `normalize_activations` values. */
export const NORMALIZE_MODES = ["none", "expected_average_only_in", "constant_norm_rescale", "layer_norm"] as const;

/** One of {@linkcode NORMALIZE_MODES}. */
export type NormalizeMode = typeof NORMALIZE_MODES[number];

/** The input transform of one SAE. */
export interface InputTransform {
  /** Normalization mode. */
  mode: NormalizeMode;
  /** s of `expected_average_only_in` (√d_in / E‖x‖); 1 where unknown, as SAELens then applies none. */
  scale: number;
  /** b_dec, subtracted when `apply_b_dec_to_input`, else `undefined`. */
  bDec: GPUBuffer | undefined;
}

/** Per-row-chunk record of how to undo the normalization: (shift, out_scale) per row. */
export type Undo = GPUBuffer[];

/**
 * Records `x' = normalize(x) - b_dec` into a new tensor chunked like `x`.
 *
 * @example Prepare SAE input
 * ```ts ignore
 * const { xIn, undo } = normalizeIn(gpu, encoder, x, transform);
 * ```
 *
 * @returns The SAE input and the per-row undo records.
 */
export function normalizeIn(
  gpu: Gpu,
  encoder: GPUCommandEncoder,
  x: GpuTensor,
  transform: InputTransform,
): { xIn: GpuTensor; undo: Undo } {
  const xIn = GpuTensor.empty(gpu, x.shape, x.rowsPerChunk, "sae input");
  const bDec = transform.bDec ?? emptyBuffer(gpu, x.cols * 4, "no b_dec");
  const undo = x.chunks.map((chunk, i) => {
    const record = emptyBuffer(gpu, chunk.rows * 8, "normalize undo");
    recordNormalizeIn(gpu, encoder, transform.mode, {
      rows: chunk.rows,
      n: x.cols,
      scale: transform.scale,
      subtractBDec: transform.bDec !== undefined,
    }, { x: chunk.buffer, bDec, xIn: xIn.chunks[i].buffer, undo: record });
    return record;
  });
  return { xIn, undo };
}

/**
 * Records the inverse normalization of the SAE output, in place (nothing for mode `none`).
 *
 * @example Undo on the reconstruction
 * ```ts ignore
 * normalizeOut(gpu, encoder, recon, undo, "layer_norm");
 * ```
 */
export function normalizeOut(
  gpu: Gpu,
  encoder: GPUCommandEncoder,
  y: GpuTensor,
  undo: Undo,
  mode: NormalizeMode,
): void {
  if (mode === "none") return;
  y.chunks.forEach((chunk, i) => {
    recordNormalizeOut(gpu, encoder, { rows: chunk.rows, n: y.cols }, { undo: undo[i], y: chunk.buffer });
  });
}
