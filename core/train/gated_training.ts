/**
 * Gated SAE training: a gate path π_gate = x W_enc + b_gate and a magnitude path with W_enc ⊙ exp(r_mag),
 * f = 1[π_gate > 0] · ReLU(π_mag), L1 on ReLU(π_gate) · ‖W_dec,i‖, and the auxiliary reconstruction from
 * ReLU(π_gate) through a frozen copy of the decoder.
 *
 * @module
 */

import type { CpuTrainingParts } from "./cpu_step.ts";
import { vec } from "./standard_training.ts";
import {
  encodeInto,
  encoderWeightGrad,
  filled,
  fitAuxiliary,
  type TrainingArchitecture,
} from "./training_architecture.ts";

/** W_enc ⊙ exp(r_mag) on the CPU. */
const magnitudeWeights = (s: Parameters<CpuTrainingParts["forward"]>[0]) =>
  s.op("Mul", [s.param("W_enc"), s.op("Exp", [s.param("r_mag")])]);

/**
 * Gated's CPU step: the gate and magnitude paths; the auxiliary term decodes ReLU(π_gate) through the frozen decoder
 * (no ∂W_dec, no ∂b_dec from it); W_enc's gradient gathers both paths, r_mag's the magnitude path's.
 */
const GATED_CPU: CpuTrainingParts = {
  forward(s) {
    const pre = s.gemm(s.xin, s.param("W_enc"), { bias: s.param("b_gate") });
    const preMag = s.gemm(s.xin, magnitudeWeights(s), { bias: s.param("b_mag") });
    return { kind: "dense", pre, acts: s.where(s.op("Greater", [pre, s.c(0)]), s.op("Relu", [preMag])) };
  },
  backward(s, f, dActs) {
    if (f.kind !== "dense") throw new TypeError("Gated training decodes dense features");
    const gateActs = s.op("Relu", [f.pre]);
    s.actSums = s.columnSum(gateActs);
    const dGateActs = s.fitAuxiliary(gateActs, { againstResidual: false, decoderGrad: false, bias: true });
    const opens = s.op("Greater", [f.pre, s.c(0)]);
    const dGate = s.where(opens, s.op("Add", [s.op("Mul", [s.lambda, s.norms]), dGateActs]));
    s.encoderGrads(dGate, { w: s.param("W_enc"), bias: "b_gate" });
    const dMag = s.where(s.op("Greater", [f.acts, s.c(0)]), dActs);
    const scale = s.op("Exp", [s.param("r_mag")]);
    s.encoderGrads(dMag, {
      w: magnitudeWeights(s),
      bias: "b_mag",
      weightGrad(dWMag) {
        s.grad("W_enc", s.op("Mul", [dWMag, scale]));
        s.grad("r_mag", s.op("Mul", [s.columnSum(s.op("Mul", [dWMag, s.param("W_enc")])), scale]));
      },
    });
  },
};

/** Gated SAE training. */
export const GATED: TrainingArchitecture = {
  name: "gated",
  settings: {},
  cpu: GATED_CPU,
  decoder: "free",
  sparsity: "l1_decoder_norm",
  parameters: (cfg) => ({
    encoder: [["b_gate", filled(cfg.d_sae)], ["b_mag", filled(cfg.d_sae)], ["r_mag", filled(cfg.d_sae)]],
    extra: [],
  }),
  resampled: ["b_gate", "b_mag", "r_mag"],
  prepare(kernels, enc, { param, wMag, cfg }) {
    kernels.elementwise(enc, "gated_mag_weights", { count: cfg.d_in * cfg.d_sae, cols: cfg.d_sae }, {
      src: param("W_enc").value,
      dst: wMag!,
      col: param("r_mag").value,
    });
  },
  forward(ctx) {
    const s = ctx.s;
    encodeInto(ctx, ctx.param("W_enc").value, ctx.param("b_gate").value, s.pre);
    encodeInto(ctx, ctx.wMag!, ctx.param("b_mag").value, s.preMag!);
    ctx.kernels.elementwise(ctx.enc, "gated", { count: ctx.rows * ctx.cfg.d_sae, cols: ctx.cfg.d_sae }, {
      src: s.pre,
      aux: s.preMag,
      dst: s.acts,
    });
  },
  auxiliaryTerm: () => ({
    name: "auxiliary_reconstruction_loss",
    loss: (sum, batch) => sum / batch,
    gradScale: (batch) => 2 / batch,
    reachesPre: false,
  }),
  auxiliary(ctx, term) {
    const { d_sae: dSae } = ctx.cfg;
    ctx.kernels.elementwise(ctx.enc, "relu", { count: ctx.rows * dSae, cols: dSae }, {
      src: ctx.s.pre,
      dst: ctx.s.auxActs,
    });
    fitAuxiliary(ctx, {
      entry: "mse",
      scale: term.gradScale(ctx.batch),
      againstResidual: false,
      decoderGrad: false,
      bias: true,
    });
  },
  backward(ctx) {
    const s = ctx.s;
    ctx.kernels.backward(ctx.enc, "gated", {
      count: ctx.rows * ctx.cfg.d_sae,
      c1: ctx.lambdaPerRow,
      c2: 0,
      flag: 0,
    }, {
      acts: s.acts,
      pre: s.pre,
      dActs: s.dActs,
      dAux: s.dAuxActs,
      col: ctx.norms,
      dPre: s.dPre,
      dSecond: s.dPreSecond,
    });
  },
  encoderGradients(ctx) {
    const s = ctx.s, size = { rows: ctx.rows, cols: ctx.cfg.d_sae };
    const wEnc = ctx.param("W_enc"), rMag = ctx.param("r_mag");
    encoderWeightGrad(ctx, s.dPreSecond, wEnc.grad, true);
    ctx.kernels.columnSum(ctx.enc, s.dPreSecond, ctx.param("b_gate").grad, size);
    encoderWeightGrad(ctx, s.dPre, s.dWMag!, false);
    ctx.kernels.gatedMagnitude(ctx.enc, {
      dWMag: s.dWMag!,
      wEnc: wEnc.value,
      rMag: rMag.value,
      dWEnc: wEnc.grad,
      dRMag: rMag.grad,
    });
    ctx.kernels.columnSum(ctx.enc, s.dPre, ctx.param("b_mag").grad, size);
    ctx.kernels.columnSum(ctx.enc, s.pre, ctx.actSums, size, 2);
  },
  inputBiases: ({ param, wMag }) => [[param("W_enc").value, param("b_gate").grad], [wMag!, param("b_mag").grad]],
  toInference: ({ params, scaled }) => ({
    architecture: "gated",
    weights: {
      b_gate: vec(scaled("b_gate")),
      b_mag: vec(scaled("b_mag")),
      r_mag: vec(Float32Array.from(params.get("r_mag")!)),
    },
    cfg: {},
  }),
};
