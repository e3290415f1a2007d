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
  const mode = NORMALIZE_MODES.indexOf(transform.mode);
  const spec = { sources: [NORMALIZE_IN], overrides: { MODE: mode, WG: ELEMENTWISE_WG } };
  const bDec = transform.bDec ?? emptyBuffer(gpu, x.cols * 4, "no b_dec");
  const undo = x.chunks.map((chunk, i) => {
    const record = emptyBuffer(gpu, chunk.rows * 8, "normalize undo");
    const params = new Uint32Array(4);
    params[0] = chunk.rows;
    params[1] = x.cols;
    new Float32Array(params.buffer)[2] = transform.scale;
    params[3] = transform.bDec ? 1 : 0;
    dispatch(
      gpu,
      encoder,
      spec,
      params,
      [chunk.buffer, bDec, xIn.chunks[i].buffer, record],
      elementwiseGroups(chunk.rows),
    );
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
  const spec = { sources: [NORMALIZE_OUT], overrides: { WG: ELEMENTWISE_WG } };
  y.chunks.forEach((chunk, i) => {
    dispatch(
      gpu,
      encoder,
      spec,
      new Uint32Array([chunk.rows, y.cols]),
      [undo[i], chunk.buffer],
      elementwiseGroups(chunk.rows * y.cols),
    );
  });
}
