/**
 * SAELens's `LanguageModelSAETrainingRunner` in one call: settings in, trained SAE folders out, each
 * with its cfg.json, weights, `sparsity.safetensors`, the run's settings as `runner_cfg.json`, and the
 * run's `metrics.jsonl` and `report.html` in `checkpoint_path`.
 *
 * @module
 */

import { join } from "node:path";
import { CPU_THREADS } from "../cpu/ort_node.ts";
import { getGpu, type Gpu } from "../gpu/device.ts";
import { resolveDevice } from "../sae/device.ts";
import { writeFileAtomic } from "../io/atomic_write.ts";
import { readSafetensors, toFloat32 } from "../io/safetensors.ts";
import { trainingReportHtml } from "../report/training_report.ts";
import { SAE } from "../sae/sae.ts";
import { saeDevice, trainingEvaluator } from "./training_evals.ts";
import { trainingDevice } from "./runner_settings.ts";
import { checkCpuStepMemory } from "./runner_config.ts";
import { openTrainingRun, type TrainingRun } from "./training_run.ts";
import { type PhaseProgress, type TrainProgress, type TrainResult, trainSaes } from "./train_saes.ts";
import { resumeSettings } from "./resume_settings.ts";
import type { SamplingPlan } from "./sampling_plan.ts";

/** Options of {@linkcode trainSae}. */
export interface TrainSaeOptions {
  /** The WebGPU device, when the run's `device` resolves to webgpu. @default {the shared WebGPU device} */
  gpu?: Gpu;
  /** Where the settings came from, for error messages. @default {"config"} */
  where?: string;
  /**
   * Continue the run whose checkpoint is in this folder (its `checkpoint_path`), with the settings stored there;
   * `config` may then be empty, or change only what a resume may change (see `resumeSettings`).
   */
  resume?: string;
  /** Stops after the current step with a checkpoint. */
  signal?: AbortSignal;
  /** Called once the run's inputs are open and the device is had, before the first step; `device` describes it. */
  onStart?: (run: TrainingRun, device: string) => void;
  /** Called after every step. */
  onProgress?: (p: TrainProgress) => void;
  /** Called as work outside the steps goes on: the norm estimate, filling the buffer, evaluations. */
  onPhase?: (p: PhaseProgress) => void;
  /** Told before the first step how the run samples its activations (the whole corpus, or the buffer's share of it). */
  onSampling?: (plan: SamplingPlan) => void;
  /** Where to write the HTML report. @default {checkpoint_path/report.html} */
  report?: string;
}

/** What {@linkcode trainSae} produced. */
export interface TrainSaeResult extends TrainResult {
  /** The trained SAEs, loaded from their folders (empty when stopped early); call `destroy()` when done. */
  saes: SAE[];
  /** The report, when the run finished. */
  report?: string;
}

/**
 * Trains every SAE the settings describe, from the model's activations on the dataset (or cached
 * activations), and saves them.
 *
 * @example Train a TopK SAE on the embedded model
 * ```ts ignore
 * const { saes, outputs } = await trainSae({ architecture: "topk", k: 16, d_sae: 512, training_tokens: 409600 });
 * console.log(outputs[0], saes[0].cfg.architecture); // checkpoints/final topk
 * ```
 *
 * @param config Settings under SAELens's `LanguageModelSAERunnerConfig` names (see `sae train --help`).
 * @param options Device, resume, stop signal, progress.
 * @returns The trained SAEs and their folders, steps and metrics.
 * @throws {TypeError} On settings of the wrong type or a checkpoint of another run.
 * @throws {RangeError} On settings out of range.
 * @throws {NonFiniteError} When a step gives NaN or infinity (the last checkpoint is kept).
 */
export async function trainSae(
  config: Record<string, unknown>,
  options: TrainSaeOptions = {},
): Promise<TrainSaeResult> {
  const settings = options.resume ? await resumeSettings(options.resume, config) : config;
  const run = await openTrainingRun(settings, options.where ?? "config");
  try {
    const choice = await resolveDevice(trainingDevice(run.resolved.run.device)!);
    if (choice === "cpu") checkCpuStepMemory(run.resolved, options.where ?? "config");
    const device = choice === "cpu" ? "cpu" : options.gpu ?? await getGpu();
    options.onStart?.(
      run,
      device === "cpu"
        ? `cpu (onnxruntime-node, ${CPU_THREADS} thread${CPU_THREADS === 1 ? "" : "s"})`
        : `WebGPU ${JSON.stringify(device.adapter)}`,
    );
    const result = await trainSaes(run.resolved, {
      device,
      rows: run.rows,
      source: run.source,
      hooks: run.hooks,
      metadata: run.metadata,
      resume: options.resume,
      signal: options.signal,
      onProgress: options.onProgress,
      onPhase: options.onPhase,
      onSampling: options.onSampling,
      evaluate: run.model && trainingEvaluator(run.model, device, run.rows, {
        batches: run.resolved.run.n_eval_batches,
        batchSize: run.resolved.run.eval_batch_size_prompts || run.resolved.run.store_batch_size_prompts,
      }),
    });
    if (result.stopped) return { ...result, saes: [] };
    const { saes } = run.resolved;
    const report = options.report ?? join(run.resolved.run.checkpoint_path, "report.html");
    const reportSaes = await Promise.all(result.outputs.map(async (folder, i) => ({
      label: `${saes[i].architecture} ${saes[i].d_sae} on ${saes[i].hook_name} (${folder})`,
      settings: (({ saes: _, ...own }) => ({ ...own, output_path: folder }))(saes[i]),
      metrics: result.metrics.filter((m) => (m.sae ?? 0) === i),
      logDensity: toFloat32(
        (await readSafetensors(join(folder, "sparsity.safetensors"))).tensors.get("sparsity")!,
        "sparsity",
      ),
    })));
    await writeFileAtomic(report, trainingReportHtml("sae train", reportSaes));
    const loaded = await Promise.all(result.outputs.map((folder) => SAE.load(folder, saeDevice(device))));
    return { ...result, saes: loaded, report };
  } finally {
    await run.dispose();
  }
}
