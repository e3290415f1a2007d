/**
 * A training run: batches from the activation store feed every SAE of the run (one forward pass
 * for all), with schedules, dead-latent tracking, resampling, metrics, checkpoints and resume.
 *
 * @module
 */

import { lockFolder } from "../io/folder_lock.ts";
import { checkWritableFolder } from "../io/writable_folder.ts";
import { join } from "node:path";
import type { Gpu } from "../gpu/device.ts";
import type { SaeMetadata } from "../sae/config.ts";
import { mulberry32 } from "../util/mulberry32.ts";
import { type ActivationSource, ActivationStore } from "./activation_store.ts";
import { planSampling, type SamplingPlan } from "./sampling_plan.ts";
import { systemMemoryBytes } from "../util/system_memory.ts";
import {
  type Checkpoint,
  checkResumable,
  readCheckpoint,
  removeStaleCheckpointTemps,
  writeCheckpoint,
} from "./checkpoint.ts";
import { outputFolders } from "./output_folders.ts";
import { RESUME_OVERRIDABLE, settingsChanges, storedConfig } from "./resume_settings.ts";
import { estimateScales, estimateTokens, scaled } from "./activation_scale.ts";
import { METRICS_FILE, type MetricsLine, readMetrics } from "./metrics_log.ts";
import { geometricMedian } from "./geometric_median.ts";
import { resampleDeadLatents } from "./resample_dead.ts";
import type { ResolvedRun } from "./runner_config.ts";
import { inferenceSae, saveTrainedSae } from "./save_trained_sae.ts";
import type { TrainingEvaluator } from "./training_evals.ts";
import type { ParameterMap } from "./initial_parameters.ts";
import { SaeTrainer } from "./sae_trainer.ts";
import type { StepResult } from "./step_result.ts";
import { learningRate, warmedUpCoefficient } from "./schedules.ts";
import { type SaeTrainingConfig, sparsityCoefficientName } from "./sae_training_config.ts";

/** Progress after a step. */
export interface TrainProgress {
  /** Steps taken. */
  step: number;
  /** Steps in the run. */
  totalSteps: number;
  /** Tokens trained on. */
  tokens: number;
  /** Each SAE's step result. */
  results: StepResult[];
}

/**
 * Work outside the steps that may take a while, reported as it goes (`done` from 0 up to `total`, which ends it):
 * skipping the rows a resumed run had read, filling the mixing buffer, estimating the input norm
 * (`expected_average_only_in`), evaluating an SAE.
 */
export interface PhaseProgress {
  /** What runs. */
  phase:
    | "skipping rows already read"
    | "filling the mixing buffer"
    | "reading the corpus's activations"
    | "estimating the input norm"
    | "evaluating";
  /** The SAE evaluated (evaluations only). */
  sae?: number;
  /** Units done. */
  done: number;
  /** Units in the phase. */
  total: number;
  /** What is counted: rows, tokens, batches. */
  unit: string;
}

/** Options of {@linkcode trainSaes}. */
export interface TrainSaesOptions {
  /** The device the SAEs train on: a WebGPU device, or the CPU. */
  device: Gpu | "cpu";
  /** Token rows, in order (restarted each epoch). */
  rows: () => AsyncIterator<number[]>;
  /** Activations of a batch of rows, one array per distinct hook in `hooks` order. */
  source: ActivationSource;
  /** Distinct hooks the source returns, in order. */
  hooks: string[];
  /** Told, before the first step, how the run samples its activations and how much of the corpus that mixes. */
  onSampling?: (plan: SamplingPlan) => void;
  /** cfg.json metadata of each SAE (model, hook, dataset). */
  metadata: SaeMetadata[];
  /** Continue from the checkpoint in this folder. */
  resume?: string;
  /** Stops the run after the current step, saving a checkpoint (Ctrl-C); during the norm estimate, at once. */
  signal?: AbortSignal;
  /** Called after every step. */
  onProgress?: (p: TrainProgress) => void;
  /** Called as work outside the steps goes on. */
  onPhase?: (p: PhaseProgress) => void;
  /** Evaluates an SAE as it stands, every `eval_every_n_wandb_logs` metric lines (none when absent). */
  evaluate?: TrainingEvaluator;
}

