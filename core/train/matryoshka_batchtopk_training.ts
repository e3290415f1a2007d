/**
 * Matryoshka BatchTopK SAE training: BatchTopK with an MSE term for each prefix of the latents
 * (`matryoshka_widths`, d_sae appended as SAELens does), saved as BatchTopK is.
 *
 * @module
 */

import { setting } from "./setting.ts";
import type { SaeTrainingConfig, SaeTrainingValues, SettingsOf } from "./sae_training_config.ts";
import { BATCHTOPK } from "./batchtopk_training.ts";
import type { TrainingArchitecture } from "./training_architecture.ts";

/**
 * The matryoshka level widths, ending at d_sae (SAELens appends it when missing).
 *
 * @example
 * ```ts
 * import { matryoshkaWidths } from "./matryoshka_batchtopk_training.ts";
 * console.log(matryoshkaWidths({ d_sae: 64, matryoshka_widths: [8, 32] })); // [8, 32, 64]
 * ```
 *
 * @param cfg The SAE's settings.
 * @returns Increasing widths, the last equal to d_sae.
 * @throws {RangeError} When the widths are not increasing or exceed d_sae.
 */
export function matryoshkaWidths(cfg: Pick<SaeTrainingConfig, "d_sae" | "matryoshka_widths">): number[] {
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

/** Matryoshka's own settings. */
export const MATRYOSHKA_SETTINGS: SettingsOf<Pick<SaeTrainingValues, "matryoshka_widths">> = {
  matryoshka_widths: setting([] as number[], "matryoshka prefix widths, comma-separated"),
};

/** Matryoshka BatchTopK SAE training. */
export const MATRYOSHKA_BATCHTOPK: TrainingArchitecture = {
  ...BATCHTOPK,
  name: "matryoshka_batchtopk",
  settings: MATRYOSHKA_SETTINGS,
  levels: matryoshkaWidths,
};
