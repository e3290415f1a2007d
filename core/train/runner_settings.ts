/**
 * Every field of a training run under SAELens's `LanguageModelSAERunnerConfig` names, each in one place:
 * the settings this trainer uses (default, help, check), and SAELens's other fields, each either accepted
 * because it has no effect on the result here or accepted only at the value this trainer implements.
 * `sae train`'s flags, `--help`, defaults and checks all derive from these tables.
 *
 * @module
 */

import { LR_SCHEDULER_ALIASES, LR_SCHEDULER_NAMES, type LrSchedulerName } from "./schedules.ts";
import { type Device, DEVICES } from "../sae/device.ts";
import {
  SAE_TRAINING_SETTINGS,
  type SaeTrainingValues,
  type SettingsOf,
  TRAIN_ARCHITECTURES,
  type TrainArchitecture,
} from "./sae_training_config.ts";
import { countOrZero, defaultsOf, oneOf, positiveInteger, positiveNumber, setting } from "./setting.ts";

/**
 * Where a run trains, as its `device` field names it: ours (auto, webgpu, cpu), or SAELens's torch devices, where
 * `cuda…` and `mps…` (a GPU) mean auto: webgpu on a hardware GPU, and the cpu where the only adapter is a software one
 * (a config copied from a CUDA machine then trains in minutes on the cpu, not hours on lavapipe).
 *
 * @example
 * ```ts
 * import { trainingDevice } from "./runner_settings.ts";
 * console.log(trainingDevice("cuda:0"), trainingDevice("cpu")); // auto cpu
 * ```
 *
 * @param value The field's value.
 * @returns The device choice, or undefined when the value names none.
 */
export function trainingDevice(value: string): Device | undefined {
  if ((DEVICES as readonly string[]).includes(value)) return value as Device;
  return /^(cuda|mps)(:\d+)?$/.test(value) ? "auto" : undefined;
}

/** Ways to scale activations before the SAE: SAELens's modes this trainer implements. */
export const TRAIN_NORMALIZATIONS = ["none", "expected_average_only_in"] as const;

/** A run's values besides the per-SAE ones; each field's default, help and check are in {@linkcode RUNNER_SETTINGS}. */
export interface RunValues {
  /** Where the SAEs train: auto, webgpu or cpu (SAELens's cuda and mps: auto). */
  device: string;
  /** Model folder (HF layout) or id; the embedded model when empty. */
  model_name: string;
  /** TransformerLens weight processing of the model. */
  model_from_pretrained_kwargs: Record<string, unknown>;
  /** Hook the SAE reads. */
  hook_name: string;
  /** Input width; from the model when 0. */
  d_in: number;
  /** Latents; d_in × expansion_factor when 0. */
  d_sae: number;
  /** d_sae / d_in when d_sae is 0. */
  expansion_factor: number;
  /** Architecture. */
  architecture: TrainArchitecture;
  /** Pre-6.0 name: relu or topk. */
  activation_fn: string;
  /** Input scaling: none, or SAELens's expected_average_only_in. */
  normalize_activations: typeof TRAIN_NORMALIZATIONS[number];
  /** Batches drawn to estimate the expected_average_only_in scale. */
  n_batches_for_norm_estimate: number;
  /** Peak learning rate. */
  lr: number;
  /** Learning-rate schedule after warm-up. */
  lr_scheduler_name: LrSchedulerName;
  /** Cosine cycles of cosineannealingwarmrestarts. */
  n_restart_cycles: number;
  /** Linear lr warm-up steps. */
  lr_warm_up_steps: number;
  /** Final linear lr decay steps. */
  lr_decay_steps: number;
  /** End of cosine annealing; lr / 10 when negative. */
  lr_end: number;
  /** Linear warm-up of the sparsity coefficient. */
  l1_warm_up_steps: number;
  /** Tokens per training step. */
  train_batch_size_tokens: number;
  /** Tokens to train on. */
  training_tokens: number;
  /** Tokens per row. */
  context_size: number;
  /** Dataset (see `sae eval --dataset`). */
  dataset_path: string;
  /** Text column of JSONL/Parquet data. */
  text_column: string;
  /** Rows per model run. */
  store_batch_size_prompts: number;
  /** Model runs the mixing buffer holds. */
  n_batches_in_buffer: number;
  /** Sample across the whole corpus when its activations fit in a quarter of memory. */
  shuffle_whole_corpus: boolean;
  /** Steps between feature-density windows (sparsity metrics, resampling statistics). */
  feature_sampling_window: number;
  /** Density below which a latent counts as dead in the sparsity metrics. */
  dead_feature_threshold: number;
  /** Steps between dead-latent resamplings; 0 for none. */
  resample_steps: number;
  /** b_dec initialisation. */
  b_dec_init_method: "zeros" | "mean" | "geometric_median";
  /** Evenly spaced checkpoints over the run. */
  n_checkpoints: number;
  /** Folder of checkpoints, metrics and, by default, the trained SAE. */
  checkpoint_path: string;
  /** Where the trained SAE goes; `checkpoint_path/final` when empty. */
  output_path: string;
  /** Seed of initial weights and shuffling. */
  seed: number;
  /** Steps between metric lines (SAELens `wandb_log_frequency`). */
  wandb_log_frequency: number;
  /** Metric lines between evaluations of the SAE spliced into the model; 0 for none. */
  eval_every_n_wandb_logs: number;
  /** Batches per evaluation. */
  n_eval_batches: number;
  /** Rows per evaluation batch; store_batch_size_prompts when 0. */
  eval_batch_size_prompts: number;
  /** Prepend BOS to every row. */
  prepend_bos: boolean;
  /** Train on activations cached by `--cache-activations` in this folder instead of running the model. */
  cached_activations_path: string;
}

