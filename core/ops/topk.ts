/**
 * Top-k selection per row on the GPU (TopK SAE activation, and "top features" readouts).
 *
 * @module
 */

import type { Gpu } from "../gpu/device.ts";
import { dispatch, MAX_WORKGROUPS_PER_DIM, type WgslSource } from "../gpu/pipelines.ts";
import { emptyBuffer, type GpuTensor } from "../gpu/tensor.ts";
import topkWgsl from "../../shaders/topk.wgsl" with { type: "text" };

const TOPK: WgslSource = { name: "topk", code: topkWgsl };
const WORKGROUP = 256;

/**
 * `topk.wgsl`'s `dense` entry (writes `denseOut`) or `sparse` entry (writes `topValues`, `topIndices`) over `rows`
 * rows of `n` from `rowStart`, keeping `k` per row.
 */
function recordTopK(
  gpu: Gpu,
  encoder: GPUCommandEncoder,
  entry: "dense" | "sparse",
  u: { n: number; k: number; rowStart: number; rows: number },
  b: { h: GPUBuffer; denseOut?: GPUBuffer; topValues?: GPUBuffer; topIndices?: GPUBuffer },
): void {
  const spec = { sources: [TOPK], entryPoint: entry, overrides: { WG: WORKGROUP } };
  const params = new Uint32Array([u.n, u.k, u.rowStart]);
  dispatch(gpu, encoder, spec, params, [b.h, b.denseOut, b.topValues, b.topIndices], [u.rows, 1]);
}

/** The k kept entries of each row of one row chunk, in ascending index order. */
export interface TopKChunk {
  /** ReLU of the kept values, [rows, k]. */
  values: GPUBuffer;
  /** Their column indices (u32), [rows, k]. */
  indices: GPUBuffer;
  /** Rows in this chunk. */
  rows: number;
}

function checkK(k: number, n: number): void {
  if (!Number.isInteger(k) || k < 1 || k > n) {
    throw new RangeError(`Cannot select top k as k must be an integer in 1..${n}: current value is ${k}`);
  }
}

function forRows(rows: number, record: (rowStart: number, count: number) => void): void {
  for (let r = 0; r < rows; r += MAX_WORKGROUPS_PER_DIM) record(r, Math.min(MAX_WORKGROUPS_PER_DIM, rows - r));
}

/**
 * Records `out = ReLU(topk(h))` per row, zero outside the kept entries.
 *
 * @example TopK activation
 * ```ts ignore
 * topkDense(gpu, encoder, preActs, features, 32);
 * ```
 *
 * @param gpu The device.
 * @param encoder Collects the commands.
 * @param h Pre-activations [rows, n].
 * @param out Result [rows, n], chunked like `h`.
 * @param k Entries kept per row.
 * @throws {RangeError} When k is not in 1..n.
 */
export function topkDense(gpu: Gpu, encoder: GPUCommandEncoder, h: GpuTensor, out: GpuTensor, k: number): void {
  checkK(k, h.cols);
  h.chunks.forEach((chunk, i) => {
    forRows(chunk.rows, (rowStart, rows) => {
      recordTopK(gpu, encoder, "dense", { n: h.cols, k, rowStart, rows }, {
        h: chunk.buffer,
        denseOut: out.chunks[i].buffer,
      });
    });
  });
}

/**
 * Records the k largest entries of each row as (ReLU value, index) pairs.
 *
 * @example Top 5 features per token
 * ```ts ignore
 * const chunks = topkSparse(gpu, encoder, features, 5);
 * ```
 *
 * @param gpu The device.
 * @param encoder Collects the commands.
 * @param h Values [rows, n].
 * @param k Entries kept per row.
 * @returns One pair of buffers per row chunk of `h`.
 * @throws {RangeError} When k is not in 1..n.
 */
export function topkSparse(gpu: Gpu, encoder: GPUCommandEncoder, h: GpuTensor, k: number): TopKChunk[] {
  checkK(k, h.cols);
  return h.chunks.map((chunk) => {
    const values = emptyBuffer(gpu, chunk.rows * k * 4, "topk values");
    const indices = emptyBuffer(gpu, chunk.rows * k * 4, "topk indices");
    forRows(chunk.rows, (rowStart, rows) => {
      recordTopK(gpu, encoder, "sparse", { n: h.cols, k, rowStart, rows }, {
        h: chunk.buffer,
        topValues: values,
        topIndices: indices,
      });
    });
    return { values, indices, rows: chunk.rows };
  });
}
