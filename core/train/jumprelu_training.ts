/**
 * JumpReLU SAE training: f = pre · 1[pre > θ] with θ = exp(log_threshold), an L0 term, and the
 * straight-through estimator with a rectangle kernel of width `jumprelu_bandwidth` for θ's gradient.
 *
 * @module
 */

import type { CpuTrainingParts } from "./cpu_step.ts";
import { positiveNumber, setting } from "./setting.ts";
import type { SaeTrainingValues, SettingsOf } from "./sae_training_config.ts";

import { vec } from "./standard_training.ts";
import { encodeInto, filled, plainEncoderGradients, type TrainingArchitecture } from "./training_architecture.ts";

/** JumpReLU's own settings. */
export const JUMPRELU_SETTINGS: SettingsOf<Pick<SaeTrainingValues, "jumprelu_bandwidth" | "jumprelu_init_threshold">> =
  {
    jumprelu_bandwidth: setting(0.05, "JumpReLU straight-through bandwidth", positiveNumber),
    jumprelu_init_threshold: setting(0.01, "JumpReLU initial threshold", positiveNumber),
  };

/**
 * JumpReLU's CPU step: f = pre where pre > θ; ∂pre passes where it fires, and log θ's straight-through gradient
 * θ · (−(θ/ε) ∂f − λ/ε) where |pre − θ| < ε/2 (ε the bandwidth), as `train_backward.wgsl`.
 */
const JUMPRELU_CPU: CpuTrainingParts = {
  forward(s) {
    const pre = s.gemm(s.xin, s.param("W_enc"), { bias: s.param("b_enc") });
    const theta = s.op("Exp", [s.param("log_threshold")]);
    return { kind: "dense", pre, acts: s.where(s.op("Greater", [pre, theta]), pre) };
  },
  backward(s, f, dActs) {
    if (f.kind !== "dense") throw new TypeError("JumpReLU training decodes dense features");
    const theta = s.op("Exp", [s.param("log_threshold")]);
    const bandwidth = s.c(s.cfg.jumprelu_bandwidth);
    const dPre = s.where(s.op("Greater", [f.pre, theta]), dActs);
    const inside = s.op("Less", [s.op("Abs", [s.op("Sub", [f.pre, theta])]), s.c(s.cfg.jumprelu_bandwidth / 2)]);
    const perToken = s.op("Add", [
      s.op("Mul", [s.op("Div", [theta, bandwidth]), dActs]),
      s.op("Div", [s.lambda, bandwidth]),
    ]);
    s.grad("log_threshold", s.columnSum(s.where(inside, s.op("Neg", [s.op("Mul", [theta, perToken])]))));
    s.encoderGrads(dPre, { w: s.param("W_enc"), bias: "b_enc" });
  },
};

/** JumpReLU SAE training. */
export const JUMPRELU: TrainingArchitecture = {
  name: "jumprelu",
  settings: JUMPRELU_SETTINGS,
  cpu: JUMPRELU_CPU,
  decoder: "free",
  sparsity: "l0",
  parameters: (cfg) => ({
    encoder: [["b_enc", filled(cfg.d_sae)]],
    extra: [["log_threshold", filled(cfg.d_sae, Math.log(cfg.jumprelu_init_threshold))]],
  }),
  resampled: ["b_enc"],
  forward(ctx) {
    encodeInto(ctx, ctx.param("W_enc").value, ctx.param("b_enc").value, ctx.s.pre);
    ctx.kernels.elementwise(ctx.enc, "jumprelu", { count: ctx.rows * ctx.cfg.d_sae, cols: ctx.cfg.d_sae }, {
      src: ctx.s.pre,
      dst: ctx.s.acts,
      col: ctx.param("log_threshold").value,
    });
  },
  auxiliaryTerm: () => undefined,
  backward(ctx) {
    ctx.kernels.backward(ctx.enc, "jumprelu", {
      count: ctx.rows * ctx.cfg.d_sae,
      c1: ctx.lambdaPerRow,
      c2: ctx.cfg.jumprelu_bandwidth,
      flag: 0,
    }, {
      pre: ctx.s.pre,
      dActs: ctx.s.dActs,
      col: ctx.param("log_threshold").value,
      dPre: ctx.s.dPre,
      dSecond: ctx.s.dPreSecond,
    });
  },
  encoderGradients(ctx) {
    plainEncoderGradients(ctx);
    ctx.kernels.columnSum(ctx.enc, ctx.s.dPreSecond, ctx.param("log_threshold").grad, {
      rows: ctx.rows,
      cols: ctx.cfg.d_sae,
    });
  },
  inputBiases: ({ param }) => [[param("W_enc").value, param("b_enc").grad]],
  toInference: ({ params, norms, scaled }) => ({
    architecture: "jumprelu",
    weights: {
      b_enc: vec(scaled("b_enc")),
      threshold: vec(Float32Array.from(params.get("log_threshold")!, (v, j) => Math.exp(v) * norms[j])),
    },
    cfg: {},
  }),
};
