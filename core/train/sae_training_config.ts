/**
 * What one SAE trains as: its architecture, sizes and loss coefficients, in SAELens's names.
 *
 * @module
 */

/** Architectures the trainer knows (SAELens training names). */
export const TRAIN_ARCHITECTURES = [
  "standard",
  "topk",
  "batchtopk",
  "jumprelu",
  "gated",
  "matryoshka_batchtopk",
] as const;

/** One of {@linkcode TRAIN_ARCHITECTURES}. */
export type TrainArchitecture = typeof TRAIN_ARCHITECTURES[number];

/** One SAE's training settings (SAELens `TrainingSAEConfig` and runner names). */
export interface SaeTrainingConfig {
  /** Architecture. */
  architecture: TrainArchitecture;
  /** Input width. */
  d_in: number;
  /** Number of latents. */
  d_sae: number;
  /** Kept latents per token (topk) or on average per token (batchtopk, matryoshka). @default {100} */
  k: number;
  /** Subtract b_dec from the input before encoding. @default {true} */
  apply_b_dec_to_input: boolean;
  /** λ of the sparsity term: L1 for standard and gated, L0 for jumprelu. @default {1} */
  l1_coefficient: number;
  /** JumpReLU straight-through bandwidth ε. @default {0.05} */
  jumprelu_bandwidth: number;
  /** JumpReLU initial threshold. @default {0.01} */
  jumprelu_init_threshold: number;
  /** AuxK coefficient (topk family). @default {1} */
  aux_loss_coefficient: number;
  /** BatchTopK threshold moving-average rate. @default {0.01} */
  topk_threshold_lr: number;
  /** Matryoshka prefix widths, increasing; d_sae is added when missing. @default {[]} */
  matryoshka_widths: number[];
  /** Initial decoder row norm. @default {0.1} */
  decoder_init_norm: number;
  /** Ghost grads for dead latents (standard). @default {false} */
  use_ghost_grads: boolean;
  /** Steps without firing after which a latent counts as dead (ghost grads, AuxK). @default {1000} */
  dead_feature_window: number;
  /** Adam β1. @default {0.9} */
  adam_beta1: number;
  /** Adam β2. @default {0.999} */
  adam_beta2: number;
}

/** Defaults of the fields a caller may leave out. */
export const SAE_TRAINING_DEFAULTS: Omit<SaeTrainingConfig, "architecture" | "d_in" | "d_sae"> = {
  k: 100,
  apply_b_dec_to_input: true,
  l1_coefficient: 1,
  jumprelu_bandwidth: 0.05,
  jumprelu_init_threshold: 0.01,
  aux_loss_coefficient: 1,
  topk_threshold_lr: 0.01,
  matryoshka_widths: [],
  decoder_init_norm: 0.1,
  use_ghost_grads: false,
  dead_feature_window: 1000,
  adam_beta1: 0.9,
  adam_beta2: 0.999,
};

/** Whether the architecture selects latents by rank (and so keeps unit-norm decoder rows and AuxK). */
export function selectsByRank(architecture: TrainArchitecture): boolean {
  return architecture === "topk" || architecture === "batchtopk" || architecture === "matryoshka_batchtopk";
}

/**
 * The matryoshka level widths, ending at d_sae (SAELens appends it when missing); `[d_sae]` otherwise.
 *
 * @example
 * ```ts
 * import { levelWidths } from "./sae_training_config.ts";
 * console.log(levelWidths({ architecture: "matryoshka_batchtopk", d_sae: 64, matryoshka_widths: [8, 32] })); // [8, 32, 64]
 * ```
 *
 * @param cfg The SAE's settings.
 * @returns Increasing widths, the last equal to d_sae.
 * @throws {RangeError} When the widths are not increasing or exceed d_sae.
 */
export function levelWidths(
  cfg: Pick<SaeTrainingConfig, "architecture" | "d_sae" | "matryoshka_widths">,
): number[] {
  if (cfg.architecture !== "matryoshka_batchtopk") return [cfg.d_sae];
  const widths = [...cfg.matryoshka_widths];
  if (widths.at(-1) !== cfg.d_sae) widths.push(cfg.d_sae);
  widths.forEach((w, i) => {
    if (!Number.isInteger(w) || w < 1 || w > cfg.d_sae || (i > 0 && w <= widths[i - 1])) {
      throw new RangeError(
        `matryoshka_widths must be increasing positive integers no larger than d_sae ${cfg.d_sae}: current value is [${cfg.matryoshka_widths}]`,
      );
    }
  });
  return widths;
}
