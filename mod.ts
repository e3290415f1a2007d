/**
 * Sparse autoencoders on WebGPU: load SAELens, sparsify and Gemma Scope SAEs, and run their
 * encode/decode as WGSL kernels (lavapipe runs them on machines without a GPU) or on ONNX Runtime's CPU kernels;
 * run the models they were trained on (GPT-2, Llama, Mistral, Qwen 2/3, Gemma 1/2/3, Pythia) through ONNX Runtime
 * with TransformerLens's hook points (`HookedTransformer`: runWithCache, runWithHooks, generate).
 *
 * @example Encode activations and list the strongest features of each token
 * ```ts ignore
 * import { SAE, topFeatures } from "@sae/cli";
 *
 * const sae = await SAE.load("path/to/sae-folder");
 * const acts = { shape: [1, sae.cfg.d_in], data: new Float32Array(sae.cfg.d_in) };
 * const features = sae.encode(acts);
 * console.log(await topFeatures(features, 5));
 * ```
 *
 * @example Cache Gemma 2's residual stream where a Gemma Scope SAE reads it
 * ```ts ignore
 * import { HookedTransformer } from "@sae/cli";
 *
 * const model = await HookedTransformer.load("gemma-2-2b"); // Hugging Face Hub, or a local folder
 * const { cache } = await model.runWithCache("Hello world", { names: ["blocks.12.hook_resid_post"], stopAtLayer: 13 });
 * ```
 *
 * @example Run GPT-2 with an SAE spliced in and cache its hook points (SAELens HookedSAETransformer)
 * ```ts ignore
 * import { HookedSaeTransformer, SAE } from "@sae/cli";
 *
 * const model = await HookedSaeTransformer.load("gpt2");
 * const sae = await SAE.fromPretrained("gpt2-small-res-jb", "blocks.8.hook_resid_pre");
 * const { cache } = await model.runWithCacheWithSaes("Hello world", [sae], { useErrorTerm: true });
 * console.log(cache.get("blocks.8.hook_resid_pre.hook_sae_acts_post")!.shape); // [1, 3, 24576]
 * ```
 *
 * @module
 */

