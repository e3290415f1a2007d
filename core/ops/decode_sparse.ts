/**
 * Decoding from k kept latents per row, reading only those rows of W_dec.
 *
 * @module
 */

import type { Gpu } from "../gpu/device.ts";
import { dispatch, MAX_WORKGROUPS_PER_DIM, type WgslSource } from "../gpu/pipelines.ts";
import type { GpuTensor } from "../gpu/tensor.ts";
import type { WeightMatrix } from "../gpu/weight_matrix.ts";
import type { TopKChunk } from "./topk.ts";
import decodeSparseWgsl from "../../shaders/decode_sparse.wgsl" with { type: "text" };

const DECODE_SPARSE: WgslSource = { name: "decode_sparse", code: decodeSparseWgsl };
const WORKGROUP = 64;

/**
 * Records `out = Σ_j values[j] · W_dec[indices[j]] + bias` for each row.
 *
 * @example Decode a TopK SAE's kept latents
 * ```ts ignore
 * decodeSparse(gpu, encoder, topChunks, k, wDec, [bDec, zeros], recon);
 * ```
 *
 * @param gpu The device.
 * @param encoder Collects the commands.
 * @param top Kept (value, index) pairs per row chunk of `out`.
 * @param k Pairs per row.
 * @param wDec Row-split decoder [d_sae, d_in].
 * @param biasFor The bias buffer (vec4-padded) for a decoder block: b_dec for the first, zeros after.
 * @param out Result [rows, d_in].
 */
export function decodeSparse(
  gpu: Gpu,
  encoder: GPUCommandEncoder,
  top: readonly TopKChunk[],
  k: number,
  wDec: WeightMatrix,
  biasFor: (blockIndex: number) => GPUBuffer,
  out: GpuTensor,
): void {
  const spec = { sources: [DECODE_SPARSE], overrides: { WG: WORKGROUP }, f16: wDec.f16 };
  top.forEach((chunk, ci) => {
    wDec.blocks.forEach((block, bi) => {
      for (let r = 0; r < chunk.rows; r += MAX_WORKGROUPS_PER_DIM) {
        const params = new Uint32Array([out.cols, k, block.ldb4, block.row0, block.rows, bi > 0 ? 1 : 0, r]);
        dispatch(gpu, encoder, spec, params, [
          chunk.values,
          chunk.indices,
          block.buffer,
          biasFor(bi),
          out.chunks[ci].buffer,
        ], [Math.ceil(Math.ceil(out.cols / 4) / WORKGROUP), Math.min(MAX_WORKGROUPS_PER_DIM, chunk.rows - r)]);
      }
    });
  });
}
