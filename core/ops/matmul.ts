/**
 * Matrix products against stored weights, with a fused epilogue.
 *
 * @module
 */

import type { Gpu } from "../gpu/device.ts";
import { dispatch, MAX_WORKGROUPS_PER_DIM, type WgslSource } from "../gpu/pipelines.ts";
import type { GpuTensor } from "../gpu/tensor.ts";
import type { WeightBlock, WeightMatrix } from "../gpu/weight_matrix.ts";
import matmulWgsl from "../../shaders/matmul.wgsl" with { type: "text" };

const MATMUL: WgslSource = { name: "matmul", code: matmulWgsl };
const WORKGROUP = 64;

/** The epilogue fused into a product: its WGSL and, per weight block, its buffers (bindings 4+). */
export interface Epilogue {
  /** WGSL defining `fn epilogue(col4: u32, acc: vec4<f32>) -> vec4<f32>` and its bindings. */
  source: WgslSource;
  /** The epilogue's buffers for a weight block. */
  buffers(block: WeightBlock, blockIndex: number): GPUBuffer[];
}

/** Rows per invocation: 16 measured fastest; small batches compute fewer redundant rows. */
function rowsPerInvocation(m: number): number {
  return m >= 16 ? 16 : m >= 8 ? 8 : m >= 4 ? 4 : m >= 2 ? 2 : 1;
}

/**
 * Records `out = epilogue(a · W)` for every row chunk of `a`.
 *
 * Column-split weights write their block of columns; row-split weights sum their row ranges into
 * `out` (the first block writes, the rest accumulate), so a row-split product's epilogue must be
 * linear with its constant term in block 0 only.
 *
 * @example Decode features
 * ```ts ignore
 * matmul(gpu, encoder, features, wDec, recon, biasEpilogue);
 * ```
 *
 * @param gpu The device.
 * @param encoder Collects the commands.
 * @param a Left operand [rows, W.rows], chunked like `out`.
 * @param w Right operand.
 * @param out Result [rows, W.cols].
 * @param epilogue Fused elementwise tail.
 * @throws {TypeError} When the shapes or row chunks disagree.
 */
export function matmul(
  gpu: Gpu,
  encoder: GPUCommandEncoder,
  a: GpuTensor,
  w: WeightMatrix,
  out: GpuTensor,
  epilogue: Epilogue,
): void {
  if (a.cols !== w.rows || out.cols !== w.cols || a.rows !== out.rows || a.chunks.length !== out.chunks.length) {
    throw new TypeError(
      `Cannot multiply [${a.rows}, ${a.cols}] by [${w.rows}, ${w.cols}] into [${out.rows}, ${out.cols}] as the shapes or row chunks disagree`,
    );
  }
  const rows = rowsPerInvocation(a.rowsPerChunk);
  const spec = { sources: [MATMUL, epilogue.source], consts: { ROWS: rows }, overrides: { WG: WORKGROUP }, f16: w.f16 };
  a.chunks.forEach((chunk, ci) => {
    const target = out.chunks[ci];
    w.blocks.forEach((block, bi) => {
      const groupsX = Math.ceil(Math.ceil(block.cols / 4) / WORKGROUP);
      const rowsPerDispatch = MAX_WORKGROUPS_PER_DIM * rows;
      for (let r0 = 0; r0 < chunk.rows; r0 += rowsPerDispatch) {
        const params = new Uint32Array([
          chunk.rows,
          block.cols,
          block.rows,
          a.cols,
          block.row0,
          block.ldb4,
          out.cols,
          block.col0,
          block.row0 > 0 ? 1 : 0,
          r0,
        ]);
        const groupsY = Math.ceil(Math.min(rowsPerDispatch, chunk.rows - r0) / rows);
        dispatch(gpu, encoder, spec, params, [
          chunk.buffer,
          block.buffer,
          target.buffer,
          ...epilogue.buffers(block, bi),
        ], [groupsX, groupsY]);
      }
    });
  });
}
