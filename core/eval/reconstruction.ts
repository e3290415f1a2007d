/**
 * Reconstruction quality of an SAE on a set of activations (SAE_FACTS formulas).
 *
 * @module
 */

/** Per-token sparsity and overall reconstruction quality. */
export interface ReconstructionStats {
  /** Active features (f > 0) per token. */
  l0: number[];
  /** Mean of `l0`. */
  meanL0: number;
  /** Mean squared error per element. */
  mse: number;
  /** 1 − E‖x − x̂‖² / Σ_d Var(x_d). */
  explainedVariance: number;
}

/**
 * Computes L0 per token, MSE and explained variance over the given rows.
 *
 * @example Perfect reconstruction
 * ```ts
 * import { reconstructionStats } from "./reconstruction.ts";
 * const x = new Float32Array([1, 2, 3, 5]);
 * const s = reconstructionStats(x, x, new Float32Array([0, 1, 2, 0]), 2, 2);
 * console.log(s.l0, s.explainedVariance); // [1, 1] 1
 * ```
 *
 * @param x Inputs [rows, d_in].
 * @param recon Reconstructions [rows, d_in].
 * @param features Feature activations [rows, d_sae].
 * @param dIn Input width.
 * @param dSae Number of features.
 * @returns The statistics.
 */
export function reconstructionStats(
  x: Float32Array,
  recon: Float32Array,
  features: Float32Array,
  dIn: number,
  dSae: number,
): ReconstructionStats {
  const rows = x.length / dIn;
  const l0: number[] = [];
  for (let r = 0; r < rows; r++) {
    let n = 0;
    for (let i = r * dSae; i < (r + 1) * dSae; i++) if (features[i] > 0) n++;
    l0.push(n);
  }
  let squaredError = 0;
  const mean = new Float64Array(dIn);
  for (let i = 0; i < x.length; i++) {
    squaredError += (x[i] - recon[i]) ** 2;
    mean[i % dIn] += x[i] / rows;
  }
  let variance = 0;
  for (let i = 0; i < x.length; i++) variance += (x[i] - mean[i % dIn]) ** 2;
  return {
    l0,
    meanL0: l0.reduce((a, b) => a + b, 0) / Math.max(rows, 1),
    mse: squaredError / Math.max(x.length, 1),
    explainedVariance: variance > 0 ? 1 - squaredError / variance : Number.NaN,
  };
}
