/**
 * A training run's settings under SAELens's `LanguageModelSAERunnerConfig` names, with defaults,
 * checks, and the SAEs it trains (several may share one forward pass through `saes`).
 *
 * @module
 */

import type { LrSchedulerName } from "./schedules.ts";
import {
  levelWidths,
  SAE_TRAINING_DEFAULTS,
  type SaeTrainingConfig,
  TRAIN_ARCHITECTURES,
  type TrainArchitecture,
} from "./sae_training_config.ts";

/** Settings of one run. Per-SAE fields may be overridden for each entry of `saes`. */
export interface RunnerConfig extends Omit<SaeTrainingConfig, "architecture" | "d_in" | "d_sae"> {
  /** Model folder (HF layout), or the embedded default when empty. @default {""} */
  model_name: string;
  /** Hook the SAE reads. @default {"blocks.2.hook_resid_pre"} */
  hook_name: string;
  /** Input width; taken from the model when 0. @default {0} */
  d_in: number;
  /** Latents; d_in × expansion_factor when 0. @default {0} */
  d_sae: number;
  /** d_sae / d_in when d_sae is 0. @default {4} */
  expansion_factor: number;
  /** Architecture. @default {"standard"} */
  architecture: TrainArchitecture;
  /** Pre-6.0 name: "relu" (standard) or "topk". @default {""} */
  activation_fn: string;
  /** Peak learning rate. @default {3e-4} */
  lr: number;
  /** Learning-rate schedule after warm-up. @default {"constant"} */
  lr_scheduler_name: LrSchedulerName;
  /** Linear lr warm-up steps. @default {0} */
  lr_warm_up_steps: number;
  /** Final linear lr decay steps. @default {0} */
  lr_decay_steps: number;
  /** End of cosine annealing; lr / 10 when negative. @default {-1} */
  lr_end: number;
  /** Linear warm-up of the sparsity coefficient. @default {0} */
  l1_warm_up_steps: number;
  /** Tokens per training step. @default {4096} */
  train_batch_size_tokens: number;
  /** Tokens to train on. @default {2000000} */
  training_tokens: number;
  /** Tokens per row. @default {128} */
  context_size: number;
  /** Dataset (see `sae eval --dataset`); the SOTU corpus by default. @default {"sotu"} */
  dataset_path: string;
  /** Text column of JSONL/Parquet data. @default {"text"} */
  text_column: string;
  /** Rows per model run. @default {32} */
  store_batch_size_prompts: number;
  /** Model runs the mixing buffer holds. @default {20} */
  n_batches_in_buffer: number;
  /** Steps between feature-density windows (sparsity metrics, resampling statistics). @default {2000} */
  feature_sampling_window: number;
  /** Density below which a latent counts as dead in the sparsity metrics. @default {1e-8} */
  dead_feature_threshold: number;
  /** Steps between dead-latent resamplings (Anthropic style); 0 for none. @default {0} */
  resample_steps: number;
  /** b_dec initialisation: "zeros", "mean" or "geometric_median". @default {"geometric_median"} */
  b_dec_init_method: "zeros" | "mean" | "geometric_median";
  /** Evenly spaced checkpoints over the run. @default {0} */
  n_checkpoints: number;
  /** Folder of checkpoints and, by default, the trained SAE. @default {"checkpoints"} */
  checkpoint_path: string;
  /** Where the trained SAE goes; `checkpoint_path/final` when empty. @default {""} */
  output_path: string;
  /** Seed of initial weights and shuffling. @default {42} */
  seed: number;
  /** Steps between metric lines (SAELens `wandb_log_frequency`). @default {30} */
  wandb_log_frequency: number;
  /** Prepend BOS to every row. @default {true} */
  prepend_bos: boolean;
  /** Train on activations cached by `--cache-activations` in this folder instead of running the model. @default {""} */
  cached_activations_path: string;
  /** Several SAEs from one forward pass: per-SAE overrides of the fields above. @default {[]} */
  saes: Partial<RunnerConfig>[];
}

