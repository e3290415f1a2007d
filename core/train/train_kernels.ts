/**
 * The training kernels (`shaders/train_*.wgsl`) as typed calls: each takes its uniforms and buffers by
 * name, and its uniform struct is packed in one place, beside the import of its WGSL, in the order the
 * WGSL declares it. The trainer and the architectures record a step through these only.
 *
 * @module
 */

import type { Gpu } from "../gpu/device.ts";
import { type Binding, dispatch, type KernelSpec } from "../gpu/pipelines.ts";
import { elementwiseGroups } from "../ops/elementwise.ts";
import { type MatmulKernel, NO_EPILOGUE, stridedMatmul } from "../ops/matmul.ts";
import selectWgsl from "../../shaders/train_select.wgsl" with { type: "text" };
import activationWgsl from "../../shaders/train_activation.wgsl" with { type: "text" };
import backwardWgsl from "../../shaders/train_backward.wgsl" with { type: "text" };
import reduceWgsl from "../../shaders/train_reduce.wgsl" with { type: "text" };
import residualWgsl from "../../shaders/train_residual.wgsl" with { type: "text" };
import optimizerWgsl from "../../shaders/train_optimizer.wgsl" with { type: "text" };
import decoderRowsWgsl from "../../shaders/train_decoder_rows.wgsl" with { type: "text" };
import gatedMagnitudeWgsl from "../../shaders/train_gated_magnitude.wgsl" with { type: "text" };
import lpNormWgsl from "../../shaders/train_lp_norm.wgsl" with { type: "text" };

const kernel = (name: string, code: string) => (entryPoint = "main"): KernelSpec => ({
  sources: [{ name, code }],
  entryPoint,
});
// Measured on lavapipe at d_in 128, d_sae 1024, batch 4096: 16 rows and WG 32 gave 4.4-6.8 GFLOP/s across the
// five products of a step, 8 rows 2.8-6.0, 4 × 4 blocks 2.1-4.0.
const MATMUL: MatmulKernel = { rows: 16, workgroup: 32, epilogue: NO_EPILOGUE };
const SELECT = kernel("train_select", selectWgsl)();
const ACT = kernel("train_activation", activationWgsl);
const BACKWARD = kernel("train_backward", backwardWgsl);
const REDUCE = kernel("train_reduce", reduceWgsl)();
const MATVEC = kernel("train_reduce", reduceWgsl)("matvec");
const PRODUCTS = kernel("train_reduce", reduceWgsl)("products");
const RESIDUAL = kernel("train_residual", residualWgsl);
const OPTIMIZER = kernel("train_optimizer", optimizerWgsl);
const DECODER = kernel("train_decoder_rows", decoderRowsWgsl);
const GATED_MAGNITUDE = kernel("train_gated_magnitude", gatedMagnitudeWgsl)();
const LP_NORM = kernel("train_lp_norm", lpNormWgsl)();

/** Shape and strides of C (+)= A·B in `matmul.wgsl` (B's offset and stride in floats, multiples of 4). */
export interface MatmulShape {
  /** Rows of C. */
  m: number;
  /** Columns of C (a multiple of 4). */
  n: number;
  /** Inner dimension. */
  k: number;
  /** A's first element. @default {0} */
  aOff?: number;
  /** A's stride between rows of C. */
  as0: number;
  /** A's stride along k. */
  as1: number;
  /** B's first element. @default {0} */
  bOff?: number;
  /** B's row stride. */
  ldb: number;
  /** C's first element. @default {0} */
  cOff?: number;
  /** C's row stride. */
  ldc: number;
  /** Add to C instead of overwriting it. @default {false} */
  acc?: boolean;
}

/** Which loss term a `train_residual` entry computes. */
export type ResidualEntry = "mse" | "ghost";

/** The training kernels bound to one device and one SAE's sizes. */
export class TrainKernels {
  readonly #gpu: Gpu;
  readonly #dIn: number;
  readonly #dSae: number;