/** What a run produced. */
export interface TrainResult {
  /** Folders of the trained SAEs (empty when stopped early). */
  outputs: string[];
  /** The checkpoint written when stopped early or at checkpoints. */
  checkpoint?: string;
  /** The SAE folders written at checkpoints (`checkpoint_path/<tokens trained on>`, numbered when several). */
  checkpointSaes: string[];
  /** Steps taken. */
  steps: number;
  /** Whether the signal stopped the run before the end. */
  stopped: boolean;
  /** Every metrics line of the run, resumed parts included. */
  metrics: MetricsLine[];
}

const DENSITY_EPS = 1e-10;

/**
 * Trains every SAE of the run.
 *
 * @example
 * ```ts ignore
 * const result = await trainSaes(resolved, { device: "cpu", rows, source, hooks: ["blocks.2.hook_resid_pre"], metadata });
 * console.log(result.outputs); // ["checkpoints/final"]
 * ```
 *
 * @param resolved The run's settings.
 * @param options Data, device, resume and callbacks.
 * @returns Output folders, steps and metrics.
 * @throws {NonFiniteError} When a step gives NaN or infinity; the last checkpoint is kept as it was.
 * @throws {TypeError} When `resume` holds a checkpoint of different settings (each changed field named).
 * @throws {Deno.errors.Busy} When another run holds `checkpoint_path`.
 */
export async function trainSaes(resolved: ResolvedRun, options: TrainSaesOptions): Promise<TrainResult> {
  // held until the last save: a second run on this folder stops at once instead of interleaving metrics and saves
  const lock = await lockFolder(resolved.run.checkpoint_path, "sae train");
  try {
    return await trainLocked(resolved, options);
  } finally {
    lock.release();
  }
}

