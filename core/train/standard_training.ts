/**
 * Standard (ReLU) SAE training: L1 on f · ‖W_dec,i‖, optional ghost grads for dead latents (SAELens ≤ 5).
 *
 * @module
 */

import { setting } from "./setting.ts";
import type { SaeTrainingValues, SettingsOf } from "./sae_training_config.ts";

import {
  encodeInto,
  filled,
  fitAuxiliary,
  plainEncoderGradients,
  type TrainingArchitecture,
} from "./training_architecture.ts";

/** Standard training's own settings. */
export const STANDARD_SETTINGS: SettingsOf<Pick<SaeTrainingValues, "use_ghost_grads">> = {
  use_ghost_grads: setting(false, "ghost grads on dead latents (standard)"),
};

/** Standard SAE training. */
export const STANDARD: TrainingArchitecture = {
  name: "standard",
  settings: STANDARD_SETTINGS,
  decoder: "free",
  sparsity: "l1_decoder_norm",
  parameters: (cfg) => ({ encoder: [["b_enc", filled(cfg.d_sae)]], extra: [] }),
  resampled: ["b_enc"],
  forward(ctx) {
    encodeInto(ctx, ctx.param("W_enc").value, ctx.param("b_enc").value, ctx.s.pre);
    ctx.kernels.elementwise(ctx.enc, "relu", { count: ctx.rows * ctx.cfg.d_sae, cols: ctx.cfg.d_sae }, {
      src: ctx.s.pre,
      dst: ctx.s.acts,
    });
  },
  auxiliaryTerm: (cfg, deadCount) =>
    cfg.use_ghost_grads && deadCount > 0
      ? { name: "ghost_grad_loss", loss: (sum, batch) => sum / (batch * cfg.d_in), reachesPre: true }
      : undefined,
  auxiliary(ctx) {
    const wide = { count: ctx.rows * ctx.cfg.d_sae, cols: ctx.cfg.d_sae };
    ctx.kernels.elementwise(ctx.enc, "ghost_acts", wide, { src: ctx.s.pre, dst: ctx.s.auxActs, col: ctx.deadMask });
    const scale = 1 / (ctx.batch * ctx.cfg.d_in);
    fitAuxiliary(ctx, { entry: "ghost", scale, againstResidual: true, decoderGrad: true });
  },
  backward(ctx, term) {
    const s = ctx.s;
    ctx.kernels.backward(ctx.enc, "standard", {
      count: ctx.rows * ctx.cfg.d_sae,
      c1: ctx.lambdaPerRow,
      c2: 0,
      flag: term?.reachesPre ? 1 : 0,
    }, { acts: s.acts, pre: term ? s.auxActs : s.pre, dActs: s.dActs, dAux: s.dAuxActs, col: ctx.norms, dPre: s.dPre });
  },
  encoderGradients: plainEncoderGradients,
  inputBiases: ({ param }) => [[param("W_enc").value, param("b_enc").grad]],
  toInference: ({ scaled }) => ({ architecture: "standard", weights: { b_enc: vec(scaled("b_enc")) }, cfg: {} }),
};

/** A per-latent vector as a weight. */
export const vec = (data: Float32Array): { shape: number[]; data: Float32Array } => ({ shape: [data.length], data });