/** The settings of a run; per-SAE fields may be overridden for each entry of `saes`. */
export const RUNNER_SETTINGS: SettingsOf<RunValues & SaeTrainingValues> = {
  device: setting(
    "auto",
    "where the SAEs train: auto (webgpu on a hardware GPU, else cpu) | webgpu | cpu; SAELens's cuda and mps mean auto",
    (v: string) => trainingDevice(v) ? undefined : "one of auto, webgpu, cpu, cuda, cuda:N, mps, mps:N",
  ),
  model_name: setting("", "model folder (HF layout) or id; the embedded default model when empty"),
  model_from_pretrained_kwargs: setting<Record<string, unknown>>(
    { center_writing_weights: false },
    "TransformerLens weight processing of the model (SAELens's training default)",
  ),
  hook_name: setting("blocks.2.hook_resid_pre", "hook the SAE reads"),
  d_in: setting(0, "input width (0: from the model)", countOrZero),
  d_sae: setting(0, "latents (0: d_in x expansion_factor)", countOrZero),
  expansion_factor: setting(4, "d_sae / d_in when d_sae is 0", positiveNumber),
  architecture: setting<TrainArchitecture>("standard", TRAIN_ARCHITECTURES.join(" | "), oneOf(...TRAIN_ARCHITECTURES)),
  activation_fn: setting("", "pre-6.0 name: relu | topk"),
  ...SAE_TRAINING_SETTINGS,
  normalize_activations: setting<typeof TRAIN_NORMALIZATIONS[number]>(
    "none",
    `${TRAIN_NORMALIZATIONS.join(" | ")} (scale x by sqrt(d_in) / E|x|, folded into the saved weights)`,
    oneOf(...TRAIN_NORMALIZATIONS),
  ),
  n_batches_for_norm_estimate: setting(
    1000,
    "batches drawn to estimate expected_average_only_in's scale (SAELens's fixed 1000)",
    positiveInteger,
  ),
  lr: setting(3e-4, "peak learning rate", positiveNumber),
  lr_scheduler_name: setting<LrSchedulerName>(
    "constant",
    `${LR_SCHEDULER_NAMES.join(" | ")} (SAELens's; any case; older names ${
      Object.keys(LR_SCHEDULER_ALIASES).join(", ")
    } mean ${[...new Set(Object.values(LR_SCHEDULER_ALIASES))].join(", ")})`,
    oneOf<LrSchedulerName>(...LR_SCHEDULER_NAMES),
    LR_SCHEDULER_ALIASES,
  ),
  n_restart_cycles: setting(1, "cosine cycles of cosineannealingwarmrestarts", positiveInteger),
  lr_warm_up_steps: setting(0, "linear warm-up steps", countOrZero),
  lr_decay_steps: setting(0, "final linear decay steps", countOrZero),
  lr_end: setting(-1, "end of cosine annealing (negative: lr / 10)"),
  l1_warm_up_steps: setting(0, "linear warm-up steps of the sparsity coefficient", countOrZero),
  train_batch_size_tokens: setting(4096, "tokens per step", positiveInteger),
  training_tokens: setting(2_000_000, "tokens to train on", positiveInteger),
  context_size: setting(128, "tokens per row", positiveInteger),
  dataset_path: setting("sotu", "dataset: folder, .txt, .jsonl, .parquet, tokens .safetensors, HF id, or sotu"),
  text_column: setting("text", "text column of JSONL/Parquet data"),
  store_batch_size_prompts: setting(32, "rows per model run", positiveInteger),
  n_batches_in_buffer: setting(20, "model runs held by the mixing buffer", positiveInteger),
  shuffle_whole_corpus: setting(
    true,
    "when the corpus's activations fit in a quarter of memory, hold them all and draw each pass in a new random order (false: the mixing buffer always)",
  ),
  feature_sampling_window: setting(2000, "steps per feature-density window", positiveInteger),
  dead_feature_threshold: setting(1e-8, "density under which a latent counts as dead in the metrics"),
  resample_steps: setting(0, "steps between dead-latent resamplings (0: none)", countOrZero),
  b_dec_init_method: setting<"zeros" | "mean" | "geometric_median">(
    "geometric_median",
    "zeros | mean | geometric_median",
    oneOf("zeros", "mean", "geometric_median"),
  ),
  n_checkpoints: setting(0, "evenly spaced checkpoints", countOrZero),
  checkpoint_path: setting("checkpoints", "folder of checkpoints, metrics.jsonl and report.html"),
  output_path: setting("", "folder of the trained SAE (empty: checkpoint_path/final)"),
  seed: setting(42, "seed of weights and shuffling", countOrZero),
  wandb_log_frequency: setting(30, "steps between metric lines", positiveInteger),
  eval_every_n_wandb_logs: setting(
    100,
    "metric lines between evaluations (CE loss score, KL, ... with the SAE spliced in; not with cached activations; 0: none)",
    countOrZero,
  ),
  n_eval_batches: setting(10, "batches per evaluation", positiveInteger),
  eval_batch_size_prompts: setting(0, "rows per evaluation batch (0: store_batch_size_prompts)", countOrZero),
  prepend_bos: setting(true, "prepend BOS to every row"),
  cached_activations_path: setting("", "train on activations cached with --cache-activations"),
};

