/**
 * What makes one SAE architecture train as it does, in one object per architecture (as
 * `core/sae/architecture.ts` does for inference): its settings, its parameters, its decoder
 * constraint, its forward and backward steps on the GPU and on the CPU, its auxiliary loss, its after-step
 * update and the inference SAE it saves as. The trainer (`sae_trainer.ts`) knows none of the architectures.
 *
 * @module
 */

import type { Binding } from "../gpu/pipelines.ts";
import type { CpuTrainingParts } from "./cpu_step.ts";
import type { SaeWeights } from "../sae/architecture.ts";
import type { SaeConfig } from "../sae/config.ts";
import type { Setting } from "./setting.ts";
import type { SaeTrainingConfig, SaeTrainingValues } from "./sae_training_config.ts";
import type { SparseTopK } from "./sparse_topk.ts";
import type { ResidualEntry, TrainKernels } from "./train_kernels.ts";

/** A parameter on the GPU: its value and its gradient. */
export interface ParameterBuffers {
  /** Current values. */
  value: GPUBuffer;
  /** Gradient of the current step. */
  grad: GPUBuffer;
}

/** One micro-batch's scratch buffers, each named for what it holds throughout the step. */
export interface StepBuffers {
  /** The input rows [rows, d_in]. */
  x: GPUBuffer;
  /** `sae_in`: x − b_dec, or x. */
  xin: GPUBuffer;
  /** `hidden_pre` [rows, d_sae] (gated: π_gate). */
  pre: GPUBuffer;
  /** Gated's π_mag [rows, d_sae]. */
  preMag?: GPUBuffer;
  /** `feature_acts` [rows, d_sae]. */
  acts: GPUBuffer;
  /** ∂loss/∂feature_acts from the reconstruction [rows, d_sae]. */
  dActs: GPUBuffer;
  /** Activations of the auxiliary decode (AuxK's dead latents, ghost grads' exp(pre), gated's ReLU(π_gate)). */
  auxActs: GPUBuffer;
  /** ∂loss/∂auxActs from the auxiliary term [rows, d_sae]. */
  dAuxActs: GPUBuffer;
  /** ∂loss/∂hidden_pre (gated: ∂/∂π_mag) [rows, d_sae]. */
  dPre: GPUBuffer;
  /** The second pre-activation gradient: gated's ∂/∂π_gate, JumpReLU's per-element ∂/∂log θ. */
  dPreSecond: GPUBuffer;
  /** The reconstruction [rows, d_in]. */
  recon: GPUBuffer;
  /** The auxiliary decode's output [rows, d_in]. */
  auxOut: GPUBuffer;
  /** ∂loss/∂auxOut [rows, d_in]. */
  dAuxOut: GPUBuffer;
  /** Per-row (or per-batch) selection thresholds. */
  thresholds: GPUBuffer;
  /** Gated's ∂W_mag [d_in, d_sae]. */
  dWMag?: GPUBuffer;
  /** Standard with lp_norm p ≠ 1: each element's sparsity factor (w / ‖w‖_p)^(p−1), w = f · ‖W_dec,i‖ [rows, d_sae]. */
  lpFactors?: GPUBuffer;
}

/** The kept-latent lists of a sparse step (TopK family): the features', and AuxK's. */
export interface SparseLists {
  /** The kept features of each row. */
  main: SparseTopK;
  /** AuxK's selected dead latents of each row. */
  aux: SparseTopK;
}