/** Defaults of every field. */
export const RUNNER_DEFAULTS: RunnerConfig = {
  ...SAE_TRAINING_DEFAULTS,
  model_name: "",
  hook_name: "blocks.2.hook_resid_pre",
  d_in: 0,
  d_sae: 0,
  expansion_factor: 4,
  architecture: "standard",
  activation_fn: "",
  lr: 3e-4,
  lr_scheduler_name: "constant",
  lr_warm_up_steps: 0,
  lr_decay_steps: 0,
  lr_end: -1,
  l1_warm_up_steps: 0,
  train_batch_size_tokens: 4096,
  training_tokens: 2_000_000,
  context_size: 128,
  dataset_path: "sotu",
  text_column: "text",
  store_batch_size_prompts: 32,
  n_batches_in_buffer: 20,
  feature_sampling_window: 2000,
  dead_feature_threshold: 1e-8,
  resample_steps: 0,
  b_dec_init_method: "geometric_median",
  n_checkpoints: 0,
  checkpoint_path: "checkpoints",
  output_path: "",
  seed: 42,
  wandb_log_frequency: 30,
  prepend_bos: true,
  cached_activations_path: "",
  saes: [],
};

/** One line of documentation per field, for `--help`. */
export const RUNNER_FIELD_HELP: Record<string, string> = {
  model_name: "model folder (HF layout); the embedded default model when empty",
  hook_name: "hook the SAE reads",
  d_in: "input width (0: from the model)",
  d_sae: "latents (0: d_in x expansion_factor)",
  expansion_factor: "d_sae / d_in when d_sae is 0",
  architecture: TRAIN_ARCHITECTURES.join(" | "),
  activation_fn: "pre-6.0 name: relu | topk",
  k: "latents kept per token (topk) or on average (batchtopk, matryoshka)",
  lr: "peak learning rate",
  lr_scheduler_name: "constant | cosineannealing | linear",
  lr_warm_up_steps: "linear warm-up steps",
  lr_decay_steps: "final linear decay steps",
  lr_end: "end of cosine annealing (negative: lr / 10)",
  l1_coefficient: "sparsity coefficient (L1; L0 for jumprelu)",
  l1_warm_up_steps: "linear warm-up steps of the sparsity coefficient",
  train_batch_size_tokens: "tokens per step",
  training_tokens: "tokens to train on",
  context_size: "tokens per row",
  dataset_path: "dataset: folder, .txt, .jsonl, .parquet, tokens .safetensors, HF id, or sotu",
  text_column: "text column of JSONL/Parquet data",
  store_batch_size_prompts: "rows per model run",
  n_batches_in_buffer: "model runs held by the mixing buffer",
  use_ghost_grads: "ghost grads on dead latents (standard)",
  dead_feature_window: "steps without firing after which a latent is dead",
  feature_sampling_window: "steps per feature-density window",
  dead_feature_threshold: "density under which a latent counts as dead in the metrics",
  resample_steps: "steps between dead-latent resamplings (0: none)",
  b_dec_init_method: "zeros | mean | geometric_median",
  apply_b_dec_to_input: "subtract b_dec from the input",
  decoder_init_norm: "initial decoder row norm",
  jumprelu_bandwidth: "JumpReLU straight-through bandwidth",
  jumprelu_init_threshold: "JumpReLU initial threshold",
  aux_loss_coefficient: "AuxK coefficient (topk family)",
  topk_threshold_lr: "BatchTopK threshold moving-average rate",
  matryoshka_widths: "matryoshka prefix widths, comma-separated",
  adam_beta1: "Adam beta1",
  adam_beta2: "Adam beta2",
  n_checkpoints: "evenly spaced checkpoints",
  checkpoint_path: "folder of checkpoints",
  output_path: "folder of the trained SAE (default checkpoint_path/final)",
  seed: "seed of weights and shuffling",
  wandb_log_frequency: "steps between metric lines",
  prepend_bos: "prepend BOS to every row",
  cached_activations_path: "train on activations cached with --cache-activations",
};

/** The SAEs of a run, each with its hook and fully resolved settings. */
export interface ResolvedRun {
  /** Run-level settings (the first SAE's values for per-SAE fields). */
  run: RunnerConfig;
  /** Each SAE's settings. */
  saes: (RunnerConfig & SaeTrainingConfig)[];
}

