/**
 * What one training step measured, assembled from what the GPU wrote: each loss term under SAELens's
 * name, L0, explained variance, the gradient norm, and the non-finite stop.
 *
 * @module
 */

import type { AuxiliaryTerm, TrainingArchitecture } from "./training_architecture.ts";

/** Coefficients of one step, from the schedules. */
export interface StepCoefficients {
  /** Learning rate. */
  lr: number;
  /** Current sparsity coefficient (λ after warm-up). */
  l1Coefficient: number;
}

/** What one step measured, in SAELens's metric names where one exists. */
export interface StepResult {
  /** Total loss that was minimised. */
  loss: number;
  /** Loss terms: mse_loss, l1_loss / l0_loss, auxiliary_reconstruction_loss, ghost_grad_loss, inner_mse_loss_W. */
  losses: Record<string, number>;
  /** Mean latents firing per token. */
  l0: number;
  /** 1 − Σ‖x − x̂‖² / Σ_d Σ_b (x_bd − mean_d)² over the batch. */
  explainedVariance: number;
  /** Gradient norm before clipping. */
  gradNorm: number;
  /** Tokens of the batch on which each latent fired. */
  fired: Float32Array;
  /** Latents counted dead (for AuxK and ghost grads) in this step. */
  deadCount: number;
  /** Each token's squared reconstruction error ‖x̂ − x‖². */
  rowLoss: Float32Array;
}

/** Raised when a step produced a NaN or an infinity. */
export class NonFiniteError extends RangeError {
  /**
   * Creates the error.
   *
   * @param message What was not finite.
   */
  constructor(message: string) {
    super(message);
    this.name = "NonFiniteError";
  }
}

/** What the GPU wrote during a step, and what the step was. */
export interface StepReadback {
  /** The architecture. */
  arch: TrainingArchitecture;
  /** The batch, rows × d_in. */
  x: Float32Array;
  /** Input width. */
  dIn: number;
  /** The step's number (from 1). */
  step: number;
  /** Per-row loss sums, `slots` per row: 0 reconstruction, 1 auxiliary term, 2… Matryoshka inner levels. */
  rowStats: Float32Array;
  /** Slots per row of `rowStats`. */
  slots: number;
  /** Tokens each latent fired on. */
  fired: Float32Array;
  /** Per-latent sums the sparsity term weights. */
  actSums: Float32Array;
  /** Decoder row norms at the start of the step. */
  norms: Float32Array;
  /** Each tensor's sum of squared gradients. */
  sumSquares: Float32Array;
  /** λ / batch. */
  lambdaPerRow: number;
  /** The auxiliary term, if the step had one. */
  term: AuxiliaryTerm | undefined;
  /** Matryoshka levels (one: d_sae). */
  widths: number[];
  /** Latents dead at the start of the step. */
  deadCount: number;
}

/**
 * The step's losses and statistics.
 *
 * @example
 * ```ts ignore
 * const result = stepResult({ arch, x, dIn, step: 1, rowStats, slots: 2, fired, actSums, norms, sumSquares, lambdaPerRow, term, widths: [dSae], deadCount: 0 });
 * ```
 *
 * @param r What the GPU wrote.
 * @returns The step result.
 * @throws {NonFiniteError} When the loss or the gradient norm is NaN or infinite.
 */
export function stepResult(r: StepReadback): StepResult {
  const batch = r.x.length / r.dIn, dSae = r.fired.length;
  const slotSum = (slot: number) => {
    let total = 0;
    for (let row = 0; row < batch; row++) total += r.rowStats[row * r.slots + slot];
    return total;
  };
  const losses: Record<string, number> = { mse_loss: slotSum(0) / batch };
  let firedTotal = 0;
  for (let j = 0; j < dSae; j++) firedTotal += r.fired[j];
  if (r.arch.sparsity === "l1_decoder_norm") {
    // λ/batch · Σ_b Σ_j f_bj ‖W_dec,j‖; with lp_norm p ≠ 1 the sums carry each f's factor (w / ‖w‖_p)^(p−1), and
    // Σ_j w_j · (w_j / ‖w‖_p)^(p−1) = ‖w‖_p: the same dot gives λ/batch · Σ_b ‖w_b‖_p
    let weighted = 0;
    for (let j = 0; j < dSae; j++) weighted += r.actSums[j] * r.norms[j];
    losses.l1_loss = r.lambdaPerRow * weighted;
  }
  if (r.arch.sparsity === "l0") losses.l0_loss = r.lambdaPerRow * firedTotal;
  if (r.term) losses[r.term.name] = r.term.loss(slotSum(1), batch);
  r.widths.slice(0, -1).forEach((w, l) => losses[`inner_mse_loss_${w}`] = slotSum(2 + l) / batch);
  const loss = Object.values(losses).reduce((a, b) => a + b, 0);
  const gradNorm = Math.sqrt(r.sumSquares.reduce((a, b) => a + b, 0));
  if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
    throw new NonFiniteError(
      `Training step ${r.step} gave a non-finite ${Number.isFinite(loss) ? "gradient norm" : "loss"} (${
        Number.isFinite(loss) ? gradNorm : loss
      }): the weights after it are not kept`,
    );
  }
  return {
    loss,
    losses,
    l0: firedTotal / batch,
    explainedVariance: 1 - slotSum(0) / totalVariance(r.x, r.dIn),
    gradNorm,
    fired: r.fired,
    deadCount: r.deadCount,
    rowLoss: Float32Array.from({ length: batch }, (_, row) => r.rowStats[row * r.slots]),
  };
}

/** Σ_d Σ_b (x_bd − mean_d)², in float64. */
function totalVariance(x: Float32Array, dIn: number): number {
  const rows = x.length / dIn;
  const mean = new Float64Array(dIn);
  for (let i = 0; i < x.length; i++) mean[i % dIn] += x[i];
  for (let d = 0; d < dIn; d++) mean[d] /= rows;
  let total = 0;
  for (let i = 0; i < x.length; i++) total += (x[i] - mean[i % dIn]) ** 2;
  return total;
}