/** What an architecture's step functions record with, for one micro-batch. */
export interface StepContext {
  /** The training kernels. */
  kernels: TrainKernels;
  /** Records the micro-batch. */
  enc: GPUCommandEncoder;
  /** The SAE's settings. */
  cfg: SaeTrainingConfig;
  /** Rows of this micro-batch. */
  rows: number;
  /** Rows of the whole batch (losses are means over it). */
  batch: number;
  /** The scratch buffers. */
  s: StepBuffers;
  /** A parameter's buffers by SAELens name. */
  param(name: string): ParameterBuffers;
  /** W_dec transposed [d_in, d_sae], made once per step. */
  wDecT: GPUBuffer;
  /** Gated's magnitude weights W_enc ⊙ exp(r_mag), made once per step. */
  wMag?: GPUBuffer;
  /** 1 for each latent dead at the start of the step. */
  deadMask: GPUBuffer;
  /** Latents dead at the start of the step. */
  deadCount: number;
  /** Each latent's decoder row norm at the start of the step. */
  norms: GPUBuffer;
  /**
   * Per-latent sums of the activations the sparsity term weights (summed over micro-batches); standard with lp_norm
   * p ≠ 1: of each activation times its factor (w / ‖w‖_p)^(p−1), so that their dot with the norms is Σ_b ‖w_b‖_p.
   */
  actSums: GPUBuffer;
  /** BatchTopK's smallest kept value, as float bits for `atomicMin`. */
  minPositive: GPUBuffer;
  /** λ / batch. */
  lambdaPerRow: number;
  /** This micro-batch's rows of the per-row loss sums (slot 0 reconstruction, 1 auxiliary, 2… levels). */
  stats: Binding;
  /** Slots per row of `stats`. */
  slots: number;
  /** Present when the step runs sparse: decode and gradients from the kept latents only. */
  sparse?: SparseLists;
}

/** An auxiliary loss term of one step. */
export interface AuxiliaryTerm {
  /** SAELens's name, e.g. "auxiliary_reconstruction_loss". */
  name: string;
  /** The loss from the sum of its per-row terms (slot 1) over a batch of `batch` rows. */
  loss(rowSum: number, batch: number): number;
  /** The scale of its gradient with respect to its decoded output's error, for a batch of `batch` rows. */
  gradScale(batch: number): number;
  /** AuxK's k: the dead latents each row decodes (AuxK only). */
  k?: number;
  /** Whether its gradient reaches hidden_pre through `dAuxActs` (the backward kernels' flag). */
  reachesPre: boolean;
}

