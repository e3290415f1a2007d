/**
 * What one SAE trains as: its architecture, sizes and loss coefficients, in SAELens's names.
 *
 * @module
 */

import { defaultsOf, positiveInteger, positiveNumber, type Setting, setting } from "./setting.ts";

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

/** The per-SAE training values; each field's default, help and check are in {@linkcode SAE_TRAINING_SETTINGS}. */
export interface SaeTrainingValues {
  /** Kept latents per token (topk) or on average per token (batchtopk, matryoshka). */
  k: number;
  /** Subtract b_dec from the input before encoding. */
  apply_b_dec_to_input: boolean;
  /** λ of the sparsity term: L1 for standard and gated, L0 for jumprelu. */
  l1_coefficient: number;
  /** JumpReLU straight-through bandwidth ε. */
  jumprelu_bandwidth: number;
  /** JumpReLU initial threshold. */
  jumprelu_init_threshold: number;
  /** AuxK coefficient (topk family). */
  aux_loss_coefficient: number;
  /** BatchTopK threshold moving-average rate. */
  topk_threshold_lr: number;
  /** Matryoshka prefix widths, increasing; d_sae is added when missing. */
  matryoshka_widths: number[];
  /** Initial decoder row norm. */
  decoder_init_norm: number;
  /** Ghost grads for dead latents (standard). */
  use_ghost_grads: boolean;
  /** Steps without firing after which a latent counts as dead (ghost grads, AuxK). */
  dead_feature_window: number;
  /** Adam β1. */
  adam_beta1: number;
  /** Adam β2. */
  adam_beta2: number;
}

/** A table of settings for the fields of `T`. */
export type SettingsOf<T> = { [K in keyof T]: Setting<T[K]> };

/** One SAE's settings besides its architecture and sizes: default, help line and check in one place. */
export const SAE_TRAINING_SETTINGS: SettingsOf<SaeTrainingValues> = {
  k: setting(100, "latents kept per token (topk) or on average (batchtopk, matryoshka)", positiveInteger),
  apply_b_dec_to_input: setting(true, "subtract b_dec from the input"),
  l1_coefficient: setting(1, "sparsity coefficient (L1; L0 for jumprelu)", nonNegative),
  jumprelu_bandwidth: setting(0.05, "JumpReLU straight-through bandwidth", positiveNumber),
  jumprelu_init_threshold: setting(0.01, "JumpReLU initial threshold", positiveNumber),
  aux_loss_coefficient: setting(1, "AuxK coefficient (topk family)", nonNegative),
  topk_threshold_lr: setting(
    0.01,
    "BatchTopK threshold moving-average rate",
    (v: number) => v > 0 && v <= 1 ? undefined : "a number in (0, 1]",
  ),
  matryoshka_widths: setting([] as number[], "matryoshka prefix widths, comma-separated"),
  decoder_init_norm: setting(0.1, "initial decoder row norm", positiveNumber),
  use_ghost_grads: setting(false, "ghost grads on dead latents (standard)"),
  dead_feature_window: setting(1000, "steps without firing after which a latent is dead", positiveInteger),
  adam_beta1: setting(0.9, "Adam beta1", unitInterval),
  adam_beta2: setting(0.999, "Adam beta2", unitInterval),
};

function nonNegative(v: number): string | undefined {
  return v >= 0 ? undefined : "a number >= 0";
}

function unitInterval(v: number): string | undefined {
  return v >= 0 && v < 1 ? undefined : "a number in [0, 1)";
}

/** One SAE's training settings (SAELens `TrainingSAEConfig` and runner names); see {@linkcode SAE_TRAINING_SETTINGS}. */
export type SaeTrainingConfig =
  & {
    /** Architecture. */
    architecture: TrainArchitecture;
    /** Input width. */
    d_in: number;
    /** Number of latents. */
    d_sae: number;
  }
  & SaeTrainingValues;

/** Defaults of the fields a caller may leave out. */
export const SAE_TRAINING_DEFAULTS: SaeTrainingValues = defaultsOf(SAE_TRAINING_SETTINGS);

/** Whether the architecture selects latents by rank (and so keeps unit-norm decoder rows and AuxK). */
export function selectsByRank(architecture: TrainArchitecture): boolean {
  return architecture === "topk" || architecture === "batchtopk" || architecture === "matryoshka_batchtopk";
}

/**
 * The sparsity coefficient the architecture's loss uses, as SAELens 6 names it in its logs
 * (`details/l1_coefficient`, `details/l0_coefficient`); the TopK family has none.
 *
 * @example
 * ```ts
 * import { sparsityCoefficientName } from "./sae_training_config.ts";
 * console.log(sparsityCoefficientName("jumprelu"), sparsityCoefficientName("topk")); // l0 undefined
 * ```
 *
 * @param architecture The architecture.
 * @returns "l1", "l0", or undefined.
 */
export function sparsityCoefficientName(architecture: TrainArchitecture): "l1" | "l0" | undefined {
  if (architecture === "standard" || architecture === "gated") return "l1";
  return architecture === "jumprelu" ? "l0" : undefined;
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
