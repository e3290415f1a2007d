/**
 * TopK SAE training: the k largest pre-activations of each row kept (ReLU'd), unit-norm decoder rows,
 * and AuxK on latents dead for `dead_feature_window` steps (k_aux = d_in / 2). BatchTopK and Matryoshka
 * reuse these parts.
 *
 * @module
 */

import { GraphBuilder } from "../cpu/graph_builder.ts";
import type { CpuFeatures, CpuStep, CpuTrainingParts } from "./cpu_step.ts";
import { FLOAT32_MAX } from "../util/float32.ts";
import { positiveInteger, setting } from "./setting.ts";
import type { SaeTrainingConfig, SaeTrainingValues, SettingsOf } from "./sae_training_config.ts";
import { vec } from "./standard_training.ts";
import type { SparseTopK } from "./sparse_topk.ts";
import {
  type AuxiliaryTerm,
  encodeInto,
  filled,
  fitAuxiliary,
  plainEncoderGradients,
  type StepContext,
  type TrainingArchitecture,
} from "./training_architecture.ts";

/** k_aux = d_in / 2 dead latents decoded by AuxK, at most the dead count. */
function auxK(cfg: SaeTrainingConfig, deadCount: number): number {
  return Math.min(Math.floor(cfg.d_in / 2), deadCount);
}

/** AuxK's weight: the coefficient times min(n_dead / k_aux, 1). */
function auxScale(cfg: SaeTrainingConfig, deadCount: number): number {
  return cfg.aux_loss_coefficient * Math.min(deadCount / Math.floor(cfg.d_in / 2), 1);
}

/**
 * Keeps each row's (or, with `batch`, the whole batch's) largest pre-activations: k per row on average. A sparse
 * step also lists the kept latents, and AuxK's dead latents when the step has that term.
 *
 * @example
 * ```ts ignore
 * keepLargest(ctx, false, term); // TopK
 * ```
 *
 * @param ctx The step.
 * @param batch One threshold for the batch (BatchTopK), which also records the smallest value kept.
 * @param term The step's auxiliary term (AuxK), if any.
 */
export function keepLargest(ctx: StepContext, batch: boolean, term: AuxiliaryTerm | undefined): void {
  const { d_sae: dSae, k } = ctx.cfg;
  encodeInto(ctx, ctx.param("W_enc").value, ctx.param("b_enc").value, ctx.s.pre);
  const count = ctx.rows * dSae;
  ctx.kernels.select(
    ctx.enc,
    batch ? { segments: 1, segmentLength: count, k: k * ctx.rows } : {
      segments: ctx.rows,
      segmentLength: dSae,
      k,
    },
    { values: ctx.s.pre, deadMask: ctx.deadMask, out: ctx.s.thresholds },
  );
  ctx.kernels.elementwise(ctx.enc, "threshold", { count, cols: dSae }, {
    src: ctx.s.pre,
    aux: ctx.s.thresholds,
    dst: ctx.s.acts,
    minPositive: ctx.minPositive,
  }, { flag: batch ? 1 : 0 });
  if (!ctx.sparse) return;
  ctx.sparse.main.select(ctx.enc, { pre: ctx.s.pre, thresholds: ctx.s.thresholds, rows: ctx.rows, batch });
  if (!term) return;
  selectDead(ctx);
  ctx.sparse.aux.select(ctx.enc, {
    pre: ctx.s.pre,
    thresholds: ctx.s.thresholds,
    rows: ctx.rows,
    mask: ctx.deadMask,
    relu: false,
  });
}

/** AuxK's threshold per row: the k_aux-th largest pre-activation among the dead latents. */
function selectDead(ctx: StepContext): void {
  ctx.kernels.select(ctx.enc, {
    segments: ctx.rows,
    segmentLength: ctx.cfg.d_sae,
    k: auxK(ctx.cfg, ctx.deadCount),
    deadOnly: true,
  }, { values: ctx.s.pre, deadMask: ctx.deadMask, out: ctx.s.thresholds });
}

/** AuxK from its list: decode the dead latents, fit the detached residual, and their gradients. */
function sparseAuxK(ctx: StepContext, aux: SparseTopK, term: AuxiliaryTerm): void {
  const { d_in: dIn } = ctx.cfg, s = ctx.s, wDec = ctx.param("W_dec"), wEnc = ctx.param("W_enc");
  aux.decode(ctx.enc, { wDec: wDec.value, out: s.auxOut, dIn });
  const scale = term.gradScale(ctx.batch);
  ctx.kernels.residual(ctx.enc, "mse", { rows: ctx.rows, scale, slot: 1, slots: ctx.slots }, {
    out: s.auxOut,
    x: s.x,
    xhat: s.recon,
    grad: s.dAuxOut,
    stats: ctx.stats,
  });
  aux.valueGrad(ctx.enc, { dOut: s.dAuxOut, wDec: wDec.value, dIn });
  aux.decoderGrad(ctx.enc, { dOut: s.dAuxOut, wDecGrad: wDec.grad, dIn });
  aux.encoderGrad(ctx.enc, { xIn: s.xin, wEncGrad: wEnc.grad, bEncGrad: ctx.param("b_enc").grad, dIn });
}

