/**
 * What one SAE trains as: its architecture, sizes and loss coefficients, in SAELens's names.
 *
 * @module
 */

import { BATCHTOPK_SETTINGS } from "./batchtopk_training.ts";
import { JUMPRELU_SETTINGS } from "./jumprelu_training.ts";
import { MATRYOSHKA_SETTINGS } from "./matryoshka_batchtopk_training.ts";
import { type TrainArchitecture, TRAINING_ARCHITECTURES, trainingArchitecture } from "./training_architectures.ts";
import { STANDARD_SETTINGS } from "./standard_training.ts";
import { TOPK_SETTINGS } from "./topk_training.ts";
import { defaultsOf, positiveInteger, positiveNumber, type Setting, setting } from "./setting.ts";

/** Architectures the trainer knows (SAELens training names), one file each, `<name>_training.ts`. */
export const TRAIN_ARCHITECTURES: readonly TrainArchitecture[] = Object.keys(
  TRAINING_ARCHITECTURES,
) as TrainArchitecture[];

export type { TrainArchitecture };

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
  /** SAELens before 6: decoder rows start at decoder_init_norm (else torch's kaiming-uniform rows). */
  decoder_heuristic_init: boolean;
  /** SAELens before 6: W_enc starts as W_dec transposed (else kaiming-uniform). */
  init_encoder_as_decoder_transpose: boolean;
  /** SAELens before 6: decoder rows held at unit norm (gradient along them removed, renormalised after each step). */
  normalize_sae_decoder: boolean;
  /** SAELens before 6: the sparsity term weights each latent by its decoder row's norm. */
  scale_sparsity_penalty_by_decoder_norm: boolean;
  /** p of the standard SAE's sparsity term, a per-token p-norm of the weighted features (SAELens's `lp_norm`). */
  lp_norm: number;
}

/** A table of settings for the fields of `T`. */
export type SettingsOf<T> = { [K in keyof T]: Setting<T[K]> };

/** One SAE's settings besides its architecture and sizes: the common ones, then each architecture's own. */
export const SAE_TRAINING_SETTINGS: SettingsOf<SaeTrainingValues> = {
  apply_b_dec_to_input: setting(true, "subtract b_dec from the input"),
  l1_coefficient: setting(
    1,
    "sparsity coefficient (L1; L0 for jumprelu)",
    (v: number) => v >= 0 ? undefined : "a number >= 0",
  ),
  decoder_init_norm: setting(0.1, "initial decoder row norm", positiveNumber),
  dead_feature_window: setting(1000, "steps without firing after which a latent is dead", positiveInteger),
  adam_beta1: setting(0.9, "Adam beta1", unitInterval),
  adam_beta2: setting(0.999, "Adam beta2", unitInterval),
  decoder_heuristic_init: setting(
    true,
    "decoder rows start at decoder_init_norm in random directions (SAELens 6); false: kaiming-uniform rows",
  ),
  init_encoder_as_decoder_transpose: setting(
    true,
    "W_enc starts as W_dec transposed (SAELens 6); false: kaiming-uniform",
  ),
  normalize_sae_decoder: setting(
    false,
    "hold decoder rows at unit norm (SAELens before 6: the gradient along them removed, renormalised each step)",
  ),
  scale_sparsity_penalty_by_decoder_norm: setting(
    true,
    "sparsity term on f x |W_dec row| (SAELens 6); false: a plain L1 on f (standard)",
  ),
  ...STANDARD_SETTINGS,
  ...TOPK_SETTINGS,
  ...BATCHTOPK_SETTINGS,
  ...MATRYOSHKA_SETTINGS,
  ...JUMPRELU_SETTINGS,
};

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

/**
 * Whether the architecture is of the TopK family, which keeps unit-norm decoder rows (see its `decoder`) and adds
 * AuxK for dead latents.
 *
 * @example
 * ```ts
 * import { selectsByRank } from "./sae_training_config.ts";
 * console.log(selectsByRank("batchtopk"), selectsByRank("jumprelu")); // true false
 * ```
 *
 * @param architecture The architecture.
 * @returns Whether its decoder rows are held at unit norm.
 */
export function selectsByRank(architecture: TrainArchitecture): boolean {
  return trainingArchitecture(architecture).decoder === "unit_norm";
}

/**
 * Whether the SAE's decoder rows are held at unit norm: the TopK family's always, any other's with SAELens's older
 * `normalize_sae_decoder` (the gradient along each row removed, rows renormalised after each step).
 *
 * @example
 * ```ts
 * import { SAE_TRAINING_DEFAULTS, unitNormDecoder } from "./sae_training_config.ts";
 * console.log(unitNormDecoder({ ...SAE_TRAINING_DEFAULTS, architecture: "standard", normalize_sae_decoder: true })); // true
 * ```
 *
 * @param cfg The SAE's settings.
 * @returns Whether its decoder rows are unit vectors throughout training.
 */
export function unitNormDecoder(
  cfg: Pick<SaeTrainingConfig, "architecture" | "normalize_sae_decoder">,
): boolean {
  return selectsByRank(cfg.architecture) || cfg.normalize_sae_decoder;
}

/**
 * Whether the sparsity term weights each latent by its decoder row's norm: always, except with SAELens's older
 * `scale_sparsity_penalty_by_decoder_norm` false on free decoder rows (a plain L1 on f; unit-norm rows weigh 1 anyway).
 *
 * @example
 * ```ts
 * import { SAE_TRAINING_DEFAULTS, sparsityByDecoderNorm } from "./sae_training_config.ts";
 * console.log(sparsityByDecoderNorm({ ...SAE_TRAINING_DEFAULTS, architecture: "standard", scale_sparsity_penalty_by_decoder_norm: false })); // false
 * ```
 *
 * @param cfg The SAE's settings.
 * @returns Whether the term is on f · ‖W_dec,i‖ (else on f).
 */
export function sparsityByDecoderNorm(
  cfg: Pick<SaeTrainingConfig, "architecture" | "normalize_sae_decoder" | "scale_sparsity_penalty_by_decoder_norm">,
): boolean {
  return cfg.scale_sparsity_penalty_by_decoder_norm || unitNormDecoder(cfg);
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
  const { sparsity } = trainingArchitecture(architecture);
  return sparsity === "l1_decoder_norm" ? "l1" : sparsity === "l0" ? "l0" : undefined;
}

/**
 * The prefix widths whose reconstructions each add an MSE term: Matryoshka's levels, `[d_sae]` otherwise.
 *
 * @example
 * ```ts
 * import { levelWidths } from "./sae_training_config.ts";
 * console.log(levelWidths({ architecture: "matryoshka_batchtopk", d_sae: 64, matryoshka_widths: [8, 32] })); // [8, 32, 64]
 * ```
 *
 * @param cfg The SAE's settings.
 * @returns Increasing widths, the last equal to d_sae.
 * @throws {RangeError} When Matryoshka's widths are not increasing or exceed d_sae.
 */
export function levelWidths(
  cfg: Pick<SaeTrainingConfig, "architecture" | "d_sae" | "matryoshka_widths">,
): number[] {
  return trainingArchitecture(cfg.architecture).levels?.(cfg as SaeTrainingConfig) ?? [cfg.d_sae];
}
