/**
 * BatchTopK SAE training: TopK's parts with one threshold over the whole batch (k × rows kept), a running
 * threshold θ ← (1 − r)θ + r · min kept, and saving as the JumpReLU SAE with that θ.
 *
 * @module
 */

import { setting } from "./setting.ts";
import type { SaeTrainingValues, SettingsOf } from "./sae_training_config.ts";

import { vec } from "./standard_training.ts";
import { keepLargest, TOPK, TOPK_CPU } from "./topk_training.ts";
import type { TrainingArchitecture } from "./training_architecture.ts";

/** BatchTopK's own settings. */
export const BATCHTOPK_SETTINGS: SettingsOf<Pick<SaeTrainingValues, "topk_threshold_lr">> = {
  topk_threshold_lr: setting(
    0.01,
    "BatchTopK threshold moving-average rate",
    (v: number) => v > 0 && v <= 1 ? undefined : "a number in (0, 1]",
  ),
};

/** BatchTopK SAE training. */
export const BATCHTOPK: TrainingArchitecture = {
  ...TOPK,
  name: "batchtopk",
  settings: BATCHTOPK_SETTINGS,
  sparse: { batch: true, keptPerRow: (cfg) => cfg.k },
  forward: (ctx, term) => keepLargest(ctx, true, term),
  cpu: TOPK_CPU,
  updateThreshold: (threshold, minKept, cfg) =>
    minKept === undefined ? threshold : (1 - cfg.topk_threshold_lr) * threshold + cfg.topk_threshold_lr * minKept,
  toInference: ({ scaled, norms, batchThreshold }) => ({
    architecture: "jumprelu",
    weights: { b_enc: vec(scaled("b_enc")), threshold: vec(Float32Array.from(norms, (n) => batchThreshold * n)) },
    cfg: {},
  }),
};
