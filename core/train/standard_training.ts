/**
 * Standard (ReLU) SAE training: L1 on f · ‖W_dec,i‖ (or, with SAELens's `lp_norm` p, the mean over tokens of the
 * p-norm of f · ‖W_dec,i‖), optional ghost grads for dead latents (SAELens ≤ 5).
 *
 * @module
 */

import type { CpuStep, CpuTrainingParts } from "./cpu_step.ts";
import { setting } from "./setting.ts";
import type { SaeTrainingValues, SettingsOf } from "./sae_training_config.ts";

import {
  encodeInto,
  encoderWeightGrad,
  filled,
  fitAuxiliary,
  plainEncoderGradients,
  type TrainingArchitecture,
} from "./training_architecture.ts";

/** Standard training's own settings. */
export const STANDARD_SETTINGS: SettingsOf<Pick<SaeTrainingValues, "use_ghost_grads" | "lp_norm">> = {
  use_ghost_grads: setting(false, "ghost grads on dead latents (standard)"),
  lp_norm: setting(
    1,
    "p of the sparsity term's per-token norm (standard): 1 the L1, 2 the L2, any p >= 1",
    (v) => v >= 1 ? undefined : "a number >= 1 (p of the sparsity term's norm)",
  ),
};

/** Ghost grads on the CPU: the dead latents' exp(pre) decoded and fitted to the residual; ∂/∂pre [rows, d_sae]. */
function ghostGrads(s: CpuStep, pre: string): string {
  const dead = s.op("Greater", [s.deadMask, s.c(0)]);
  const ghostActs = s.where(dead, s.op("Exp", [pre]));
  const wDec = s.param("W_dec");
  const out = s.gemm(ghostActs, wDec);
  const residual = s.op("Sub", [s.x, s.recon]);
  const norm = (a: string) => s.op("Sqrt", [s.rowSum(s.op("Mul", [a, a]))]);
  // the scale and the ratio are detached, as train_residual.wgsl's ghost entry
  const scale = s.op("Div", [norm(residual), s.op("Add", [s.op("Mul", [norm(out), s.c(2)]), s.c(1e-6)])]);
  const diff = s.op("Sub", [s.op("Mul", [scale, out]), residual]);
  const e = s.op("Mul", [diff, diff]);
  const ratio = s.op("Div", [s.op("Mul", [residual, residual]), s.op("Add", [e, s.c(1e-6)])]);
  s.stat(1, s.rowSum(s.op("Mul", [ratio, e])));
  const dOut = s.op("Mul", [s.op("Mul", [s.op("Mul", [ratio, diff]), scale]), s.op("Mul", [s.auxScale, s.c(2)])]);
  s.grad("W_dec", s.gemm(ghostActs, dOut, { transA: true }));
  return s.op("Mul", [s.gemm(dOut, wDec, { transB: true }), ghostActs]);
}

/**
 * The sparsity term's ∂/∂f per element over λ/batch for lp_norm p ≠ 1: c_i · (w_i / ‖w‖_p)^(p−1) with w = f · c (c the
 * decoder norms, or 1), 0 where the row's norm is 0. It also sets the per-latent sums Σ_b f · (w / ‖w‖_p)^(p−1), whose
 * dot with c is Σ_b ‖w_b‖_p (the term's value) and which pull on the decoder norms as Σ_b f does for p = 1. The norm
 * is taken of w over its row's largest entry, so w^p cannot overflow.
 */
function lpNormFactor(s: CpuStep, acts: string): string {
  const p = s.cfg.lp_norm, tiny = s.c(1e-30);
  const w = s.op("Mul", [acts, s.norms]);
  const top = s.op("ReduceMax", [w], { axes: [1], keepdims: 1 });
  const scaled = s.op("Pow", [s.op("Div", [w, s.op("Max", [top, tiny])]), s.c(p)]);
  const norm = s.op("Mul", [top, s.op("Pow", [s.rowSum(scaled), s.c(1 / p)])]);
  const weight = s.op("Pow", [s.op("Div", [w, s.op("Max", [norm, tiny])]), s.c(p - 1)]);
  s.actSums = s.columnSum(s.op("Mul", [acts, weight]));
  return s.op("Mul", [s.norms, weight]);
}