  /**
   * Binds the kernels.
   *
   * @param gpu The device.
   * @param sizes The SAE's d_in and d_sae.
   */
  constructor(gpu: Gpu, sizes: { d_in: number; d_sae: number }) {
    this.#gpu = gpu;
    this.#dIn = sizes.d_in;
    this.#dSae = sizes.d_sae;
  }

  /**
   * C (+)= A·B with arbitrary strides.
   *
   * @param enc The encoder.
   * @param b Buffers `a`, `b`, `c`.
   * @param s The shape.
   */
  matmul(enc: GPUCommandEncoder, b: { a: GPUBuffer; b: GPUBuffer; c: GPUBuffer }, s: MatmulShape): void {
    stridedMatmul(this.#gpu, enc, MATMUL, {
      m: s.m,
      n: s.n,
      k: s.k,
      aOff: s.aOff ?? 0,
      as0: s.as0,
      as1: s.as1,
      bOff4: (s.bOff ?? 0) / 4,
      ldb4: s.ldb / 4,
      cOff: s.cOff ?? 0,
      ldc: s.ldc,
      accumulate: s.acc ?? false,
    }, b);
  }

  /**
   * An elementwise entry of `train_activation.wgsl` over `count` elements of rows of `cols`.
   *
   * @param enc The encoder.
   * @param entry The entry point (relu, threshold, add_bias, ...).
   * @param size `count` elements, `cols` per row.
   * @param b Buffers by the WGSL's names (`src`, `aux`, `dst`, `col`, `minPositive`).
   * @param u Uniforms `alpha` and `flag`.
   */
  elementwise(
    enc: GPUCommandEncoder,
    entry: string,
    size: { count: number; cols: number },
    b: { src?: GPUBuffer; aux?: GPUBuffer; dst: GPUBuffer; col?: GPUBuffer; minPositive?: GPUBuffer },
    u: { alpha?: number; flag?: number } = {},
  ): void {
    const params = new Uint32Array([size.count, size.cols, 0, u.flag ?? 0]);
    new Float32Array(params.buffer)[2] = u.alpha ?? 0;
    dispatch(
      this.#gpu,
      enc,
      ACT(entry),
      params,
      [b.src, b.aux, b.dst, b.col, b.minPositive],
      elementwiseGroups(size.count),
    );
  }

  /**
   * `dst += alpha · col` broadcast over rows of `cols`.
   *
   * @param enc The encoder.
   * @param dst Rows to add to.
   * @param col One value per column.
   * @param size Elements and columns.
   * @param alpha Scale of `col`.
   */
  addBias(enc: GPUCommandEncoder, dst: GPUBuffer, col: GPUBuffer, size: { count: number; cols: number }, alpha = 1) {
    this.elementwise(enc, "add_bias", size, { dst, col }, { alpha });
  }

  /**
   * Column sums over `rows` (mode 0: values, 1: count of positives, 2: sums of ReLU), into `out` (+=).
   *
   * @param enc The encoder.
   * @param v Rows × cols values.
   * @param out One value per column.
   * @param size Rows and columns.
   * @param mode What is summed.
   */
  columnSum(enc: GPUCommandEncoder, v: GPUBuffer, out: GPUBuffer, size: { rows: number; cols: number }, mode = 0) {
    const params = new Uint32Array([size.rows, size.cols, mode, 1]);
    dispatch(this.#gpu, enc, REDUCE, params, [v, out], elementwiseGroups(size.cols));
  }

  /**
   * `out += Σ_rows v ⊙ factors` per column (`train_reduce.wgsl` products), summed in row order.
   *
   * @param enc The encoder.
   * @param b Rows × cols `v` and `factors`, and `out` (one value per column).
   * @param size Rows and columns.
   */
  columnProducts(
    enc: GPUCommandEncoder,
    b: { v: GPUBuffer; factors: GPUBuffer; out: GPUBuffer },
    size: { rows: number; cols: number },
  ): void {
    const params = new Uint32Array([size.rows, size.cols, 0, 1]);
    dispatch(
      this.#gpu,
      enc,
      PRODUCTS,
      params,
      [b.v, b.out, undefined, undefined, b.factors],
      elementwiseGroups(size.cols),
    );
  }

  /**
   * The standard SAE's sparsity factors for lp_norm `p` ≠ 1 (`train_lp_norm.wgsl`): per row of w = acts · col,
   * (w / ‖w‖_p)^(p−1) elementwise, one workgroup per row.
   *
   * @param enc The encoder.
   * @param u `rows` and the norm's `p`.
   * @param b `acts` [rows, d_sae], `col` [d_sae] (the decoder norms, or ones), `factors` [rows, d_sae].
   */
  lpFactors(
    enc: GPUCommandEncoder,
    u: { rows: number; p: number },
    b: { acts: GPUBuffer; col: GPUBuffer; factors: GPUBuffer },
  ): void {
    const params = new Uint32Array([u.rows, this.#dSae, 0]);
    new Float32Array(params.buffer)[2] = u.p;
    dispatch(this.#gpu, enc, LP_NORM, params, [b.acts, b.col, b.factors], [u.rows, 1]);
  }

  /**
   * `out −= W · dBias` per input dimension (`train_reduce.wgsl` matvec): b_dec's share of an encoder bias gradient
   * when the input is x − b_dec.
   *
   * @param enc The encoder.
   * @param b `dBias` [d_sae], `w` [d_in, d_sae], `out` [d_in].
   */
  inputBiasGrad(enc: GPUCommandEncoder, b: { dBias: GPUBuffer; w: GPUBuffer; out: GPUBuffer }): void {
    const params = new Uint32Array([this.#dIn, this.#dSae, 0, 0]);
    dispatch(this.#gpu, enc, MATVEC, params, [b.dBias, undefined, b.w, b.out], elementwiseGroups(this.#dIn));
  }

  /**
   * A per-row loss term of `train_residual.wgsl` and its gradient: `out` against x, or against x − x̂ with `xhat`.
   *
   * @param enc The encoder.
   * @param entry mse or ghost.
   * @param u `rows`, the gradient `scale`, the row-loss slot and slot count.
   * @param b Buffers.
   */
  residual(
    enc: GPUCommandEncoder,
    entry: ResidualEntry,
    u: { rows: number; scale: number; slot: number; slots: number },
    b: { out: GPUBuffer; x: GPUBuffer; xhat?: GPUBuffer; grad: GPUBuffer; stats: Binding },
  ): void {
    const params = new Uint32Array([u.rows, this.#dIn, 0, u.slots, u.slot, b.xhat ? 1 : 0]);
    new Float32Array(params.buffer)[2] = u.scale;
    dispatch(
      this.#gpu,
      enc,
      RESIDUAL(entry),
      params,
      [b.out, b.x, b.xhat ?? b.x, b.grad, b.stats],
      elementwiseGroups(u.rows),
    );
  }

  /**
   * A decoder-row entry of `train_decoder_rows.wgsl` (row_norms, norm_grad, remove_parallel, normalize).
   *
   * @param enc The encoder.
   * @param entry The entry point.
   * @param b Buffers: `wDec`, and as the entry needs `grad`, `actSums`, `norms`.
   * @param scale The L1 scale of norm_grad.
   */
  decoderRows(
    enc: GPUCommandEncoder,
    entry: "row_norms" | "norm_grad" | "remove_parallel" | "normalize",
    b: { wDec: GPUBuffer; grad?: GPUBuffer; actSums?: GPUBuffer; norms?: GPUBuffer },
    scale = 0,
  ): void {
    const params = new Uint32Array([this.#dSae, this.#dIn, 0]);
    new Float32Array(params.buffer)[2] = scale;
    dispatch(
      this.#gpu,
      enc,
      DECODER(entry),
      params,
      [b.wDec, b.grad, b.actSums, b.norms],
      elementwiseGroups(this.#dSae),
    );
  }

  /**
   * The k-th largest value of each segment (`train_select.wgsl`): per row, or of the whole batch, or of the dead
   * latents only.
   *
   * @param enc The encoder.
   * @param u `segments` (rows, or 1 for the batch), `segmentLength`, `k`, `deadOnly`.
   * @param b `values`, `deadMask`, `out` (one threshold per segment).
   */
  select(
    enc: GPUCommandEncoder,
    u: { segments: number; segmentLength: number; k: number; deadOnly?: boolean },
    b: { values: GPUBuffer; deadMask: GPUBuffer; out: GPUBuffer },
  ): void {
    const params = new Uint32Array([
      u.segmentLength,
      u.segments === 1 ? 0 : u.segmentLength,
      u.k,
      u.deadOnly ? 1 : 0,
      this.#dSae,
    ]);
    dispatch(this.#gpu, enc, SELECT, params, [b.values, b.deadMask, b.out], [u.segments, 1]);
  }

  /**
   * ∂loss/∂hidden_pre of an architecture (`train_backward.wgsl` entry), over `count` elements.
   *
   * @param enc The encoder.
   * @param entry standard (standard_lp with lp_norm ≠ 1), topk, jumprelu or gated.
   * @param u `count`, coefficients `c1`, `c2`, and `flag` (an auxiliary term's gradient to add).
   * @param b Buffers by the WGSL's names.
   */
  backward(
    enc: GPUCommandEncoder,
    entry: "standard" | "standard_lp" | "topk" | "jumprelu" | "gated",
    u: { count: number; c1: number; c2: number; flag: number },
    b: {
      acts?: GPUBuffer;
      pre?: GPUBuffer;
      dActs: GPUBuffer;
      dAux?: GPUBuffer;
      col?: GPUBuffer;
      dPre: GPUBuffer;
      dSecond?: GPUBuffer;
      lpFactors?: GPUBuffer;
    },
  ): void {
    const params = new Uint32Array([u.count, this.#dSae, 0, 0, u.flag]);
    new Float32Array(params.buffer).set([u.c1, u.c2], 2);
    dispatch(
      this.#gpu,
      enc,
      BACKWARD(entry),
      params,
      [b.acts, b.pre, b.dActs, b.dAux, b.col, b.dPre, b.dSecond, b.lpFactors],
      elementwiseGroups(u.count),
    );
  }

  /**
   * ∂W_enc and ∂r_mag from ∂W_mag through W_mag = W_enc ⊙ exp(r_mag) (`train_gated_magnitude.wgsl`).
   *
   * @param enc The encoder.
   * @param b Buffers.
   */
  gatedMagnitude(
    enc: GPUCommandEncoder,
    b: { dWMag: GPUBuffer; wEnc: GPUBuffer; rMag: GPUBuffer; dWEnc: GPUBuffer; dRMag: GPUBuffer },
  ): void {
    dispatch(
      this.#gpu,
      enc,
      GATED_MAGNITUDE,
      new Uint32Array([this.#dIn, this.#dSae]),
      [b.dWMag, b.wEnc, b.rMag, b.dWEnc, b.dRMag],
      elementwiseGroups(this.#dSae),
    );
  }

  /**
   * One tensor's Adam update, or its sum of squares for the clip factor (`train_optimizer.wgsl`).
   *
   * @param enc The encoder.
   * @param entry sum_squares (all first) or adam.
   * @param u The tensor's size and slot among `slots`, and Adam's settings at step `t`.
   * @param b Buffers.
   */
  optimizer(
    enc: GPUCommandEncoder,
    entry: "sum_squares" | "adam",
    u: { size: number; slot: number; slots: number; lr: number; t: number; beta1: number; beta2: number },
    b: { value?: GPUBuffer; grad: GPUBuffer; m?: GPUBuffer; v?: GPUBuffer; sumSquares: GPUBuffer },
  ): void {
    const params = new Uint32Array(9);
    params.set([u.size, u.slot, u.slots]);
    new Float32Array(params.buffer).set([
      u.lr / (1 - u.beta1 ** u.t),
      Math.sqrt(1 - u.beta2 ** u.t),
      u.beta1,
      u.beta2,
      1e-8,
      1,
    ], 3);
    const groups: [number, number] = entry === "sum_squares" ? [1, 1] : elementwiseGroups(u.size);
    dispatch(this.#gpu, enc, OPTIMIZER(entry), params, [b.value, b.grad, b.m, b.v, b.sumSquares], groups);
  }
}
