/**
 * An SAE's activation applied to given pre-activations (after a hook edited them), block by block of
 * the encoder's columns so per-latent vectors bind as the encoder's epilogue binds them.
 *
 * @module
 */

import type { Gpu } from "../gpu/device.ts";
import { dispatch, type WgslSource } from "../gpu/pipelines.ts";
import type { GpuTensor } from "../gpu/tensor.ts";
import type { WeightBlock } from "../gpu/weight_matrix.ts";
import { ELEMENTWISE_WG, elementwiseGroups } from "./elementwise.ts";
import activateWgsl from "../../shaders/activate.wgsl" with { type: "text" };

const ACTIVATE: WgslSource = { name: "activate", code: activateWgsl };

/** `activate.wgsl` over `rows` × `cols` values from column `col0` of rows `ld` apart, then the activation's own. */
function recordActivate(
  gpu: Gpu,
  encoder: GPUCommandEncoder,
  activation: WgslSource,
  u: { rows: number; cols: number; ld: number; col0: number },
  b: { pre: GPUBuffer; out: GPUBuffer; aux?: GPUBuffer; activation: readonly GPUBuffer[] },
): void {
  const spec = { sources: [ACTIVATE, activation], overrides: { WG: ELEMENTWISE_WG } };
  const params = new Uint32Array([u.rows, u.cols, u.ld, u.col0]);
  dispatch(gpu, encoder, spec, params, [b.pre, b.out, b.aux, ...b.activation], elementwiseGroups(u.rows * u.cols));
}

/**
 * Records `out = activation(pre)` elementwise.
 *
 * @example ReLU of edited pre-activations
 * ```ts ignore
 * activate(gpu, encoder, pre, features, wEnc.blocks, { source: RELU, buffers: () => [] });
 * ```
 *
 * @param gpu The device.
 * @param encoder Collects the commands.
 * @param pre Pre-activations [rows, n].
 * @param out Result [rows, n], chunked like `pre`.
 * @param blocks Column blocks of the encoder (their `col0` and `cols`).
 * @param activation WGSL defining `fn activation(i: u32, col: u32, pre: f32) -> f32` and, per block,
 *   its buffers (bindings 4+).
 * @param aux A tensor chunked like `pre` bound at 3 (Gated's gate pre-activation), if the activation reads one.
 * @throws {TypeError} When the shapes or row chunks disagree.
 */
export function activate(
  gpu: Gpu,
  encoder: GPUCommandEncoder,
  pre: GpuTensor,
  out: GpuTensor,
  blocks: readonly WeightBlock[],
  activation: { source: WgslSource; buffers: (blockIndex: number) => GPUBuffer[] },
  aux?: GpuTensor,
): void {
  for (const t of [out, ...(aux ? [aux] : [])]) {
    if (t.rows !== pre.rows || t.cols !== pre.cols || t.chunks.length !== pre.chunks.length) {
      throw new TypeError(
        `Cannot activate [${pre.shape.join(", ")}] into [${t.shape.join(", ")}] as the shapes or row chunks disagree`,
      );
    }
  }
  pre.chunks.forEach((chunk, ci) => {
    blocks.forEach((block, bi) => {
      recordActivate(gpu, encoder, activation.source, {
        rows: chunk.rows,
        cols: block.cols,
        ld: pre.cols,
        col0: block.col0,
      }, {
        pre: chunk.buffer,
        out: out.chunks[ci].buffer,
        aux: aux?.chunks[ci].buffer,
        activation: activation.buffers(bi),
      });
    });
  });
}