export { SAE } from "./core/sae/sae.ts";
export type { EncodeDecodeResult, SaeInput, SaeOptions } from "./core/sae/sae.ts";
export { parseSaeLensConfig, toSaeLensJson } from "./core/sae/config.ts";
export type { SaeConfig, SaeMetadata } from "./core/sae/config.ts";
export type { Architecture, SaeWeights } from "./core/sae/architecture.ts";
export type { Binding, WgslSource } from "./core/gpu/pipelines.ts";
export { architectureNames, getArchitecture, registerArchitecture } from "./core/sae/registry.ts";
export { topFeatures } from "./core/sae/top_features.ts";
export type { FeatureActivation } from "./core/sae/top_features.ts";
export { reconstructionStats } from "./core/eval/reconstruction.ts";
export type { ReconstructionStats } from "./core/eval/reconstruction.ts";
export { getGpu, GpuError, GpuUnavailableError, requestGpu } from "./core/gpu/device.ts";
export type { Gpu, RequestGpuOptions } from "./core/gpu/device.ts";
export { BufferLimitError, GpuTensor } from "./core/gpu/tensor.ts";
export type { HostTensor, RowChunk } from "./core/gpu/tensor.ts";
export { readSae } from "./core/sae/read_sae.ts";
export type { SaeFormat, SaeOnDisk } from "./core/sae/read_sae.ts";
export {
  encodeSafetensors,
  parseSafetensors,
  readSafetensors,
  toFloat32,
  toIntegers,
  writeSafetensors,
} from "./core/io/safetensors.ts";
export type { SafetensorsDtype, SafetensorsEntry, SafetensorsFile, TensorToWrite } from "./core/io/safetensors.ts";
export { NORMALIZE_MODES } from "./core/ops/normalize.ts";
export type { NormalizeMode } from "./core/ops/normalize.ts";
export { HookedTransformer } from "./core/lm/hooked_transformer.ts";
export type { LoadOptions } from "./core/lm/hooked_transformer.ts";
export type { ReplacementRun, ReplacementRunOptions } from "./core/lm/replacement_run.ts";
export type { Backend } from "./core/lm/ort_backend.ts";
export type { HookContext, HookFn } from "./core/lm/hook_fn.ts";
export type {
  CachedOutput,
  GenerateOptions,
  GenerateOutput,
  ModelInput,
  ModelOutput,
  ModelOutputFields,
  ResidualOutput,
  ReturnType,
  RunOptions,
  RunWithCacheOptions,
  RunWithHooksOptions,
} from "./core/lm/run_options.ts";
export { readModelCheckpoint, readModelConfig } from "./core/lm/model_checkpoint.ts";
export type { ModelCheckpoint, ModelDtype } from "./core/lm/model_checkpoint.ts";
export type {
  ActivationFunction,
  Normalization,
  RotaryConfig,
  RotaryScaling,
  TransformerConfig,
} from "./core/lm/transformer_config.ts";
export type { BlockWeights, Linear, NormWeights, TransformerWeights } from "./core/lm/transformer_weights.ts";
export { WeightTensor } from "./core/lm/weight_tensor.ts";
export type { WeightDtype } from "./core/lm/weight_tensor.ts";
export { familyOf, MODEL_FAMILIES } from "./core/lm/model_families.ts";
export type { ModelFamily } from "./core/lm/model_family.ts";
export { HfConfig } from "./core/lm/hf_config.ts";
export { CheckpointTensors } from "./core/lm/checkpoint_tensors.ts";
export type { WeightStorage } from "./core/lm/checkpoint_tensors.ts";
export { NO_PROCESSING, processesInPlace, processingFromKwargs, processWeights } from "./core/lm/process_weights.ts";
export type { AppliedProcessing, WeightProcessing } from "./core/lm/process_weights.ts";
export { BLOCK_HOOKS, blockHooks, checkHookName, hookNames, hookWidth } from "./core/lm/hook_points.ts";
export type { HookShape } from "./core/lm/hook_points.ts";
export { END_OF_TEXT, ModelTokenizer } from "./core/lm/model_tokenizer.ts";
export type { BosRule, ToTokensOptions } from "./core/lm/model_tokenizer.ts";
export { sampleToken } from "./core/lm/sampling.ts";
export type { SamplingOptions } from "./core/lm/sampling.ts";
export { findModelRepo, MODEL_ALIASES, modelRepoId, resolveModelDir } from "./core/lm/model_source.ts";
export { hfHubDownload } from "./core/hub/hf_hub.ts";
export { hfListFiles } from "./core/hub/hf_list_files.ts";
export { EntryNotFoundError, HubError } from "./core/hub/hub_error.ts";
export { hubSettings } from "./core/hub/hub_settings.ts";
export type { HubOptions, RepoType } from "./core/hub/hub_settings.ts";
export { repoCacheDir } from "./core/hub/repo_cache.ts";
export { applyConfigOverrides } from "./core/sae/config.ts";
export { lookupRelease, releaseOverrides, RELEASES, RELEASES_LEFT_OUT, RELEASES_SOURCE } from "./core/sae/releases.ts";
export type { Release, ReleaseSae } from "./core/sae/releases.ts";
export { releaseSaeHook } from "./core/sae/release_hooks.ts";
export { planPretrained, pullPretrained, resolveSaeSource } from "./core/sae/pretrained.ts";
export type { PlannedFile, PulledSae, PullPlan } from "./core/sae/pretrained.ts";
export { readTorchStateDict } from "./core/io/torch_checkpoint.ts";
export { EMBEDDED_MODEL_NAME, EMBEDDED_PROMPT, embeddedModel, embeddedSae } from "./core/embedded.ts";
export { saeInput, saeSite, writeSaeOutput } from "./core/sae/sae_on_model.ts";
export type { SaeSite } from "./core/sae/sae_on_model.ts";
export { encodeText, encodeTokens } from "./core/analysis/encode_text.ts";
export type { TextFeatures } from "./core/analysis/encode_text.ts";
export { featurePeak } from "./core/analysis/feature_probe.ts";
export type { FeaturePeak } from "./core/analysis/feature_probe.ts";
export { logitAttribution } from "./core/analysis/logit_attribution.ts";
export type { FeatureContribution, LogitAttribution } from "./core/analysis/logit_attribution.ts";
export { steer, STEER_POSITIONS, steeringHook } from "./core/analysis/steering.ts";
export type { Steering, SteerOptions, SteerPositions } from "./core/analysis/steering.ts";
export { ablateFeatures } from "./core/analysis/ablation.ts";
export type { Ablation, FeatureAblation, SetAblation } from "./core/analysis/ablation.ts";
export { formatPromptTest, testPrompt } from "./core/analysis/test_prompt.ts";
export type {
  AnswerPrediction,
  NextToken,
  PromptRun,
  PromptRunKind,
  PromptTest,
  TestPromptOptions,
} from "./core/analysis/test_prompt.ts";
export { sharedFeatures } from "./core/analysis/compare_prompts.ts";
export type { SharedFeature } from "./core/analysis/compare_prompts.ts";
export { NEURONPEDIA, neuronpediaFeatureUrl, neuronpediaQuickListUrl } from "./core/analysis/neuronpedia.ts";
export { closeMatches } from "./core/util/close_matches.ts";
export { checkFeatureIndex, checkTokenId } from "./core/analysis/index_checks.ts";
export { loadSaeAndModel, UnnamedModelError } from "./core/analysis/load_sae_and_model.ts";
export type { SaeAndModel, SaeAndModelOptions } from "./core/analysis/load_sae_and_model.ts";
export { concatAndChunk } from "./core/data/token_rows.ts";
export { resolveDocuments, SOTU } from "./core/data/documents.ts";
export type { Document, DocumentOptions, DocumentSource } from "./core/data/documents.ts";
export { openTokenDataset } from "./core/data/token_dataset.ts";
export type { TokenDataset, TokenDatasetOptions } from "./core/data/token_dataset.ts";
export { ReconstructionSums } from "./core/eval/reconstruction.ts";
export type { ReconstructionMeans } from "./core/eval/reconstruction.ts";
export { histogram, integerHistogram } from "./core/eval/histogram.ts";
export type { Histogram } from "./core/eval/histogram.ts";
export { DENSE_DENSITY, evaluateSae } from "./core/eval/evaluate_sae.ts";
export type { EvaluateOptions, SaeEvaluation } from "./core/eval/evaluate_sae.ts";
export { featureDashboards } from "./core/analysis/feature_dashboard.ts";
export type {
  DashboardActivation,
  DashboardFeature,
  DashboardOptions,
  FeatureDashboards,
} from "./core/analysis/feature_dashboard.ts";
export { pullBack, pushForward } from "./core/analysis/hook_to_residual.ts";
export { dashboardHtml } from "./core/report/dashboard_html.ts";
export type { DashboardLabels } from "./core/report/dashboard_html.ts";
export { evalReportHtml } from "./core/report/eval_report.ts";
export type { EvalReportLabels } from "./core/report/eval_report.ts";
export { escapeHtml, histogramSvg, htmlPage, scatterSvg } from "./core/report/html.ts";
export type { HistogramSvgOptions, ScatterPoint, ScatterSvgOptions } from "./core/report/html.ts";
export { encodeReportHtml } from "./core/report/encode_report.ts";
export type { EncodeReportLabels } from "./core/report/encode_report.ts";
export { compareReportHtml } from "./core/report/compare_report.ts";
export type { CompareReportLabels } from "./core/report/compare_report.ts";
export { l0Histogram, l0HistogramFigure } from "./core/report/l0_histogram_figure.ts";
export { SaeTrainer } from "./core/train/sae_trainer.ts";
export { NonFiniteError, stepResult } from "./core/train/step_result.ts";
export type { StepCoefficients, StepReadback, StepResult } from "./core/train/step_result.ts";
export { TRAINING_ARCHITECTURES, trainingArchitecture } from "./core/train/training_architectures.ts";
export { SPARSE_TOPK_MAX_ROWS, SparseTopK } from "./core/train/sparse_topk.ts";
export type { LatentRange, SparseSelectOptions, SparseTopKOptions } from "./core/train/sparse_topk.ts";
export type {
  AuxiliaryTerm,
  ParameterBuffers,
  SparseLists,
  StepBuffers,
  StepContext,
  TrainingArchitecture,
} from "./core/train/training_architecture.ts";
export { TrainKernels } from "./core/train/train_kernels.ts";
export { GraphBuilder } from "./core/cpu/graph_builder.ts";
export type {
  AttributeValue,
  OnnxDtype,
  OnnxGraph,
  OnnxNode,
  OnnxTensor,
  OnnxValueInfo,
} from "./core/util/onnx_proto.ts";
export { CpuStep, stepGraph } from "./core/train/cpu_step.ts";
export type { CpuFeatures, CpuTrainingParts, PerRow } from "./core/train/cpu_step.ts";
export { CpuTrainerEngine } from "./core/train/cpu_trainer_engine.ts";
export { GpuTrainerEngine } from "./core/train/gpu_trainer_engine.ts";
export type { EngineReadback, EngineStepInput, TrainerEngine } from "./core/train/trainer_engine.ts";
export type { MatmulShape, ResidualEntry } from "./core/train/train_kernels.ts";
export { initialParameters } from "./core/train/initial_parameters.ts";
export type { SaeTrainerOptions, TrainerState } from "./core/train/sae_trainer.ts";
export type { ParameterMap } from "./core/train/initial_parameters.ts";
export {
  levelWidths,
  SAE_TRAINING_DEFAULTS,
  SAE_TRAINING_SETTINGS,
  selectsByRank,
  TRAIN_ARCHITECTURES,
} from "./core/train/sae_training_config.ts";
export type {
  SaeTrainingConfig,
  SaeTrainingValues,
  SettingsOf,
  TrainArchitecture,
} from "./core/train/sae_training_config.ts";
export { ActivationStore } from "./core/train/activation_store.ts";
export type { ActivationSource, ActivationStoreOptions, ActivationStoreState } from "./core/train/activation_store.ts";
export { resolveRunnerConfig } from "./core/train/runner_config.ts";
export type { ResolvedRun } from "./core/train/runner_config.ts";
export {
  RUNNER_DEFAULTS,
  RUNNER_FIELD_HELP,
  RUNNER_SETTINGS,
  SAELENS_ONLY_FIELDS,
  TRAIN_NORMALIZATIONS,
  trainingDevice,
} from "./core/train/runner_settings.ts";
export type { RunnerConfig, RunValues, SaeLensField } from "./core/train/runner_settings.ts";
export { countOrZero, defaultsOf, oneOf, positiveInteger, positiveNumber, setting } from "./core/train/setting.ts";
export type { Setting } from "./core/train/setting.ts";
export { trainSae } from "./core/train/train_sae.ts";
export { saeDevice, trainingEvaluator } from "./core/train/training_evals.ts";
export type { TrainingEvaluator } from "./core/train/training_evals.ts";
export type { TrainSaeOptions, TrainSaeResult } from "./core/train/train_sae.ts";
export { openTrainingRun } from "./core/train/training_run.ts";
export type { TrainingRun } from "./core/train/training_run.ts";
export { learningRate, LR_SCHEDULER_ALIASES, LR_SCHEDULER_NAMES, warmedUpCoefficient } from "./core/train/schedules.ts";
export type { LrSchedule, LrSchedulerName } from "./core/train/schedules.ts";
export { geometricMedian } from "./core/train/geometric_median.ts";
export { resampleDeadLatents } from "./core/train/resample_dead.ts";
export { CHECKPOINT_FILE, readCheckpoint, readCheckpointMeta, writeCheckpoint } from "./core/train/checkpoint.ts";
export type { Checkpoint, CheckpointMeta } from "./core/train/checkpoint.ts";
export { inferenceSae, saveTrainedSae } from "./core/train/save_trained_sae.ts";
export type { TrainedSae } from "./core/train/save_trained_sae.ts";
export { cacheActivations, openActivationCache } from "./core/train/cached_activations.ts";
export type { ActivationCacheInfo } from "./core/train/cached_activations.ts";
export { trainSaes } from "./core/train/train_saes.ts";
export { outputFolders } from "./core/train/output_folders.ts";
export { RESUME_OVERRIDABLE, resumeSettings } from "./core/train/resume_settings.ts";
export { CORPUS_MEMORY_SHARE, planSampling } from "./core/train/sampling_plan.ts";
export type { SamplingInputs, SamplingPlan } from "./core/train/sampling_plan.ts";
export { METRICS_FILE, readMetrics } from "./core/train/metrics_log.ts";
export type { MetricsLine } from "./core/train/metrics_log.ts";
export type { PhaseProgress, TrainProgress, TrainResult, TrainSaesOptions } from "./core/train/train_saes.ts";
export { trainingReportHtml } from "./core/report/training_report.ts";
export { HEALTHY, sparsityVerdict } from "./core/eval/sparsity_verdict.ts";
export type { SparsityVerdict, VerdictCheck } from "./core/eval/sparsity_verdict.ts";
export type { TrainingReportSae } from "./core/report/training_report.ts";
export { writeSaeFolder } from "./core/sae/write_sae.ts";
export { mulberry32 } from "./core/util/mulberry32.ts";
export type { SeededRandom } from "./core/util/mulberry32.ts";
export { appliedStrength, steeringScale, STRENGTH_RELATIVE_TO } from "./core/analysis/steering.ts";
export type { SteeringScale, StrengthRelativeTo } from "./core/analysis/steering.ts";
export type { AblateOptions } from "./core/analysis/ablation.ts";
export { checkNeuronpediaId } from "./core/analysis/neuronpedia.ts";
export type { EvalSoFar } from "./core/eval/evaluate_sae.ts";
export { densitySampleWarning } from "./core/report/eval_report.ts";
export { withTransformerLensNames } from "./core/lm/transformer_config.ts";
export type { HookedTransformerConfig, TransformerLensConfigNames } from "./core/lm/transformer_config.ts";
export { hookReached } from "./core/lm/hook_points.ts";
export {
  rightMultiplied,
  stackLayers,
  TransformerLensAttention,
  TransformerLensBlock,
  TransformerLensMlp,
  transformerLensNorm,
} from "./core/lm/transformer_lens_weights.ts";
export type { TransformerLensNorm } from "./core/lm/transformer_lens_weights.ts";
export type { EncodeWithHiddenPreResult } from "./core/sae/sae.ts";
export type { BoundWgsl } from "./core/sae/architecture.ts";
export { applyHookFns } from "./core/lm/hook_fn.ts";
export { HookedSaeTransformer } from "./core/analysis/hooked_sae_transformer.ts";
export type { AddSaeOptions, WithSaesOptions } from "./core/analysis/hooked_sae_transformer.ts";
export { SAE_HOOK_POINTS } from "./core/analysis/sae_hook_points.ts";
export type { SaeHookPoint } from "./core/analysis/sae_hook_points.ts";
export { CpuTensor } from "./core/cpu/cpu_tensor.ts";
export type { Tensor } from "./core/util/tensor.ts";
export { deviceForAdapter, DEVICES, isFallbackAdapter, resolveDevice } from "./core/sae/device.ts";
export type { Device } from "./core/sae/device.ts";
export type { CpuGraph, CpuGraphParts } from "./core/sae/architecture.ts";
export { describeAdapter } from "./core/gpu/device.ts";
export type { AdapterDescription } from "./core/gpu/device.ts";
