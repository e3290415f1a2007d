/**
 * Splicing an SAE into a model with the error term.
 *
 * @module
 */

import type { Gpu } from "../gpu/device.ts";
import { dispatch, type WgslSource } from "../gpu/pipelines.ts";
import { GpuTensor } from "../gpu/tensor.ts";
import { ELEMENTWISE_WG, elementwiseGroups } from "./elementwise.ts";
import spliceWgsl from "../../shaders/splice_error.wgsl" with { type: "text" };

const SPLICE: WgslSource = { name: "splice_error", code: spliceWgsl };

/** `splice_error.wgsl` over `count` values: `out = recon + (x - reconClean)`. */
function recordSplice(
  gpu: Gpu,
  encoder: GPUCommandEncoder,
  u: { count: number },
  b: { x: GPUBuffer; reconClean: GPUBuffer; recon: GPUBuffer; out: GPUBuffer },
): void {
  const spec = { sources: [SPLICE], overrides: { WG: ELEMENTWISE_WG } };
  dispatch(
    gpu,
    encoder,
    spec,
    new Uint32Array([u.count]),
    [b.x, b.reconClean, b.recon, b.out],
    elementwiseGroups(u.count),
  );
}

/**
 * Records `out = recon + (x - reconClean)` (all chunked alike) into a new tensor.
 *
 * @example Add the error term
 * ```ts ignore
 * const out = spliceError(gpu, encoder, x, reconClean, reconEdited);
 * ```
 *
 * @throws {TypeError} When the shapes differ.
 */
export function spliceError(
  gpu: Gpu,
  encoder: GPUCommandEncoder,
  x: GpuTensor,
  reconClean: GpuTensor,
  recon: GpuTensor,
): GpuTensor {
  if (x.rows !== recon.rows || x.cols !== recon.cols || reconClean.rows !== x.rows || reconClean.cols !== x.cols) {
    throw new TypeError(
      `Cannot splice as x [${x.shape.join(", ")}], the clean reconstruction [${
        reconClean.shape.join(", ")
      }] and the reconstruction [${recon.shape.join(", ")}] must agree`,
    );
  }
  const out = GpuTensor.empty(gpu, x.shape, x.rowsPerChunk, "spliced");
  x.chunks.forEach((chunk, i) => {
    recordSplice(gpu, encoder, { count: chunk.rows * x.cols }, {
      x: chunk.buffer,
      reconClean: reconClean.chunks[i].buffer,
      recon: recon.chunks[i].buffer,
      out: out.chunks[i].buffer,
    });
  });
  return out;
}
