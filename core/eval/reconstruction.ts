/**
 * Reconstruction quality of an SAE on a set of activations (SAE_FACTS formulas), accumulated over as
 * many batches as needed: explained variance uses the variance of all rows seen, not a per-batch one.
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

/** Means over the rows added to a {@linkcode ReconstructionSums}. */
export interface ReconstructionMeans {
  /** Rows counted. */
  rows: number;
  /** Mean count of f > 0. */
  l0: number;
  /** Mean Σ f. */
  l1: number;
  /** Mean squared error per element. */
  mse: number;
  /** Mean cosine similarity of x and x̂. */
  cossim: number;
  /** Mean ‖x̂‖ / ‖x‖ (‖x‖ < 1e-4 counts as 1, as SAELens does). */
  l2Ratio: number;
  /** 1 − E‖x − x̂‖² / Σ_d Var(x_d). */
  explainedVariance: number;
  /** Per feature, the fraction of rows where it fired (f > 0). */
  density: Float64Array;
}

/**
 * Running sums for reconstruction statistics; rows can be left out (BOS positions).
 *
 * @example
 * ```ts
 * import { ReconstructionSums } from "./reconstruction.ts";
 * const sums = new ReconstructionSums(2, 2);
 * sums.add(new Float32Array([1, 2, 3, 5]), new Float32Array([1, 2, 3, 5]), new Float32Array([0, 1, 2, 0]));
 * console.log(sums.means().explainedVariance, sums.means().l0); // 1 1
 * ```
 */
export class ReconstructionSums {
  /** Input width. */
  readonly dIn: number;
  /** Number of features. */
  readonly dSae: number;
  #rows = 0;
  #l0 = 0;
  #l1 = 0;
  #squaredError = 0;
  #cossim = 0;
  #l2Ratio = 0;
  #sum: Float64Array;
  #sumSquares: Float64Array;
  #fired: Float64Array;

  /**
   * Empty sums.
   *
   * @param dIn Input width.
   * @param dSae Number of features.
   */
  constructor(dIn: number, dSae: number) {
    this.dIn = dIn;
    this.dSae = dSae;
    this.#sum = new Float64Array(dIn);
    this.#sumSquares = new Float64Array(dIn);
    this.#fired = new Float64Array(dSae);
  }

  /**
   * Adds rows of inputs, reconstructions and features.
   *
   * @param x Inputs [rows, d_in].
   * @param recon Reconstructions [rows, d_in].
   * @param features Feature activations [rows, d_sae].
   * @param keep Which rows count; all when left out.
   * @returns Active features per row (all rows, kept or not).
   */
  add(x: Float32Array, recon: Float32Array, features: Float32Array, keep?: (row: number) => boolean): number[] {
    const { dIn, dSae } = this;
    const rows = x.length / dIn;
    const l0: number[] = [];
    for (let r = 0; r < rows; r++) {
      let active = 0, l1 = 0;
      for (let i = r * dSae; i < (r + 1) * dSae; i++) {
        const f = features[i];
        if (f > 0) active++;
        l1 += f;
      }
      l0.push(active);
      if (keep && !keep(r)) continue;
      for (let i = r * dSae; i < (r + 1) * dSae; i++) if (features[i] > 0) this.#fired[i - r * dSae]++;
      let error = 0, xx = 0, rr = 0, xr = 0;
      for (let d = 0; d < dIn; d++) {
        const a = x[r * dIn + d], b = recon[r * dIn + d];
        error += (a - b) ** 2;
        xx += a * a;
        rr += b * b;
        xr += a * b;
        this.#sum[d] += a;
        this.#sumSquares[d] += a * a;
      }
      const normX = Math.sqrt(xx), normR = Math.sqrt(rr);
      this.#rows++;
      this.#l0 += active;
      this.#l1 += l1;
      this.#squaredError += error;
      this.#cossim += xr / (normX * normR);
      this.#l2Ratio += normR / (Math.abs(normX) < 1e-4 ? 1 : normX);
    }
    return l0;
  }

  /**
   * The means over the rows kept so far.
   *
   * @returns The statistics (NaN where no row was kept).
   */
  means(): ReconstructionMeans {
    const n = this.#rows;
    let variance = 0;
    for (let d = 0; d < this.dIn; d++) variance += this.#sumSquares[d] - this.#sum[d] ** 2 / n;
    return {
      rows: n,
      l0: this.#l0 / n,
      l1: this.#l1 / n,
      mse: this.#squaredError / (n * this.dIn),
      cossim: this.#cossim / n,
      l2Ratio: this.#l2Ratio / n,
      explainedVariance: variance > 0 ? 1 - this.#squaredError / variance : Number.NaN,
      density: this.#fired.map((c) => c / n),
    };
  }
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
  const sums = new ReconstructionSums(dIn, dSae);
  const l0 = sums.add(x, recon, features);
  const { mse, explainedVariance } = sums.means();
  return { l0, meanL0: l0.reduce((a, b) => a + b, 0) / Math.max(l0.length, 1), mse, explainedVariance };
}
