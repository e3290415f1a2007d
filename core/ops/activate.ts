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
  const spec = { sources: [ACTIVATE, activation.source], overrides: { WG: ELEMENTWISE_WG } };
  pre.chunks.forEach((chunk, ci) => {
    blocks.forEach((block, bi) => {
      const params = new Uint32Array([chunk.rows, block.cols, pre.cols, block.col0]);
      dispatch(gpu, encoder, spec, params, [
        chunk.buffer,
        out.chunks[ci].buffer,
        aux?.chunks[ci].buffer,
        ...activation.buffers(bi),
      ], elementwiseGroups(chunk.rows * block.cols));
    });
  });
}