/**
 * Standard training's CPU step: ReLU features; ∂pre adds λ‖W_dec,i‖ where a latent fires (scaled per element for
 * lp_norm ≠ 1), and ghost grads.
 */
const STANDARD_CPU: CpuTrainingParts = {
  forward(s) {
    const pre = s.gemm(s.xin, s.param("W_enc"), { bias: s.param("b_enc") });
    return { kind: "dense", pre, acts: s.op("Relu", [pre]) };
  },
  backward(s, f, dActs) {
    if (f.kind !== "dense") throw new TypeError("Standard training decodes dense features");
    const fires = s.op("Greater", [f.acts, s.c(0)]);
    const sparsity = s.cfg.lp_norm === 1 ? s.norms : lpNormFactor(s, f.acts);
    let dPre = s.where(fires, s.op("Add", [dActs, s.op("Mul", [s.lambda, sparsity])]));
    if (s.term) dPre = s.op("Add", [dPre, ghostGrads(s, f.pre)]);
    s.encoderGrads(dPre, { w: s.param("W_enc"), bias: "b_enc" });
  },
};

/** Standard SAE training. */
export const STANDARD: TrainingArchitecture = {
  name: "standard",
  settings: STANDARD_SETTINGS,
  cpu: STANDARD_CPU,
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
      ? {
        name: "ghost_grad_loss",
        loss: (sum, batch) => sum / (batch * cfg.d_in),
        gradScale: (batch) => 1 / (batch * cfg.d_in),
        reachesPre: true,
      }
      : undefined,
  auxiliary(ctx, term) {
    const wide = { count: ctx.rows * ctx.cfg.d_sae, cols: ctx.cfg.d_sae };
    ctx.kernels.elementwise(ctx.enc, "ghost_acts", wide, { src: ctx.s.pre, dst: ctx.s.auxActs, col: ctx.deadMask });
    fitAuxiliary(ctx, { entry: "ghost", scale: term.gradScale(ctx.batch), againstResidual: true, decoderGrad: true });
  },
  backward(ctx, term) {
    const s = ctx.s, lp = ctx.cfg.lp_norm !== 1;
    // the engine allocates lpFactors whenever lp_norm is not 1
    if (lp) {
      ctx.kernels.lpFactors(ctx.enc, { rows: ctx.rows, p: ctx.cfg.lp_norm }, {
        acts: s.acts,
        col: ctx.norms,
        factors: s.lpFactors!,
      });
    }
    ctx.kernels.backward(ctx.enc, lp ? "standard_lp" : "standard", {
      count: ctx.rows * ctx.cfg.d_sae,
      c1: ctx.lambdaPerRow,
      c2: 0,
      flag: term?.reachesPre ? 1 : 0,
    }, {
      acts: s.acts,
      pre: term ? s.auxActs : s.pre,
      dActs: s.dActs,
      dAux: s.dAuxActs,
      col: ctx.norms,
      dPre: s.dPre,
      lpFactors: lp ? s.lpFactors : undefined,
    });
  },
  encoderGradients(ctx) {
    if (ctx.cfg.lp_norm === 1) return plainEncoderGradients(ctx);
    // the sums the decoder norms' gradient and the term's value take: Σ_b f · (w / ‖w‖_p)^(p−1)
    const size = { rows: ctx.rows, cols: ctx.cfg.d_sae };
    encoderWeightGrad(ctx, ctx.s.dPre, ctx.param("W_enc").grad, true);
    ctx.kernels.columnSum(ctx.enc, ctx.s.dPre, ctx.param("b_enc").grad, size);
    ctx.kernels.columnProducts(ctx.enc, { v: ctx.s.acts, factors: ctx.s.lpFactors!, out: ctx.actSums }, size);
  },
  inputBiases: ({ param }) => [[param("W_enc").value, param("b_enc").grad]],
  toInference: ({ scaled }) => ({ architecture: "standard", weights: { b_enc: vec(scaled("b_enc")) }, cfg: {} }),
};

/** A per-latent vector as a weight. */
export const vec = (data: Float32Array): { shape: number[]; data: Float32Array } => ({ shape: [data.length], data });
