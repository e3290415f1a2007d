/**
 * A training step's scratch buffers on the GPU, sized for a micro-batch and reused across steps.
 *
 * @module
 */

import type { Gpu } from "../gpu/device.ts";
import { emptyBuffer } from "../gpu/tensor.ts";
import type { StepBuffers } from "./training_architecture.ts";

/** A micro-batch's scratch buffers, for up to `rows` rows. */
export interface Scratch extends StepBuffers {
  rows: number;
  /** ∂loss/∂x̂ of each matryoshka level (one: the reconstruction's). */
  levelGrads: GPUBuffer[];
  /** ∂loss/∂x̂ summed over the levels from the widest down. */
  dRecon: GPUBuffer;
}

/**
 * Allocates the buffers of a micro-batch of up to `rows` rows.
 *
 * @example
 * ```ts ignore
 * const scratch = allocateScratch(gpu, cfg, 4096, [cfg.d_sae], { magnitude: false, lpFactors: false });
 * ```
 *
 * @param gpu The device.
 * @param sizes The SAE's d_in and d_sae.
 * @param rows Rows per micro-batch.
 * @param widths Matryoshka levels (one: d_sae).
 * @param needs Whether the architecture has a magnitude path (gated), and whether its sparsity term takes per-element
 *   factors (standard with lp_norm ≠ 1).
 * @returns The buffers.
 */
export function allocateScratch(
  gpu: Gpu,
  sizes: { d_in: number; d_sae: number },
  rows: number,
  widths: number[],
  needs: { magnitude: boolean; lpFactors: boolean },
): Scratch {
  const { d_in: dIn, d_sae: dSae } = sizes;
  const wide = (label: string) => emptyBuffer(gpu, rows * dSae * 4, label);
  const narrow = (label: string) => emptyBuffer(gpu, rows * dIn * 4, label);
  return {
    rows,
    x: narrow("x"),
    xin: narrow("sae_in"),
    pre: wide("hidden_pre"),
    preMag: needs.magnitude ? wide("pi_mag") : undefined,
    acts: wide("feature_acts"),
    dActs: wide("d feature_acts"),
    auxActs: wide("auxiliary acts"),
    dAuxActs: wide("d auxiliary acts"),
    dPre: wide("d hidden_pre"),
    dPreSecond: wide("d second pre-activation"),
    recon: narrow("sae_out"),
    levelGrads: widths.map((w) => narrow(`d sae_out ${w}`)),
    dRecon: narrow("d sae_out summed"),
    auxOut: narrow("auxiliary out"),
    dAuxOut: narrow("d auxiliary out"),
    thresholds: emptyBuffer(gpu, rows * 4, "thresholds"),
    dWMag: needs.magnitude ? emptyBuffer(gpu, dIn * dSae * 4, "d W_mag") : undefined,
    lpFactors: needs.lpFactors ? wide("lp_norm factors") : undefined,
  };
}

/**
 * Frees every buffer of a scratch set.
 *
 * @example
 * ```ts ignore
 * destroyScratch(scratch);
 * ```
 *
 * @param scratch The buffers.
 */
export function destroyScratch(scratch: Scratch): void {
  for (const b of Object.values(scratch)) {
    if (b instanceof GPUBuffer) b.destroy();
    else if (Array.isArray(b)) b.forEach((x) => x.destroy());
  }
}