/** The outputs of TopK's selection, which its step graph takes as inputs. */
const SELECTED = { values: "selected_values", index: "selected_index", pre: "selected_pre" } as const;

/**
 * TopK's kept latents on the CPU, as its selection graph ({@linkcode topkSelection}, run before the step) chose them:
 * each row's k largest pre-activations as flat lists of row, column and ReLU'd value, and as [rows, k].
 *
 * @param s The CPU step.
 * @returns The features as kept lists.
 */
function selectedOnCpu(s: CpuStep): CpuFeatures {
  const { d_sae: dSae, k } = s.cfg;
  const flat = (a: string) => s.op("Reshape", [a, s.g.int64s([-1])]);
  const kept = s.op("Relu", [s.g.input(SELECTED.values, ["rows", k])]);
  const index = s.g.input(SELECTED.index, ["rows", k], "int64");
  const rowOf = s.op("Range", [s.g.int64(0), s.rows(), s.g.int64(1)]);
  const rowIndex = flat(s.op("Expand", [s.unsqueeze(rowOf), s.op("Shape", [index])]));
  const pre = s.term ? s.g.input(SELECTED.pre, ["rows", dSae]) : undefined;
  return { kind: "kept", pre, rowIndex, column: flat(index), values: flat(kept), perRow: { values: kept, index } };
}

/**
 * BatchTopK's kept latents on the CPU, selected in the step graph: the whole batch's k × rows largest
 * pre-activations as flat lists of row, column and ReLU'd value, and the smallest positive value kept.
 *
 * @param s The CPU step.
 * @returns The features as kept lists.
 */
function batchKeptOnCpu(s: CpuStep): CpuFeatures {
  const { d_sae: dSae, k } = s.cfg;
  const flat = (a: string) => s.op("Reshape", [a, s.g.int64s([-1])]);
  const pre = s.gemm(s.xin, s.param("W_enc"), { bias: s.param("b_enc") });
  const kept = s.op("Mul", [s.op("Reshape", [s.rows(), s.g.int64s([1])]), s.g.int64s([k])]);
  const { values: top, indices: index } = s.topk(s.op("Reshape", [pre, s.g.int64s([1, -1])]), kept);
  const values = s.op("Relu", [flat(top)]);
  const positive = s.op("Where", [s.op("Greater", [values, s.c(0)]), values, s.c(FLOAT32_MAX)]);
  s.minKept = s.op("ReduceMin", [positive], { keepdims: 0 });
  return {
    kind: "kept",
    pre,
    rowIndex: s.op("Div", [flat(index), s.g.int64s([dSae])]),
    column: s.op("Mod", [flat(index), s.g.int64s([dSae])]),
    values,
  };
}

/**
 * TopK's selection, run before the step in row blocks: each row's k largest pre-activations and their columns, and
 * with AuxK the whole pre-activation.
 */
function topkSelection(cfg: SaeTrainingConfig, term: AuxiliaryTerm | undefined): GraphBuilder {
  const { d_in: dIn, d_sae: dSae, k } = cfg;
  const g = new GraphBuilder({ d_in: dIn, d_sae: dSae });
  const x = g.input("x", ["rows", "d_in"]);
  const xin = cfg.apply_b_dec_to_input ? g.node("Sub", [x, g.input("b_dec", ["d_in"])]) : x;
  const pre = g.node("Gemm", [xin, g.input("W_enc", ["d_in", "d_sae"]), g.input("b_enc", ["d_sae"])]);
  const [values, index] = g.nodes("TopK", [pre, g.int64s([k])], 2, { axis: -1, largest: 1, sorted: 0 });
  g.output(values, SELECTED.values, ["rows", k]);
  g.output(index, SELECTED.index, ["rows", k], "int64");
  if (term) g.output(pre, SELECTED.pre, ["rows", dSae]);
  return g;
}

/**
 * The TopK family's CPU step: kept lists; ∂pre of a kept latent is its ∂value where positive, and AuxK (dense over
 * the dead latents, which only exist once latents die) adds its own. BatchTopK's selection spans the batch, so its
 * graph selects; TopK's rows select on their own, in row blocks before the step ({@linkcode TOPK}).
 */
