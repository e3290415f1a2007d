/**
 * Evaluations during training, as SAELens's `LLMSaeEvaluator` runs them every
 * `eval_every_n_wandb_logs` metric lines: the SAE as it stands, spliced into the model on
 * `n_eval_batches` batches of `eval_batch_size_prompts` rows, logged under SAELens's names.
 *
 * @module
 */

import { evaluateSae, type SaeEvaluation } from "../eval/evaluate_sae.ts";
import type { Gpu } from "../gpu/device.ts";
import type { HookedTransformer } from "../lm/hooked_transformer.ts";
import type { SaeWeights } from "../sae/architecture.ts";
import type { SaeConfig } from "../sae/config.ts";
import { SAE } from "../sae/sae.ts";

/** Evaluates one SAE of the run as it stands, reporting the rows done of all; returns metric lines' fields. */
export type TrainingEvaluator = (
  sae: { cfg: SaeConfig; weights: SaeWeights },
  onProgress?: (rows: number, total: number) => void,
) => Promise<Record<string, number>>;

/** SAELens's eval log names for our evaluation's fields. */
const NAMES: [string, keyof SaeEvaluation][] = [
  ["model_performance_preservation/ce_loss_score", "ce_loss_score"],
  ["model_performance_preservation/ce_loss_with_ablation", "ce_zero_ablation"],
  ["model_performance_preservation/ce_loss_with_sae", "ce_sae"],
  ["model_performance_preservation/ce_loss_without_sae", "ce_orig"],
  ["model_behavior_preservation/kl_div_score", "kl_div_score"],
  ["model_behavior_preservation/kl_div_with_ablation", "kl_div_zero_ablation"],
  ["model_behavior_preservation/kl_div_with_sae", "kl_div_sae"],
  ["shrinkage/l2_ratio", "l2_ratio"],
  ["sparsity/l0", "l0"],
  ["sparsity/l1", "l1"],
  ["reconstruction_quality/explained_variance", "explained_variance"],
  ["reconstruction_quality/mse", "mse"],
  ["reconstruction_quality/cossim", "cossim"],
];

/**
 * An evaluator reading its rows from `rows` (continuing where the last evaluation stopped, from the start again at
 * the end of the data), so evaluations neither take rows from training nor repeat the same few.
 *
 * @example
 * ```ts ignore
 * const evaluate = trainingEvaluator(model, "cpu", () => dataset.rows(), { batches: 10, batchSize: 32 });
 * const line = await evaluate(inferenceSae(trained)); // { "model_performance_preservation/ce_loss_score": 0.99, ... }
 * ```
 *
 * @param model The model the SAE reads.
 * @param device Where the SAE runs: a WebGPU device, or the CPU.
 * @param rows Token rows from the start of the dataset.
 * @param size Batches per evaluation and rows per batch.
 * @returns The evaluator.
 */
export function trainingEvaluator(
  model: HookedTransformer,
  device: Gpu | "cpu",
  rows: () => AsyncIterator<number[]>,
  size: { batches: number; batchSize: number },
): TrainingEvaluator {
  let source = rows();
  async function* take(n: number): AsyncGenerator<number[]> {
    for (let i = 0; i < n; i++) {
      let next = await source.next();
      if (next.done) source = rows(), next = await source.next();
      if (next.done) return;
      yield next.value;
    }
  }
  return async ({ cfg, weights }, onProgress) => {
    const total = size.batches * size.batchSize;
    onProgress?.(0, total);
    const sae = await SAE.fromWeights(cfg, weights, saeDevice(device));
    try {
      let done = 0;
      const m = await evaluateSae(model, sae, take(total), {
        batchSize: size.batchSize,
        // evaluations come back every few hundred steps: their run memory is kept between them
        keepRunMemory: true,
        onProgress: (rows) => onProgress?.(done = rows, total),
      });
      // a dataset shorter than `total` rows ends the evaluation early
      if (done < total) onProgress?.(total, total);
      return Object.fromEntries(NAMES.map(([name, field]) => [name, m[field] as number]));
    } finally {
      sae.destroy();
    }
  };
}

/**
 * The options that put an SAE where a trainer runs: on its WebGPU device, or on the CPU.
 *
 * @example
 * ```ts ignore
 * const sae = await SAE.load(folder, saeDevice("cpu"));
 * ```
 */
export function saeDevice(device: Gpu | "cpu"): { device: "cpu" } | { device: "webgpu"; gpu: Gpu } {
  return device === "cpu" ? { device: "cpu" } : { device: "webgpu", gpu: device };
}
