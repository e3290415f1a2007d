/**
 * The strongest features of each token, selected on the GPU.
 *
 * @module
 */

import type { Gpu } from "../gpu/device.ts";
import { type GpuTensor, readBuffers } from "../gpu/tensor.ts";
import { topkSparse } from "../ops/topk.ts";

/** One active feature of a token. */
export interface FeatureActivation {
  /** Feature (latent) index. */
  index: number;
  /** Its activation. */
  activation: number;
}

/**
 * The `k` largest positive activations of each row, strongest first (ties: lower index first).
 * Rows with fewer than `k` active features list only those.
 *
 * @example Top 5 per token
 * ```ts ignore
 * const top = await topFeatures(sae.gpu, sae.encode(acts), 5);
 * console.log(top[0][0]); // { index: 584, activation: 8.67... }
 * ```
 *
 * @param gpu The device the features are on.
 * @param features Feature activations [..., d_sae].
 * @param k How many per row; more than d_sae lists every active feature.
 * @returns Per row, the features in descending activation.
 * @throws {RangeError} When k is less than 1.
 */
export async function topFeatures(gpu: Gpu, features: GpuTensor, k: number): Promise<FeatureActivation[][]> {
  const kk = Math.min(k, features.cols);
  const encoder = gpu.device.createCommandEncoder({ label: "top features" });
  const chunks = topkSparse(gpu, encoder, features, kk);
  gpu.device.queue.submit([encoder.finish()]);
  const raw = await readBuffers(
    gpu,
    chunks.flatMap((
      c,
    ) => [{ buffer: c.values, bytes: c.rows * kk * 4 }, { buffer: c.indices, bytes: c.rows * kk * 4 }]),
  );
  const rows: FeatureActivation[][] = [];
  chunks.forEach((c, i) => {
    const values = new Float32Array(raw[2 * i]);
    const indices = new Uint32Array(raw[2 * i + 1]);
    for (let r = 0; r < c.rows; r++) {
      const row: FeatureActivation[] = [];
      for (let j = 0; j < kk; j++) {
        const activation = values[r * kk + j];
        if (activation > 0) row.push({ index: indices[r * kk + j], activation });
      }
      row.sort((a, b) => b.activation - a.activation || a.index - b.index);
      rows.push(row);
    }
    c.values.destroy();
    c.indices.destroy();
  });
  return rows;
}