/** A run's settings. */
export type RunnerConfig = RunValues & SaeTrainingValues & {
  /** Several SAEs from one forward pass: per-SAE overrides of the fields above. */
  saes: Partial<Omit<RunnerConfig, "saes">>[];
};

/** Defaults of every field. */
export const RUNNER_DEFAULTS: RunnerConfig = { ...defaultsOf(RUNNER_SETTINGS), saes: [] };

/** One line of documentation per setting, for `--help`. */
export const RUNNER_FIELD_HELP: Record<string, string> = Object.fromEntries(
  Object.entries(RUNNER_SETTINGS).map(([field, s]) => [field, s.help]),
);

/** A SAELens runner field that is not a setting here: which values are accepted, and why. */
export interface SaeLensField {
  /** Whether a value is accepted; absent: any value (the field cannot change the result). */
  accepts?: (value: unknown) => boolean;
  /** What happens to it, for `--help` and for the error when a value is refused. */
  note: string;
  /** An older name of this setting (SAELens before 6, the SAE guide): its value goes there. */
  means?: keyof RunValues;
  /** Whether the value asks for something that only changes speed or logging, which the run says it leaves out. */
  notice?: (value: unknown) => boolean;
}

const any = (note: string): SaeLensField => ({ note });
const only = (allowed: unknown[], note: string): SaeLensField => ({
  accepts: (v) => allowed.some((a) => JSON.stringify(a) === JSON.stringify(v)),
  note,
});
/** Accepted, with a notice when the value asks for it (true, or any value but null and ""). */
const noticed = (note: string): SaeLensField => ({ note, notice: (v) => v !== false && v !== null && v !== "" });
const renamed = (means: keyof RunValues): SaeLensField => ({ note: `older name of ${means}`, means });

/** SAELens runner fields that are not settings here. */
export const SAELENS_ONLY_FIELDS: Record<string, SaeLensField> = {
  log_to_wandb: noticed("no W&B here: metrics go to metrics.jsonl and report.html"),
  wandb_project: noticed("no W&B here"),
  wandb_entity: noticed("no W&B here"),
  wandb_id: noticed("no W&B here"),
  run_name: any("no W&B here"),
  logger: any("no W&B here"),
  act_store_device: any("activations stay in host memory"),
  compile_llm: noticed("no torch.compile here (speed only)"),
  compile_sae: noticed("no torch.compile here (speed only)"),
  streaming: any("datasets are read as streams"),
  is_dataset_tokenized: any("tokenized data is recognised by its format"),
  hook_layer: any("derived from hook_name"),
  hook_point_layer: any("derived from hook_name"),
  hook_point: renamed("hook_name"),
  batch_size: renamed("train_batch_size_tokens"),
  autocast: noticed("no mixed precision here: the SAE trains in float32 (speed only)"),
  autocast_lm: noticed("no mixed precision here: the model runs in float32 (speed only)"),
  model_class_name: only(["HookedTransformer"], "every model family through TransformerLens's hook names"),
  dtype: only(["float32"], "the SAE trains in float32"),
  hook_head_index: only([null], "per-head SAEs are not trained here"),
  mse_loss_normalization: only([null, "none"], "the MSE is not normalised"),
  seqpos_slice: only([[null], [null, null]], "every position is trained on"),
  exclude_special_tokens: only([false], "special tokens are trained on"),
  disable_concat_sequences: only([false], "documents are concatenated"),
  sequence_separator_token: only(["bos"], "documents are separated by BOS"),
  save_final_checkpoint: only([false], "the final SAE is saved, not a final checkpoint"),
};