/** One architecture's training. */
export interface TrainingArchitecture {
  /** Training name (SAELens's). */
  readonly name: string;
  /** Its nodes of the CPU step's ONNX graph (the members below are its WebGPU step). */
  readonly cpu: CpuTrainingParts;
  /** Its own settings (defaults, help, checks). */
  readonly settings: Partial<{ [K in keyof SaeTrainingValues]: Setting<SaeTrainingValues[K]> }>;
  /**
   * How the decoder rows are held: `free`, or `unit_norm` (rows renormalised after each step, the gradient
   * along each row removed before it).
   */
  readonly decoder: "free" | "unit_norm";
  /** The sparsity term: L1 weighted by decoder norms (whose gradient reaches W_dec), an L0 term, or none. */
  readonly sparsity: "l1_decoder_norm" | "l0" | "none";
  /** Parameters besides W_enc, W_dec and b_dec: those stored after W_enc, and those after b_dec, with initial values. */
  parameters(cfg: SaeTrainingConfig): { encoder: [string, Float32Array][]; extra: [string, Float32Array][] };
  /** The per-latent parameters that resampling a dead latent resets to 0. */
  readonly resampled: readonly string[];
  /**
   * Present when the features are a selection of latents that the sparse path can list (the TopK family):
   * `batch` for one threshold over the batch (BatchTopK), and the most kept per row on average.
   */
  readonly sparse?: { batch: boolean; keptPerRow(cfg: SaeTrainingConfig): number };
  /** Prefix widths whose reconstructions each add an MSE term (Matryoshka); the last is d_sae. */
  levels?(cfg: SaeTrainingConfig): number[];
  /** Once per step, before the micro-batches (gated: W_mag). */
  prepare?(kernels: TrainKernels, enc: GPUCommandEncoder, ctx: Pick<StepContext, "param" | "wMag" | "cfg">): void;
  /** hidden_pre from sae_in, and feature_acts from it (sparse: also the kept lists, the auxiliary term's too). */
  forward(ctx: StepContext, term: AuxiliaryTerm | undefined): void;
  /** The step's auxiliary term, given the dead latents, or none. */
  auxiliaryTerm(cfg: SaeTrainingConfig, deadCount: number): AuxiliaryTerm | undefined;
  /** Records the auxiliary term: its row sums into slot 1, ∂/∂auxActs, and its decoder gradient. */
  auxiliary?(ctx: StepContext, term: AuxiliaryTerm): void;
  /** ∂loss/∂hidden_pre (into dPre, and dPreSecond where the architecture has a second). */
  backward(ctx: StepContext, term: AuxiliaryTerm | undefined): void;
  /** Gradients of the encoder's parameters from dPre (and dPreSecond), and the sums the sparsity term weights. */
  encoderGradients(ctx: StepContext): void;
  /** Pairs (weights, ∂bias) whose bias gradient b_dec shares through sae_in = x − b_dec. */
  inputBiases(ctx: Pick<StepContext, "param" | "wMag">): [GPUBuffer, GPUBuffer][];
  /** BatchTopK's running threshold after a step whose smallest kept value was `minKept` (undefined: none kept). */
  updateThreshold?(threshold: number, minKept: number | undefined, cfg: SaeTrainingConfig): number;
  /**
   * The inference SAE it saves as, from its parameters with decoder norms folded: the inference architecture,
   * its extra weights and cfg fields. `norms` are the decoder row norms folded in; `scaled` scales a per-latent
   * parameter by them.
   */
  toInference(args: {
    cfg: SaeTrainingConfig;
    params: Map<string, Float32Array>;
    norms: Float32Array;
    scaled: (name: string) => Float32Array;
    batchThreshold: number;
  }): { architecture: string; weights: Partial<SaeWeights>; cfg: Partial<SaeConfig> };
}

/**
 * `c = a · b` for `a` [rows, d_in] and `b` [d_in, d_sae]: from the input space to the latents.
 *
 * @example
 * ```ts ignore
 * toLatents(ctx, ctx.s.xin, ctx.param("W_enc").value, ctx.s.pre);
 * ```
 *
 * @param ctx The step.
 * @param a Rows in the input space.
 * @param b Weights [d_in, d_sae].
 * @param c The result [rows, d_sae].
 */
export function toLatents(ctx: StepContext, a: GPUBuffer, b: GPUBuffer, c: GPUBuffer): void {
  const { d_in: dIn, d_sae: dSae } = ctx.cfg;
  ctx.kernels.matmul(ctx.enc, { a, b, c }, { m: ctx.rows, n: dSae, k: dIn, as0: dIn, as1: 1, ldb: dSae, ldc: dSae });
}

/**
 * `out = sae_in · w + bias` over the micro-batch: hidden_pre for an encoder.
 *
 * @example
 * ```ts ignore
 * encodeInto(ctx, ctx.param("W_enc").value, ctx.param("b_enc").value, ctx.s.pre);
 * ```
 *
 * @param ctx The step.
 * @param w Encoder weights [d_in, d_sae].
 * @param bias Encoder bias [d_sae].
 * @param out hidden_pre [rows, d_sae].
 */
export function encodeInto(ctx: StepContext, w: GPUBuffer, bias: GPUBuffer, out: GPUBuffer): void {
  toLatents(ctx, ctx.s.xin, w, out);
  ctx.kernels.addBias(ctx.enc, out, bias, { count: ctx.rows * ctx.cfg.d_sae, cols: ctx.cfg.d_sae });
}