const ARCH_ALIASES: Record<string, TrainArchitecture> = { relu: "standard", topk: "topk" };

/**
 * Fills defaults, maps SAELens aliases (`activation_fn`, `activation_fn_kwargs.k`, nested `sae`),
 * resolves d_in and d_sae, and checks every field.
 *
 * @example
 * ```ts
 * import { resolveRunnerConfig } from "./runner_config.ts";
 * const { saes } = resolveRunnerConfig({ activation_fn: "topk", activation_fn_kwargs: { k: 16 }, d_sae: 1024 }, "cfg.json", () => 128);
 * console.log(saes[0].architecture, saes[0].k, saes[0].d_in); // topk 16 128
 * ```
 *
 * @param raw Parsed JSON or flags.
 * @param where The file or "flags", for error messages.
 * @param hookWidth The model's width at a hook (for d_in 0).
 * @returns The run and its SAEs.
 * @throws {TypeError} On an unknown field or a value of the wrong type.
 * @throws {RangeError} On a value out of range.
 */
export function resolveRunnerConfig(
  raw: Record<string, unknown>,
  where: string,
  hookWidth: (hook: string) => number,
): ResolvedRun {
  const run = normalise(raw, where, RUNNER_DEFAULTS);
  const entries = run.saes.length > 0 ? run.saes : [{}];
  const saes = entries.map((entry, i) => {
    const own = normalise(entry as Record<string, unknown>, `${where} saes[${i}]`, { ...run, saes: [] });
    const d_in = own.d_in || hookWidth(own.hook_name);
    const d_sae = own.d_sae || Math.round(d_in * own.expansion_factor);
    const sae = { ...own, d_in, d_sae };
    checkRanges(sae, entries.length > 1 ? `${where} saes[${i}]` : where);
    return sae;
  });
  checkMemory(run, saes, where);
  return { run: { ...run, ...saes[0], saes: run.saes }, saes };
}

/** Refuses a run whose activations (the mixing buffer and a batch, f32, every hook) exceed the machine's memory. */
function checkMemory(run: RunnerConfig, saes: ResolvedRun["saes"], where: string): void {
  const total = systemMemoryBytes();
  if (total === undefined) return;
  const widths = new Map(saes.map((s) => [s.hook_name, s.d_in]));
  const bytesPerToken = 4 * [...widths.values()].reduce((a, b) => a + b, 0);
  const bufferTokens = run.n_batches_in_buffer * run.store_batch_size_prompts * run.context_size;
  const need = (bufferTokens + 2 * run.train_batch_size_tokens) * bytesPerToken;
  if (need > total) {
    const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;
    throw new RangeError(
      `${where}: a batch of train_batch_size_tokens ${run.train_batch_size_tokens} and a mixing buffer of n_batches_in_buffer × store_batch_size_prompts × context_size ${bufferTokens} tokens need ${
        gib(need)
      } of activations, more than this machine's ${gib(total)}: lower them`,
    );
  }
}

/** Total memory, when the process may ask (`--allow-sys`, or /proc/meminfo on Linux). */
function systemMemoryBytes(): number | undefined {
  try {
    if (Deno.permissions.querySync({ name: "sys", kind: "systemMemoryInfo" }).state === "granted") {
      return Deno.systemMemoryInfo().total;
    }
    const kib = /^MemTotal:\s+(\d+) kB/m.exec(Deno.readTextFileSync("/proc/meminfo"))?.[1];
    return kib === undefined ? undefined : Number(kib) * 1024;
  } catch {
    return undefined; // no permission to read it: the run is not refused on a guess
  }
}

