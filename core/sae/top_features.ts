/**
 * The strongest features of each token, selected where the features are: on the GPU for a WebGPU
 * SAE's, in host memory for a cpu SAE's.
 *
 * @module
 */

import type { Gpu } from "../gpu/device.ts";
import { submit } from "../gpu/pipelines.ts";
import { GpuTensor, readBuffers } from "../gpu/tensor.ts";
import { topkSparse } from "../ops/topk.ts";
import type { Tensor } from "../util/tensor.ts";

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
 * const top = await topFeatures(sae.encode(acts), 5);
 * console.log(top[0][0]); // { index: 584, activation: 8.67... }
 * ```
 *
 * @param features Feature activations [..., d_sae], as an SAE op returned them.
 * @param k How many per row; more than d_sae lists every active feature.
 * @returns Per row, the features in descending activation.
 * @throws {RangeError} When k is less than 1.
 */
export async function topFeatures(features: Tensor, k: number): Promise<FeatureActivation[][]> {
  if (k < 1) throw new RangeError(`Cannot select the top features as k must be >= 1: current value is ${k}`);
  const kk = Math.min(k, features.cols);
  if (features instanceof GpuTensor) return await topFeaturesOnGpu(features.gpu, features, kk);
  const values = await features.read();
  const rows: FeatureActivation[][] = [];
  for (let r = 0; r < features.rows; r++) {
    const row = values.subarray(r * features.cols, (r + 1) * features.cols);
    const top: FeatureActivation[] = [];
    for (let index = 0; index < row.length; index++) {
      const activation = row[index];
      // Scanning in index order, a tie never displaces the lower index already kept.
      if (activation <= 0 || (top.length === kk && activation <= top[kk - 1].activation)) continue;
      let at = top.length;
      while (at > 0 && top[at - 1].activation < activation) at--;
      top.splice(at, 0, { index, activation });
      if (top.length > kk) top.pop();
    }
    rows.push(top);
  }
  return rows;
}

async function topFeaturesOnGpu(gpu: Gpu, features: GpuTensor, kk: number): Promise<FeatureActivation[][]> {
  const encoder = gpu.device.createCommandEncoder({ label: "top features" });
  const chunks = topkSparse(gpu, encoder, features, kk);
  submit(gpu, encoder);
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