/**
 * Fits the auxiliary decode (auxActs · W_dec, plus b_dec for gated's term) to its target: the loss's row sums into
 * slot 1 and ∂/∂auxOut (`train_residual.wgsl`), then ∂/∂auxActs = dAuxOut · W_decᵀ and, where the term trains the
 * decoder, its share of ∂W_dec.
 *
 * @example
 * ```ts ignore
 * fitAuxiliary(ctx, { entry: "mse", scale: 2 / ctx.batch, againstResidual: true, decoderGrad: true }); // AuxK
 * ```
 *
 * @param ctx The step.
 * @param o The loss entry and its gradient scale; whether the target is the detached residual x − x̂ (else x), and
 *   whether the term's gradient reaches W_dec (gated's uses a frozen copy); `bias` adds b_dec to the decode.
 */
export function fitAuxiliary(
  ctx: StepContext,
  o: { entry: ResidualEntry; scale: number; againstResidual: boolean; decoderGrad: boolean; bias?: boolean },
): void {
  const { d_in: dIn, d_sae: dSae } = ctx.cfg, s = ctx.s;
  ctx.kernels.matmul(ctx.enc, { a: s.auxActs, b: ctx.param("W_dec").value, c: s.auxOut }, {
    m: ctx.rows,
    n: dIn,
    k: dSae,
    as0: dSae,
    as1: 1,
    ldb: dIn,
    ldc: dIn,
  });
  if (o.bias) ctx.kernels.addBias(ctx.enc, s.auxOut, ctx.param("b_dec").value, { count: ctx.rows * dIn, cols: dIn });
  ctx.kernels.residual(ctx.enc, o.entry, { rows: ctx.rows, scale: o.scale, slot: 1, slots: ctx.slots }, {
    out: s.auxOut,
    x: s.x,
    xhat: o.againstResidual ? s.recon : undefined,
    grad: s.dAuxOut,
    stats: ctx.stats,
  });
  toLatents(ctx, s.dAuxOut, ctx.wDecT, s.dAuxActs);
  if (o.decoderGrad) {
    ctx.kernels.matmul(ctx.enc, { a: s.auxActs, b: s.dAuxOut, c: ctx.param("W_dec").grad }, {
      m: dSae,
      n: dIn,
      k: ctx.rows,
      as0: 1,
      as1: dSae,
      ldb: dIn,
      ldc: dIn,
      acc: true,
    });
  }
}

/**
 * ∂(sae_inᵀ · dPre) into `target`: an encoder weight gradient.
 *
 * @example
 * ```ts ignore
 * encoderWeightGrad(ctx, ctx.s.dPre, ctx.param("W_enc").grad, true);
 * ```
 *
 * @param ctx The step.
 * @param dPre ∂/∂pre [rows, d_sae].
 * @param target The gradient [d_in, d_sae].
 * @param acc Add to it (micro-batches accumulate).
 */
export function encoderWeightGrad(ctx: StepContext, dPre: GPUBuffer, target: GPUBuffer, acc: boolean): void {
  const { d_in: dIn, d_sae: dSae } = ctx.cfg;
  ctx.kernels.matmul(ctx.enc, { a: ctx.s.xin, b: dPre, c: target }, {
    m: dIn,
    n: dSae,
    k: ctx.rows,
    as0: 1,
    as1: dIn,
    ldb: dSae,
    ldc: dSae,
    acc,
  });
}

/**
 * The usual encoder gradients: ∂W_enc from dPre, ∂b_enc its column sums, and the activation sums.
 *
 * @example
 * ```ts ignore
 * plainEncoderGradients(ctx);
 * ```
 *
 * @param ctx The step.
 */
export function plainEncoderGradients(ctx: StepContext): void {
  const size = { rows: ctx.rows, cols: ctx.cfg.d_sae };
  encoderWeightGrad(ctx, ctx.s.dPre, ctx.param("W_enc").grad, true);
  ctx.kernels.columnSum(ctx.enc, ctx.s.dPre, ctx.param("b_enc").grad, size);
  ctx.kernels.columnSum(ctx.enc, ctx.s.acts, ctx.actSums, size);
}

/** A vector of `n` values `v`. */
export const filled = (n: number, v = 0): Float32Array => new Float32Array(n).fill(v);
