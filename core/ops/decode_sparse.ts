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
 * `decode_sparse.wgsl` over `rows` rows from `rowStart`: `out` (+)= Σ values · W_dec rows `blockRow0..+blockRows`
 * (the block's `ldb4` vec4s apart) + bias, `n` columns per row.
 */
function recordDecodeSparse(
  gpu: Gpu,
  encoder: GPUCommandEncoder,
  f16: boolean,
  u: {
    n: number;
    k: number;
    ldb4: number;
    blockRow0: number;
    blockRows: number;
    accumulate: boolean;
    rowStart: number;
    rows: number;
  },
  b: { topValues: GPUBuffer; topIndices: GPUBuffer; wDec: GPUBuffer; bias: GPUBuffer; out: GPUBuffer },
): void {
  const spec = { sources: [DECODE_SPARSE], overrides: { WG: WORKGROUP }, f16 };
  const params = new Uint32Array([
    u.n,
    u.k,
    u.ldb4,
    u.blockRow0,
    u.blockRows,
    u.accumulate ? 1 : 0,
    u.rowStart,
  ]);
  dispatch(gpu, encoder, spec, params, [b.topValues, b.topIndices, b.wDec, b.bias, b.out], [
    Math.ceil(Math.ceil(u.n / 4) / WORKGROUP),
    u.rows,
  ]);
}

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
  top.forEach((chunk, ci) => {
    wDec.blocks.forEach((block, bi) => {
      for (let r = 0; r < chunk.rows; r += MAX_WORKGROUPS_PER_DIM) {
        recordDecodeSparse(gpu, encoder, wDec.f16, {
          n: out.cols,
          k,
          ldb4: block.ldb4,
          blockRow0: block.row0,
          blockRows: block.rows,
          accumulate: bi > 0,
          rowStart: r,
          rows: Math.min(MAX_WORKGROUPS_PER_DIM, chunk.rows - r),
        }, {
          topValues: chunk.values,
          topIndices: chunk.indices,
          wDec: block.buffer,
          bias: biasFor(bi),
          out: out.chunks[ci].buffer,
        });
      }
    });
  });
}