export const TOPK_CPU: CpuTrainingParts = {
  forward: batchKeptOnCpu,
  backward(s, f, dValues) {
    if (f.kind !== "kept") throw new TypeError("The TopK family decodes its kept latents");
    s.keptEncoderGrads(f, s.where(s.op("Greater", [f.values, s.c(0)]), dValues));
    if (!s.term) return;
    if (!f.pre) throw new TypeError("AuxK needs the step's pre-activation");
    const auxActs = s.deadTopK(f.pre);
    const dAuxActs = s.fitAuxiliary(auxActs, { againstResidual: true, decoderGrad: true });
    const dPre = s.where(s.op("Not", [s.op("Equal", [auxActs, s.c(0)])]), dAuxActs);
    s.grad("W_enc", s.gemm(s.xin, dPre, { transA: true }));
    s.grad("b_enc", s.columnSum(dPre));
  },
};

/** The TopK family's own settings. */
export const TOPK_SETTINGS: SettingsOf<Pick<SaeTrainingValues, "k" | "aux_loss_coefficient">> = {
  k: setting(100, "latents kept per token (topk) or on average (batchtopk, matryoshka)", positiveInteger),
  aux_loss_coefficient: setting(
    1,
    "AuxK coefficient (topk family)",
    (v: number) => v >= 0 ? undefined : "a number >= 0",
  ),
};

/** TopK SAE training. */
export const TOPK: TrainingArchitecture = {
  name: "topk",
  settings: TOPK_SETTINGS,
  cpu: { ...TOPK_CPU, forward: selectedOnCpu, selection: topkSelection },
  decoder: "unit_norm",
  sparsity: "none",
  parameters: (cfg) => ({ encoder: [["b_enc", filled(cfg.d_sae)]], extra: [] }),
  resampled: ["b_enc"],
  sparse: { batch: false, keptPerRow: (cfg) => cfg.k },
  forward: (ctx, term) => keepLargest(ctx, false, term),
  auxiliaryTerm(cfg, deadCount) {
    if (!(auxK(cfg, deadCount) > 0 && cfg.aux_loss_coefficient > 0)) return undefined;
    const scale = auxScale(cfg, deadCount);
    return {
      name: "auxiliary_reconstruction_loss",
      k: auxK(cfg, deadCount),
      loss: (sum, batch) => scale * sum / batch,
      gradScale: (batch) => scale * 2 / batch,
      reachesPre: true,
    };
  },
  auxiliary(ctx, term) {
    if (ctx.sparse) return sparseAuxK(ctx, ctx.sparse.aux, term);
    const { d_sae: dSae } = ctx.cfg;
    selectDead(ctx);
    ctx.kernels.elementwise(ctx.enc, "auxk_select", { count: ctx.rows * dSae, cols: dSae }, {
      src: ctx.s.pre,
      aux: ctx.s.thresholds,
      dst: ctx.s.auxActs,
      col: ctx.deadMask,
    });
    fitAuxiliary(ctx, { entry: "mse", scale: term.gradScale(ctx.batch), againstResidual: true, decoderGrad: true });
  },
  backward(ctx, term) {
    if (ctx.sparse) return; // ∂pre of the kept latents is their dValue, from the sparse reconstruction
    const s = ctx.s;
    ctx.kernels.backward(ctx.enc, "topk", {
      count: ctx.rows * ctx.cfg.d_sae,
      c1: 0,
      c2: 0,
      flag: term?.reachesPre ? 1 : 0,
    }, { acts: s.acts, pre: term ? s.auxActs : s.pre, dActs: s.dActs, dAux: s.dAuxActs, dPre: s.dPre });
  },
  encoderGradients(ctx) {
    if (!ctx.sparse) return plainEncoderGradients(ctx);
    ctx.sparse.main.encoderGrad(ctx.enc, {
      xIn: ctx.s.xin,
      wEncGrad: ctx.param("W_enc").grad,
      bEncGrad: ctx.param("b_enc").grad,
      dIn: ctx.cfg.d_in,
    });
    ctx.kernels.columnSum(ctx.enc, ctx.s.acts, ctx.actSums, { rows: ctx.rows, cols: ctx.cfg.d_sae });
  },
  inputBiases: ({ param }) => [[param("W_enc").value, param("b_enc").grad]],
  toInference: ({ cfg, scaled }) => ({
    architecture: "topk",
    weights: { b_enc: vec(scaled("b_enc")) },
    cfg: { k: cfg.k, rescale_acts_by_decoder_norm: false },
  }),
};