function normalise(raw: Record<string, unknown>, where: string, base: RunnerConfig): RunnerConfig {
  const flat: Record<string, unknown> = { ...raw };
  if (typeof flat.sae === "object" && flat.sae !== null) Object.assign(flat, flat.sae), delete flat.sae;
  const kwargs = flat.activation_fn_kwargs;
  if (typeof kwargs === "object" && kwargs !== null && "k" in kwargs) flat.k ??= (kwargs as { k: unknown }).k;
  delete flat.activation_fn_kwargs;
  if (typeof flat.activation_fn === "string" && flat.activation_fn !== "" && flat.architecture === undefined) {
    const arch = ARCH_ALIASES[flat.activation_fn];
    if (!arch) throw new RangeError(`${where}: activation_fn is "${flat.activation_fn}": expected relu or topk`);
    flat.architecture = arch;
  }
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(flat)) {
    if (value === undefined || IGNORED.has(key)) continue;
    if (!(key in RUNNER_DEFAULTS)) {
      throw new TypeError(`${where}: field ${key} is not a training setting here (see sae train --help)`);
    }
    const expected = RUNNER_DEFAULTS[key as keyof RunnerConfig];
    const kind = Array.isArray(expected) ? "array" : typeof expected;
    const actual = Array.isArray(value) ? "array" : typeof value;
    if (kind !== actual || (kind === "number" && !Number.isFinite(value))) {
      throw new TypeError(
        `${where}: field ${key} is ${JSON.stringify(value)}: expected a ${kind === "array" ? "list" : kind}`,
      );
    }
    out[key] = value;
  }
  return out as unknown as RunnerConfig;
}

/** SAELens fields with no effect here (logging services, devices, dtypes). */
const IGNORED = new Set([
  "log_to_wandb",
  "wandb_project",
  "wandb_entity",
  "run_name",
  "device",
  "act_store_device",
  "dtype",
  "autocast",
  "compile_llm",
  "compile_sae",
  "hook_layer",
  "model_class_name",
  "streaming",
  "is_dataset_tokenized",
  "eval_every_n_wandb_logs",
  "n_eval_batches",
  "eval_batch_size_prompts",
  "normalize_activations",
  "hook_head_index",
  "mse_loss_normalization",
  "model_from_pretrained_kwargs",
  "logger",
]);

function checkRanges(cfg: RunnerConfig & SaeTrainingConfig, where: string): void {
  const positiveInt = [
    "d_in",
    "d_sae",
    "train_batch_size_tokens",
    "training_tokens",
    "context_size",
    "store_batch_size_prompts",
    "n_batches_in_buffer",
    "feature_sampling_window",
    "dead_feature_window",
    "wandb_log_frequency",
  ] as const;
  for (const key of positiveInt) {
    const v = cfg[key];
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`${where}: field ${key} is ${v}: expected a positive integer`);
    }
  }
  for (
    const key of ["lr_warm_up_steps", "lr_decay_steps", "l1_warm_up_steps", "n_checkpoints", "resample_steps"] as const
  ) {
    const v = cfg[key];
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`${where}: field ${key} is ${v}: expected an integer >= 0`);
  }
  if (!(cfg.lr > 0)) throw new RangeError(`${where}: field lr is ${cfg.lr}: expected a positive number`);
  if (!TRAIN_ARCHITECTURES.includes(cfg.architecture)) {
    throw new RangeError(
      `${where}: field architecture is "${cfg.architecture}": expected one of ${TRAIN_ARCHITECTURES.join(", ")}`,
    );
  }
  if (!["constant", "cosineannealing", "linear"].includes(cfg.lr_scheduler_name)) {
    throw new RangeError(
      `${where}: field lr_scheduler_name is "${cfg.lr_scheduler_name}": expected constant, cosineannealing or linear`,
    );
  }
  if (!["zeros", "mean", "geometric_median"].includes(cfg.b_dec_init_method)) {
    throw new RangeError(
      `${where}: field b_dec_init_method is "${cfg.b_dec_init_method}": expected zeros, mean or geometric_median`,
    );
  }
  if (cfg.training_tokens < cfg.train_batch_size_tokens) {
    throw new RangeError(
      `${where}: training_tokens ${cfg.training_tokens} is less than one batch of train_batch_size_tokens ${cfg.train_batch_size_tokens}: the run would take no step`,
    );
  }
  if (cfg.lr_warm_up_steps + cfg.lr_decay_steps > Math.floor(cfg.training_tokens / cfg.train_batch_size_tokens)) {
    throw new RangeError(`${where}: lr_warm_up_steps + lr_decay_steps exceed the run's steps`);
  }
  levelWidths(cfg);
}