async function trainLocked(resolved: ResolvedRun, options: TrainSaesOptions): Promise<TrainResult> {
  const { run, saes } = resolved;
  const { device, hooks } = options;
  const batch = run.train_batch_size_tokens;
  const totalSteps = Math.floor(run.training_tokens / batch);
  const checkpointEvery = run.n_checkpoints > 0 ? Math.max(1, Math.floor(totalSteps / run.n_checkpoints)) : 0;
  const metricsPath = join(run.checkpoint_path, METRICS_FILE);
  const outputs = outputFolders(resolved, "config");
  const phase = options.onPhase ?? (() => {});
  await removeStaleCheckpointTemps(run.checkpoint_path);
  // a destination that cannot be written is found now, not at the final save after every step
  for (const [i, folder] of outputs.entries()) {
    await checkWritableFolder(folder, saes[i].output_path ? "output_path" : "checkpoint_path");
  }

  let resumed: Checkpoint | undefined;
  if (options.resume) {
    resumed = await readCheckpoint(options.resume);
    const changes = settingsChanges(resumed.meta.config, resolved);
    if (changes.length > 0) {
      throw new TypeError(
        `The checkpoint in ${options.resume} was written with other settings: ${
          changes.join("; ")
        }. A resumed run keeps its settings (sae train --resume ${options.resume} alone continues it); only ${
          RESUME_OVERRIDABLE.join(", ")
        } may change`,
      );
    }
    checkResumable(resumed, options.resume, totalSteps, saes.map((s) => s.d_sae), hooks.length);
  }
  // Shuffling and resampling draw from `rng`, whose state checkpoints keep; initial weights from
  // their own generators, so a resumed run draws the same numbers as the uninterrupted one.
  const rng = mulberry32(resumed ? resumed.meta.rngState : run.seed);
  const initRng = (i: number) => mulberry32(run.seed + 0x9e3779b9 * (i + 1));
  const hookIndex = saes.map((s) => hooks.indexOf(s.hook_name));
  const widths = hooks.map((h) => saes.find((s) => s.hook_name === h)!.d_in);
  const bufferTokens = run.n_batches_in_buffer * run.store_batch_size_prompts * run.context_size;
  const plan = await planSampling({
    rows: options.rows,
    seed: run.seed,
    contextSize: run.context_size,
    widths,
    bufferTokens,
    neededTokens: totalSteps * batch + estimateTokens(resolved),
    memoryBytes: systemMemoryBytes(),
    wholeCorpus: run.shuffle_whole_corpus,
  });
  if (resumed && (resumed.meta.served !== undefined) !== (plan.held !== undefined)) {
    throw new TypeError(
      `The checkpoint in ${options.resume} was ${
        resumed.meta.served !== undefined ? "sampling across the whole corpus" : "sampling from the mixing buffer"
      }, but this run is ${plan.description}: resume where the run started, with the same shuffle_whole_corpus`,
    );
  }
  options.onSampling?.(plan);
  const store = new ActivationStore(
    {
      rows: options.rows,
      source: options.source,
      widths,
      contextSize: run.context_size,
      rowsPerRun: run.store_batch_size_prompts,
      bufferTokens,
      rng,
      onProgress: (what, done, total) =>
        phase({
          phase: what === "skip"
            ? "skipping rows already read"
            : what === "corpus"
            ? "reading the corpus's activations"
            : "filling the mixing buffer",
          done,
          total,
          unit: what === "skip" ? "rows" : "tokens",
        }),
      ...(plan.held ? { corpus: { rows: plan.held, seed: run.seed } } : {}),
    },
    resumed && {
      rowsRead: resumed.meta.rowsRead,
      servable: resumed.meta.servable,
      buffered: hooks.map((_, h) => resumed!.tensors.get(`store.hook${h}`)!),
      ...(resumed.meta.served !== undefined ? { served: resumed.meta.served } : {}),
    },
  );

  const trainers: SaeTrainer[] = [];
  const windowFired = saes.map((s) => new Float64Array(s.d_sae));
  const windowTokens = saes.map(() => 0);
  const resampleFired = saes.map((s) => new Float64Array(s.d_sae));
  const lastDensity: Float32Array[] = saes.map((s) => new Float32Array(s.d_sae));
  const metrics: MetricsLine[] = [];
  // expected_average_only_in: each SAE's input scale, estimated before the first step and folded in on save
  const scales: (number | undefined)[] = saes.map(() => undefined);
  let step = 0;
  try {
    if (resumed) {
      step = resumed.meta.step;
      saes.forEach((cfg, i) => {
        const own = (name: string) => resumed!.tensors.get(`sae${i}.${name}`);
        const tensors: ParameterMap = new Map();
        for (const [name, value] of resumed!.tensors) {
          const prefix = `sae${i}.param.`;
          if (name.startsWith(prefix)) tensors.set(name.slice(prefix.length), value);
        }
        try {
          trainers.push(SaeTrainer.create(device, cfg, initRng(i), {
            tensors,
            step,
            sinceFired: own("since_fired"),
            batchThreshold: resumed!.meta.saes[i].batchThreshold,
          }));
        } catch (error) {
          throw new TypeError(`The checkpoint in ${options.resume} does not fit SAE ${i}: ${(error as Error).message}`);
        }
        windowFired[i].set(own("window_fired")!);
        resampleFired[i].set(own("resample_fired")!);
        lastDensity[i] = own("last_density")!;
        windowTokens[i] = resumed!.meta.saes[i].windowTokens;
        scales[i] = resumed!.meta.saes[i].scalingFactor ?? undefined;
      });
      metrics.push(...await readMetrics(metricsPath, step));
      await Deno.writeTextFile(metricsPath, metrics.map((m) => JSON.stringify(m) + "\n").join(""));
    } else {
      await Deno.writeTextFile(metricsPath, "");
    }

    const checkpoint = async (): Promise<string> => {
      const tensors = new Map<string, Float32Array>();
      const storeState = store.state();
      storeState.buffered.forEach((b, h) => tensors.set(`store.hook${h}`, b));
      for (const [i, t] of trainers.entries()) {
        const state = await t.state();
        for (const [name, value] of state.tensors) tensors.set(`sae${i}.param.${name}`, value);
        tensors.set(`sae${i}.since_fired`, state.sinceFired);
        tensors.set(`sae${i}.window_fired`, Float32Array.from(windowFired[i]));
        tensors.set(`sae${i}.resample_fired`, Float32Array.from(resampleFired[i]));
        tensors.set(`sae${i}.last_density`, lastDensity[i]);
      }
      return await writeCheckpoint(run.checkpoint_path, {
        meta: {
          step,
          rngState: rng.state,
          rowsRead: storeState.rowsRead,
          servable: storeState.servable,
          ...(storeState.served !== undefined ? { served: storeState.served } : {}),
          saes: trainers.map((t, i) => ({
            batchThreshold: t.batchThreshold,
            windowTokens: windowTokens[i],
            scalingFactor: scales[i] ?? null,
          })),
          config: storedConfig(resolved),
        },
        tensors,
      });
    };

    // Each SAE as SAELens loads it, with its densities over the current window and its settings as runner_cfg.json
    const saveSaes = async (folders: string[]) => {
      for (const [i, trainer] of trainers.entries()) {
        const density = windowTokens[i] > 0 ? logDensity(windowFired[i], windowTokens[i]) : lastDensity[i];
        const { tensors } = await trainer.state();
        const { saes: _, ...own } = saes[i];
        await saveTrainedSae(
          folders[i],
          {
            cfg: saes[i] as SaeTrainingConfig,
            params: new Map([...tensors].filter(([n]) => !n.includes("."))),
            batchThreshold: trainer.batchThreshold,
            scalingFactor: scales[i],
            metadata: options.metadata[i],
          },
          density,
          { ...own, output_path: outputs[i] },
        );
      }
    };

    if (!resumed) {
      scales.splice(
        0,
        scales.length,
        ...await estimateScales(
          store,
          resolved,
          hookIndex,
          {
            onProgress: (done, total) => phase({ phase: "estimating the input norm", done, total, unit: "batches" }),
            signal: options.signal,
          },
        ),
      );
      // stopped during the estimate: no step taken, nothing to keep
      if (options.signal?.aborted) return { outputs: [], checkpointSaes: [], steps: 0, stopped: true, metrics };
    }
    let lastCheckpoint: string | undefined;
    const checkpointSaes: string[] = [];
    while (step < totalSteps) {
      const xs = await store.next(batch);
      if (trainers.length === 0) {
        saes.forEach((cfg, i) => {
          const x = scaled(xs[hookIndex[i]], scales[i]);
          const tensors: ParameterMap = new Map();
          if (cfg.b_dec_init_method !== "zeros") {
            tensors.set("b_dec", cfg.b_dec_init_method === "mean" ? mean(x, cfg.d_in) : geometricMedian(x, cfg.d_in));
          }
          trainers.push(SaeTrainer.create(device, cfg, initRng(i), { tensors }));
        });
      }
      const results: StepResult[] = [];
      for (const [i, trainer] of trainers.entries()) {
        const cfg = saes[i];
        const lr = learningRate({
          lr: cfg.lr,
          lrSchedulerName: cfg.lr_scheduler_name,
          lrWarmUpSteps: cfg.lr_warm_up_steps,
          lrDecaySteps: cfg.lr_decay_steps,
          lrEnd: cfg.lr_end >= 0 ? cfg.lr_end : cfg.lr / 10,
          numCycles: cfg.n_restart_cycles,
          totalSteps,
        }, step);
        const l1Coefficient = warmedUpCoefficient(cfg.l1_coefficient, cfg.l1_warm_up_steps, step);
        const coefficient = sparsityCoefficientName(cfg.architecture);
        const x = scaled(xs[hookIndex[i]], scales[i]);
        const r = await trainer.step(x, { lr, l1Coefficient });
        results.push(r);
        for (let j = 0; j < cfg.d_sae; j++) windowFired[i][j] += r.fired[j], resampleFired[i][j] += r.fired[j];
        windowTokens[i] += batch;
        const stepsDone = step + 1;
        const line: MetricsLine = {
          step: stepsDone,
          ...(saes.length > 1 ? { sae: i } : {}),
          "details/n_training_tokens": stepsDone * batch,
          "details/current_learning_rate": lr,
          ...(coefficient ? { [`details/${coefficient}_coefficient`]: l1Coefficient } : {}),
          "losses/overall_loss": r.loss,
          ...Object.fromEntries(Object.entries(r.losses).map(([k, v]) => [`losses/${k}`, v])),
          "metrics/explained_variance": r.explainedVariance,
          "metrics/l0": r.l0,
          "metrics/grad_norm": r.gradNorm,
          "sparsity/mean_passes_since_fired": trainer.sinceFired.reduce((a, b) => a + b, 0) / cfg.d_sae,
          "sparsity/dead_features": r.deadCount,
        };
        if (stepsDone % cfg.feature_sampling_window === 0) {
          lastDensity[i] = logDensity(windowFired[i], windowTokens[i]);
          line["sparsity/below_1e-5"] = lastDensity[i].filter((v) => v < -5).length;
          line["sparsity/below_1e-6"] = lastDensity[i].filter((v) => v < -6).length;
          line["sparsity/dense_1e-1"] = lastDensity[i].filter((v) => v > -1).length;
          windowFired[i].fill(0);
          windowTokens[i] = 0;
        }
        if (cfg.resample_steps > 0 && stepsDone % cfg.resample_steps === 0 && stepsDone < totalSteps) {
          const dead = resampleFired[i].reduce((n, v) => n + (v === 0 ? 1 : 0), 0);
          if (dead > 0) {
            await resampleDeadLatents(
              trainer,
              x,
              r.rowLoss,
              Uint8Array.from(resampleFired[i], (v) => v === 0 ? 1 : 0),
              rng,
            );
          }
          line["sparsity/resampled_features"] = dead;
          resampleFired[i].fill(0);
        }
        const evalEvery = cfg.wandb_log_frequency * cfg.eval_every_n_wandb_logs;
        if (options.evaluate && evalEvery > 0 && stepsDone % evalEvery === 0) {
          const { tensors } = await trainer.state();
          const sae = inferenceSae({
            cfg,
            params: new Map([...tensors].filter(([n]) => !n.includes("."))),
            batchThreshold: trainer.batchThreshold,
            scalingFactor: scales[i],
            metadata: options.metadata[i],
          });
          const report = (done: number, total: number) =>
            phase({ phase: "evaluating", sae: i, done, total, unit: "rows" });
          Object.assign(line, await options.evaluate(sae, report));
        }
        if (
          stepsDone % cfg.wandb_log_frequency === 0 || stepsDone === totalSteps ||
          line["sparsity/below_1e-5"] !== undefined
        ) {
          metrics.push(line);
          await Deno.writeTextFile(metricsPath, JSON.stringify(line) + "\n", { append: true });
        }
      }
      step++;
      options.onProgress?.({ step, totalSteps, tokens: step * batch, results });
      const stop = options.signal?.aborted === true;
      const scheduled = checkpointEvery > 0 && step % checkpointEvery === 0 && step < totalSteps;
      if (scheduled) {
        // SAELens's layout: a loadable SAE folder per checkpoint, named by the tokens trained on
        const base = join(run.checkpoint_path, String(step * batch));
        const folders = saes.map((_, i) => saes.length > 1 ? join(base, String(i)) : base);
        await saveSaes(folders);
        checkpointSaes.push(...folders);
      }
      if (scheduled || (stop && step < totalSteps)) lastCheckpoint = await checkpoint();
      if (stop && step < totalSteps) {
        return { outputs: [], checkpoint: lastCheckpoint, checkpointSaes, steps: step, stopped: true, metrics };
      }
    }

    await saveSaes(outputs);
    return { outputs, checkpoint: lastCheckpoint, checkpointSaes, steps: step, stopped: false, metrics };
  } finally {
    for (const t of trainers) t.destroy();
  }
}

function mean(x: Float32Array, width: number): Float32Array {
  const out = new Float64Array(width);
  for (let i = 0; i < x.length; i++) out[i % width] += x[i];
  return Float32Array.from(out, (v) => v / (x.length / width));
}

/** SAELens's `log_feature_sparsity`: log10(fired / tokens + 1e-10). */
function logDensity(fired: Float64Array, tokens: number): Float32Array {
  return Float32Array.from(fired, (f) => Math.log10(f / Math.max(tokens, 1) + DENSITY_EPS));
}
