/**
 * Turns a trained SAE into the SAELens v6 folder its users load: decoder norms folded into the
 * encoder, BatchTopK and Matryoshka saved as JumpReLU with their threshold, and the feature
 * densities as `sparsity.safetensors`.
 *
 * @module
 */

import { join } from "node:path";
import { writeFileAtomic } from "../io/atomic_write.ts";
import { writeSaeFolder } from "../sae/write_sae.ts";
import type { SaeWeights } from "../sae/architecture.ts";
import type { SaeConfig, SaeMetadata } from "../sae/config.ts";
import type { ParameterMap } from "./initial_parameters.ts";
import { trainingArchitecture } from "./training_architectures.ts";
import type { SaeTrainingConfig } from "./sae_training_config.ts";

/** SAELens's name for the run's settings saved beside each SAE. */
export const RUNNER_CFG_FILE = "runner_cfg.json";

/** What {@linkcode inferenceSae} needs besides the parameters. */
export interface TrainedSae {
  /** The SAE's training settings. */
  cfg: SaeTrainingConfig;
  /** Trained parameters by name. */
  params: ParameterMap;
  /** BatchTopK's running threshold. */
  batchThreshold: number;
  /** The input scale the SAE was trained with (`expected_average_only_in`), folded into the weights. */
  scalingFactor?: number;
  /** Training metadata for cfg.json. */
  metadata: SaeMetadata;
}

/**
 * The inference form of a trained SAE: its cfg.json and weights, with each decoder row scaled to
 * unit norm and the encoder (and biases, thresholds) scaled to match, so encode·decode is unchanged
 * (SAELens `fold_W_dec_norm`).
 *
 * @example
 * ```ts
 * import { inferenceSae } from "./save_trained_sae.ts";
 * const params = new Map([["W_enc", new Float32Array([1, 1])], ["b_enc", new Float32Array([0.5])], ["W_dec", new Float32Array([0, 2])], ["b_dec", new Float32Array(2)]]);
 * const cfg = { architecture: "standard", d_in: 2, d_sae: 1, k: 1, apply_b_dec_to_input: true } as const;
 * const { weights } = inferenceSae({ cfg: cfg as never, params, batchThreshold: 0, metadata: {} as never });
 * console.log([...weights.W_dec.data], [...weights.W_enc.data], [...weights.b_enc.data]); // [0, 1] [2, 2] [1]
 * ```
 *
 * @param sae The trained SAE.
 * @returns cfg.json contents and weights.
 */
export function inferenceSae(sae: TrainedSae): { cfg: SaeConfig; weights: SaeWeights } {
  const { cfg: t, params } = sae;
  const { d_in: dIn, d_sae: dSae } = t;
  // SAELens's fold_activation_norm_scaling_factor: the saved SAE reads unscaled activations
  const s = sae.scalingFactor ?? 1;
  const wEnc = Float32Array.from(params.get("W_enc")!, (v) => v * s);
  const wDec = Float32Array.from(params.get("W_dec")!, (v) => v / s);
  const norms = new Float32Array(dSae);
  for (let j = 0; j < dSae; j++) {
    norms[j] = Math.hypot(...wDec.subarray(j * dIn, (j + 1) * dIn)) || 1;
    for (let d = 0; d < dIn; d++) wDec[j * dIn + d] /= norms[j], wEnc[d * dSae + j] *= norms[j];
  }
  const scaled = (name: string) => Float32Array.from(params.get(name)!, (v, j) => v * norms[j]);
  const inference = trainingArchitecture(t.architecture).toInference({
    cfg: t,
    params,
    norms,
    scaled,
    batchThreshold: sae.batchThreshold,
  });
  const weights = {
    W_enc: { shape: [dIn, dSae], data: wEnc },
    W_dec: { shape: [dSae, dIn], data: wDec },
    b_dec: { shape: [dIn], data: Float32Array.from(params.get("b_dec")!, (v) => v / s) },
    ...inference.weights,
  } as SaeWeights;
  return {
    cfg: {
      architecture: inference.architecture,
      d_in: dIn,
      d_sae: dSae,
      dtype: "float32",
      // where SAELens puts the SAE when loading it: a torch device, and "cpu" is the one every machine has
      device: "cpu",
      apply_b_dec_to_input: t.apply_b_dec_to_input,
      normalize_activations: "none",
      reshape_activations: "none",
      ...inference.cfg,
      metadata: sae.metadata,
    },
    weights,
  };
}

/**
 * Writes the trained SAE as a SAELens v6 folder with `sparsity.safetensors` and, when given, the run's settings as
 * `runner_cfg.json` (the final SAE and each checkpoint's are written the same way).
 *
 * @example
 * ```ts ignore
 * await saveTrainedSae("out/sae", trained, logDensity, runnerSettings);
 * ```
 *
 * @param folder Destination.
 * @param sae The trained SAE.
 * @param logDensity log10(feature density + 1e-10) per latent.
 * @param runnerCfg The SAE's training settings, for `runner_cfg.json`.
 */
export async function saveTrainedSae(
  folder: string,
  sae: TrainedSae,
  logDensity: Float32Array,
  runnerCfg?: Record<string, unknown>,
): Promise<void> {
  const { cfg, weights } = inferenceSae(sae);
  await writeSaeFolder(folder, cfg, weights, { shape: [cfg.d_sae], data: logDensity });
  if (runnerCfg) await writeFileAtomic(join(folder, RUNNER_CFG_FILE), JSON.stringify(runnerCfg, null, 2) + "\n");
}
