/**
 * One SAE in training on the GPU: its parameters, Adam state and dead-latent counters, and the
 * training step (forward, every loss term, backward, clipping, Adam) recorded as WGSL dispatches.
 *
 * @module
 */

import type { Gpu } from "../gpu/device.ts";
import { type Binding, dispatch, type KernelSpec } from "../gpu/pipelines.ts";
import { emptyBuffer, readBuffers, uploadBuffer, writeToBuffer } from "../gpu/tensor.ts";
import { elementwiseGroups } from "../ops/elementwise.ts";
import type { SeededRandom } from "../util/mulberry32.ts";
import { levelWidths, type SaeTrainingConfig, selectsByRank } from "./sae_training_config.ts";
import matmulWgsl from "../../shaders/train_matmul.wgsl" with { type: "text" };
import selectWgsl from "../../shaders/train_select.wgsl" with { type: "text" };
import activationWgsl from "../../shaders/train_activation.wgsl" with { type: "text" };
import backwardWgsl from "../../shaders/train_backward.wgsl" with { type: "text" };
import reduceWgsl from "../../shaders/train_reduce.wgsl" with { type: "text" };
import residualWgsl from "../../shaders/train_residual.wgsl" with { type: "text" };
import optimizerWgsl from "../../shaders/train_optimizer.wgsl" with { type: "text" };
import decoderRowsWgsl from "../../shaders/train_decoder_rows.wgsl" with { type: "text" };
import gatedMagnitudeWgsl from "../../shaders/train_gated_magnitude.wgsl" with { type: "text" };

const kernel = (name: string, code: string) => (entryPoint = "main"): KernelSpec => ({
  sources: [{ name, code }],
  entryPoint,
});
const MATMUL_ROWS = 16, MATMUL_WG = 32;
const MATMUL: KernelSpec = {
  sources: [{ name: "train_matmul", code: matmulWgsl }],
  consts: { ROWS: MATMUL_ROWS },
  overrides: { WG: MATMUL_WG },
};
const SELECT = kernel("train_select", selectWgsl)();
const ACT = kernel("train_activation", activationWgsl);
const BACKWARD = kernel("train_backward", backwardWgsl);
const REDUCE = kernel("train_reduce", reduceWgsl)();
const MATVEC = kernel("train_reduce", reduceWgsl)("matvec");
const RESIDUAL = kernel("train_residual", residualWgsl);
const OPTIMIZER = kernel("train_optimizer", optimizerWgsl);
const DECODER = kernel("train_decoder_rows", decoderRowsWgsl);
const GATED_MAGNITUDE = kernel("train_gated_magnitude", gatedMagnitudeWgsl)();

/** Largest [rows, d_sae] scratch buffer a micro-batch uses; larger batches run in pieces. */
const MAX_SCRATCH_BYTES = 512 * 1024 * 1024;

/** Parameter tensors by SAELens name, row-major f32. */
export type ParameterMap = Map<string, Float32Array>;

/** Coefficients of one step, from the schedules. */
export interface StepCoefficients {
  /** Learning rate. */
  lr: number;
  /** Current sparsity coefficient (λ after warm-up). */
  l1Coefficient: number;
}

/** What one step measured, in SAELens's metric names where one exists. */
export interface StepResult {
  /** Total loss that was minimised. */
  loss: number;
  /** Loss terms: mse_loss, l1_loss / l0_loss, auxiliary_reconstruction_loss, ghost_grad_loss, inner_mse_loss_W. */
  losses: Record<string, number>;
  /** Mean latents firing per token. */
  l0: number;
  /** 1 − Σ‖x − x̂‖² / Σ_d Σ_b (x_bd − mean_d)² over the batch. */
  explainedVariance: number;
  /** Gradient norm before clipping. */
  gradNorm: number;
  /** Tokens of the batch on which each latent fired. */
  fired: Float32Array;
  /** Latents counted dead (for AuxK and ghost grads) in this step. */
  deadCount: number;
  /** Each token's squared reconstruction error ‖x̂ − x‖². */
  rowLoss: Float32Array;
}

/** Raised when a step produced a NaN or an infinity. */
export class NonFiniteError extends RangeError {
  /**
   * Creates the error.
   *
   * @param message What was not finite.
   */
  constructor(message: string) {
    super(message);
    this.name = "NonFiniteError";
  }
}

interface Parameter {
  name: string;
  size: number;
  value: GPUBuffer;
  grad: GPUBuffer;
  m: GPUBuffer;
  v: GPUBuffer;
}

/** The state a checkpoint keeps for one SAE. */
export interface TrainerState {
  /** Parameters, then Adam's first and second moments as `m.NAME` / `v.NAME`. */
  tensors: ParameterMap;
  /** Steps taken (Adam's t). */
  step: number;
  /** Steps since each latent last fired. */
  sinceFired: Float32Array;
  /** BatchTopK's running threshold. */
  batchThreshold: number;
}

/**
 * The parameters a new SAE starts from: decoder rows of norm `decoder_init_norm` in random
 * directions, the encoder its transpose, biases zero, JumpReLU's log-threshold log(init).
 *
 * @example
 * ```ts
 * import { initialParameters } from "./sae_trainer.ts";
 * import { mulberry32 } from "../util/mulberry32.ts";
 * const p = initialParameters({ architecture: "standard", d_in: 4, d_sae: 8, decoder_init_norm: 0.1, jumprelu_init_threshold: 0.01 }, mulberry32(0));
 * console.log(p.get("W_enc")!.length, Math.hypot(...p.get("W_dec")!.subarray(0, 4)).toFixed(3)); // 32 0.100
 * ```
 *
 * @param cfg Sizes and init settings.
 * @param rng Seeded generator.
 * @returns Parameter tensors by name.
 */
export function initialParameters(
  cfg: Pick<SaeTrainingConfig, "architecture" | "d_in" | "d_sae" | "decoder_init_norm" | "jumprelu_init_threshold">,
  rng: () => number,
): ParameterMap {
  const { d_in: dIn, d_sae: dSae } = cfg;
  const wDec = new Float32Array(dSae * dIn);
  for (let i = 0; i < wDec.length; i++) wDec[i] = 2 * rng() - 1;
  for (let j = 0; j < dSae; j++) {
    const row = wDec.subarray(j * dIn, (j + 1) * dIn);
    const n = Math.hypot(...row) || 1;
    for (let d = 0; d < dIn; d++) row[d] *= cfg.decoder_init_norm / n;
  }
  const wEnc = new Float32Array(dIn * dSae);
  for (let j = 0; j < dSae; j++) for (let d = 0; d < dIn; d++) wEnc[d * dSae + j] = wDec[j * dIn + d];
  const params: ParameterMap = new Map([["W_enc", wEnc]]);
  if (cfg.architecture === "gated") {
    params.set("b_gate", new Float32Array(dSae));
    params.set("b_mag", new Float32Array(dSae));
    params.set("r_mag", new Float32Array(dSae));
  } else {
    params.set("b_enc", new Float32Array(dSae));
  }
  params.set("W_dec", wDec);
  params.set("b_dec", new Float32Array(dIn));
  if (cfg.architecture === "jumprelu") {
    params.set("log_threshold", new Float32Array(dSae).fill(Math.log(cfg.jumprelu_init_threshold)));
  }
  if (selectsByRank(cfg.architecture as SaeTrainingConfig["architecture"])) normalizeRows(wDec, dIn);
  return params;
}

function normalizeRows(w: Float32Array, width: number): void {
  for (let r = 0; r * width < w.length; r++) {
    const row = w.subarray(r * width, (r + 1) * width);
    const n = Math.hypot(...row) || 1;
    for (let d = 0; d < width; d++) row[d] /= n;
  }
}

interface Scratch {
  rows: number;
  x: GPUBuffer;
  xin: GPUBuffer;
  pre: GPUBuffer;
  preMag?: GPUBuffer;
  acts: GPUBuffer;
  t: GPUBuffer;
  t2: GPUBuffer;
  aux: GPUBuffer;
  dpre: GPUBuffer;
  dpre2: GPUBuffer;
  recon: GPUBuffer;
  levelGrads: GPUBuffer[];
  dacc: GPUBuffer;
  auxOut: GPUBuffer;
  auxGrad: GPUBuffer;
  thresholds: GPUBuffer;
  magGrad?: GPUBuffer;
}

/**
 * An SAE being trained: call {@linkcode SaeTrainer.step} with each batch of activations.
 *
 * @example Train a few steps on random data
 * ```ts ignore
 * import { getGpu } from "../gpu/device.ts";
 * import { mulberry32 } from "../util/mulberry32.ts";
 * import { SaeTrainer } from "./sae_trainer.ts";
 * const rng = mulberry32(0);
 * const trainer = SaeTrainer.create(await getGpu(), { architecture: "topk", d_in: 16, d_sae: 64, k: 4 }, rng);
 * const x = Float32Array.from({ length: 32 * 16 }, () => rng() - 0.5);
 * const r = await trainer.step(x, { lr: 1e-3, l1Coefficient: 0 });
 * console.log(r.l0); // 4
 * ```
 */
export class SaeTrainer {
  /** The SAE's settings, defaults filled in. */
  readonly cfg: SaeTrainingConfig;
  readonly #gpu: Gpu;
  readonly #params: Parameter[];
  readonly #widths: number[];
  #scratch?: Scratch;
  readonly #deadMask: GPUBuffer;
  readonly #norms: GPUBuffer;
  readonly #fired: GPUBuffer;
  readonly #actSums: GPUBuffer;
  readonly #sumSquares: GPUBuffer;
  readonly #minPositive: GPUBuffer;
  readonly #wMag?: GPUBuffer;
  readonly #wDecT: GPUBuffer;
  #step = 0;
  #sinceFired: Float32Array;
  #batchThreshold = 0;

  private constructor(gpu: Gpu, cfg: SaeTrainingConfig, params: ParameterMap) {
    this.#gpu = gpu;
    this.cfg = cfg;
    this.#widths = levelWidths(cfg);
    const { d_in: dIn, d_sae: dSae } = cfg;
    this.#params = [...params].map(([name, value]) => ({
      name,
      size: value.length,
      value: uploadBuffer(gpu, value, name),
      grad: emptyBuffer(gpu, value.byteLength, `${name} grad`),
      m: emptyBuffer(gpu, value.byteLength, `${name} adam m`),
      v: emptyBuffer(gpu, value.byteLength, `${name} adam v`),
    }));
    this.#deadMask = emptyBuffer(gpu, dSae * 4, "dead mask");
    this.#norms = emptyBuffer(gpu, dSae * 4, "decoder norms");
    this.#fired = emptyBuffer(gpu, dSae * 4, "fired");
    this.#actSums = emptyBuffer(gpu, dSae * 4, "activation sums");
    this.#sumSquares = emptyBuffer(gpu, this.#params.length * 4, "gradient sums of squares");
    this.#minPositive = emptyBuffer(gpu, 4, "min positive");
    if (cfg.architecture === "gated") this.#wMag = emptyBuffer(gpu, dIn * dSae * 4, "W_mag");
    this.#wDecT = emptyBuffer(gpu, dIn * dSae * 4, "W_dec transposed");
    this.#sinceFired = new Float32Array(dSae);
  }

  /**
   * Starts training a new SAE, or continues one from `state`.
   *
   * @param gpu The device.
   * @param cfg Settings; missing fields take {@linkcode SAE_TRAINING_DEFAULTS}.
   * @param rng Draws the initial weights (unused with `state`).
   * @param state A checkpoint's state, or initial parameters (e.g. b_dec from the data).
   * @returns The trainer.
   * @throws {RangeError} On k, widths or sizes that do not fit.
   */
  static create(
    gpu: Gpu,
    cfg: SaeTrainingConfig,
    rng: SeededRandom | (() => number),
    state?: Partial<TrainerState> & { tensors?: ParameterMap },
  ): SaeTrainer {
    const { d_in: dIn, d_sae: dSae } = cfg;
    if (!(Number.isInteger(dIn) && dIn > 0 && Number.isInteger(dSae) && dSae > 0)) {
      throw new RangeError(
        `Cannot train an SAE as d_in and d_sae must be positive integers: current values are ${dIn}, ${dSae}`,
      );
    }
    // The products read four columns at a time.
    const sizes: [string, number][] = [
      ["d_in", dIn],
      ["d_sae", dSae],
      ...levelWidths(cfg).map((w) => ["matryoshka_widths", w] as [string, number]),
    ];
    for (const [name, v] of sizes) {
      if (v % 4 !== 0) throw new RangeError(`Cannot train as ${name} must be multiples of 4: current value is ${v}`);
    }
    if (selectsByRank(cfg.architecture) && !(Number.isInteger(cfg.k) && cfg.k >= 1 && cfg.k <= dSae)) {
      throw new RangeError(`Cannot train as k must be an integer from 1 to d_sae ${dSae}: current value is ${cfg.k}`);
    }
    const params = initialParameters(cfg, rng);
    for (const [name, value] of state?.tensors ?? []) {
      if (name.startsWith("m.") || name.startsWith("v.")) continue;
      const own = params.get(name);
      if (!own || own.length !== value.length) {
        throw new TypeError(
          `Cannot start from tensor ${name} of ${value.length} values: the SAE expects ${own?.length ?? "none"}`,
        );
      }
      params.set(name, value);
    }
    // A trainer continuing past step 0 needs every parameter and both Adam moments of it.
    if ((state?.step ?? 0) > 0) {
      for (const name of params.keys()) {
        for (const key of [name, `m.${name}`, `v.${name}`]) {
          if (!state?.tensors?.has(key)) {
            throw new TypeError(`Cannot continue training at step ${state!.step} as tensor ${key} is missing`);
          }
        }
      }
    }
    const trainer = new SaeTrainer(gpu, cfg, params);
    for (const p of trainer.#params) {
      const m = state?.tensors?.get(`m.${p.name}`), v = state?.tensors?.get(`v.${p.name}`);
      if (m) writeToBuffer(gpu, p.m, m);
      if (v) writeToBuffer(gpu, p.v, v);
    }
    trainer.#step = state?.step ?? 0;
    if (state?.sinceFired) trainer.#sinceFired = Float32Array.from(state.sinceFired);
    trainer.#batchThreshold = state?.batchThreshold ?? 0;
    return trainer;
  }

  /** Steps taken. */
  get steps(): number {
    return this.#step;
  }

  /** BatchTopK's running threshold θ (saved as the JumpReLU threshold). */
  get batchThreshold(): number {
    return this.#batchThreshold;
  }

  /** Steps since each latent last fired. */
  get sinceFired(): Float32Array {
    return this.#sinceFired;
  }

  #scratchFor(rows: number): Scratch {
    if (this.#scratch && this.#scratch.rows >= rows) return this.#scratch;
    this.#destroyScratch();
    const gpu = this.#gpu, { d_in: dIn, d_sae: dSae } = this.cfg;
    const wide = (label: string) => emptyBuffer(gpu, rows * dSae * 4, label);
    const narrow = (label: string) => emptyBuffer(gpu, rows * dIn * 4, label);
    const gated = this.cfg.architecture === "gated";
    this.#scratch = {
      rows,
      x: narrow("x"),
      xin: narrow("sae_in"),
      pre: wide("hidden_pre"),
      preMag: gated ? wide("pi_mag") : undefined,
      acts: wide("feature_acts"),
      t: wide("d feature_acts"),
      t2: wide("d auxiliary acts"),
      aux: wide("auxiliary acts"),
      dpre: wide("d hidden_pre"),
      dpre2: wide("d second"),
      recon: narrow("sae_out"),
      levelGrads: this.#widths.map((w) => narrow(`d sae_out ${w}`)),
      dacc: narrow("d sae_out summed"),
      auxOut: narrow("auxiliary out"),
      auxGrad: narrow("d auxiliary out"),
      thresholds: emptyBuffer(gpu, rows * 4, "thresholds"),
      magGrad: gated ? emptyBuffer(gpu, dIn * dSae * 4, "d W_mag") : undefined,
    };
    return this.#scratch;
  }

  #destroyScratch(): void {
    if (!this.#scratch) return;
    for (const b of Object.values(this.#scratch)) {
      if (b instanceof GPUBuffer) b.destroy();
      else if (Array.isArray(b)) b.forEach((x) => x.destroy());
    }
    this.#scratch = undefined;
  }

  #param(name: string): Parameter {
    return this.#params.find((p) => p.name === name)!;
  }

  /** C = A·B (+C): see shaders/train_matmul.wgsl for the strides (B's offset and stride in floats). */
  #matmul(
    enc: GPUCommandEncoder,
    a: GPUBuffer,
    b: GPUBuffer,
    c: GPUBuffer,
    s: {
      m: number;
      n: number;
      k: number;
      aOff?: number;
      as0: number;
      as1: number;
      bOff?: number;
      ldb: number;
      cOff?: number;
      ldc: number;
      acc?: boolean;
    },
  ): void {
    const params = new Uint32Array([
      s.m,
      s.n / 4,
      s.k,
      s.aOff ?? 0,
      s.as0,
      s.as1,
      (s.bOff ?? 0) / 4,
      s.ldb / 4,
      s.cOff ?? 0,
      s.ldc,
      s.acc ? 1 : 0,
    ]);
    const groups: [number, number] = [Math.ceil(s.n / 4 / MATMUL_WG), Math.ceil(s.m / MATMUL_ROWS)];
    dispatch(this.#gpu, enc, MATMUL, params, [a, b, c], groups);
  }

  #elementwise(
    enc: GPUCommandEncoder,
    entry: string,
    count: number,
    cols: number,
    bindings: (GPUBuffer | undefined)[],
    alpha = 0,
    flag = 0,
  ): void {
    const params = new Uint32Array([count, cols, 0, flag]);
    new Float32Array(params.buffer)[2] = alpha;
    dispatch(this.#gpu, enc, ACT(entry), params, bindings, elementwiseGroups(count));
  }

  #columnSum(enc: GPUCommandEncoder, v: GPUBuffer, out: GPUBuffer, rows: number, cols: number, mode: number): void {
    dispatch(this.#gpu, enc, REDUCE, new Uint32Array([rows, cols, mode, 1]), [v, out], elementwiseGroups(cols));
  }

  /** A per-row loss term (shaders/train_residual.wgsl): `out` against x, or against x − x̂ with `xhat`. */
  #residual(
    enc: GPUCommandEncoder,
    entry: "mse" | "ghost",
    rows: number,
    scale: number,
    slot: number,
    buffers: { out: GPUBuffer; x: GPUBuffer; xhat?: GPUBuffer; grad: GPUBuffer; stats: Binding },
  ): void {
    const params = new Uint32Array([rows, this.cfg.d_in, 0, this.#statSlots, slot, buffers.xhat ? 1 : 0]);
    new Float32Array(params.buffer)[2] = scale;
    const { out, x, xhat, grad, stats } = buffers;
    dispatch(this.#gpu, enc, RESIDUAL(entry), params, [out, x, xhat ?? x, grad, stats], elementwiseGroups(rows));
  }

  #decoderRows(enc: GPUCommandEncoder, entry: string, scale: number, bindings: (GPUBuffer | undefined)[]): void {
    const params = new Uint32Array([this.cfg.d_sae, this.cfg.d_in, 0]);
    new Float32Array(params.buffer)[2] = scale;
    dispatch(this.#gpu, enc, DECODER(entry), params, bindings, elementwiseGroups(this.cfg.d_sae));
  }

  /** Per-row loss sums: 0 reconstruction, 1 auxiliary term, 2… matryoshka inner levels. */
  get #statSlots(): number {
    return 1 + this.#widths.length;
  }

  /**
   * Takes one training step on a batch of activations.
   *
   * @param x Activations, `rows × d_in` row-major.
   * @param coefficients Learning rate and sparsity coefficient for this step.
   * @returns The step's losses and statistics.
   * @throws {NonFiniteError} When the loss or the gradient norm is NaN or infinite.
   * @throws {TypeError} When `x` is not a whole number of rows.
   */
  async step(x: Float32Array, coefficients: StepCoefficients): Promise<StepResult> {
    const gpu = this.#gpu, cfg = this.cfg, { d_in: dIn, d_sae: dSae, architecture: arch } = cfg;
    if (x.length === 0 || x.length % dIn !== 0) {
      throw new TypeError(`A training batch must hold whole rows of d_in ${dIn} values: got ${x.length} values`);
    }
    const batch = x.length / dIn;
    const rank = selectsByRank(arch);
    const fit = Math.floor(Math.min(gpu.maxBindingBytes, MAX_SCRATCH_BYTES) / (dSae * 4) / 64) * 64;
    const maxRows = Math.min(Math.max(64, fit), 65472);
    const micro = Math.min(batch, maxRows);
    const s = this.#scratchFor(micro);
    const deadMask = new Float32Array(dSae);
    let deadCount = 0;
    for (let j = 0; j < dSae; j++) {
      if (this.#sinceFired[j] > cfg.dead_feature_window) deadMask[j] = 1, deadCount++;
    }
    const kAux = Math.min(Math.floor(dIn / 2), deadCount);
    const useAuxK = rank && kAux > 0 && cfg.aux_loss_coefficient > 0;
    const useGhost = arch === "standard" && cfg.use_ghost_grads && deadCount > 0;
    writeToBuffer(gpu, this.#deadMask, deadMask);
    writeToBuffer(gpu, this.#minPositive, new Uint32Array([0x7f7fffff]));
    const stats = emptyBuffer(gpu, batch * this.#statSlots * 4, "row losses");
    const W_enc = this.#param("W_enc"), W_dec = this.#param("W_dec"), b_dec = this.#param("b_dec");
    const b_enc = this.#param(arch === "gated" ? "b_gate" : "b_enc");
    const lambdaPerRow = coefficients.l1Coefficient / batch;

    let enc = gpu.device.createCommandEncoder({ label: "train step" });
    for (const p of this.#params) enc.clearBuffer(p.grad);
    enc.clearBuffer(this.#fired);
    enc.clearBuffer(this.#actSums);
    this.#decoderRows(enc, "row_norms", 0, [W_dec.value, undefined, undefined, this.#norms]);
    this.#elementwise(enc, "transpose", dIn * dSae, dSae, [W_dec.value, undefined, this.#wDecT]);
    if (arch === "gated") {
      this.#elementwise(enc, "gated_mag_weights", dIn * dSae, dSae, [
        W_enc.value,
        undefined,
        this.#wMag,
        this.#param("r_mag").value,
      ]);
    }
    for (let r0 = 0; r0 < batch; r0 += micro) {
      const rows = Math.min(micro, batch - r0);
      if (r0 > 0) enc = gpu.device.createCommandEncoder({ label: "train step" });
      writeToBuffer(gpu, s.x, x.subarray(r0 * dIn, (r0 + rows) * dIn));
      const wideCount = rows * dSae, narrowCount = rows * dIn;
      // sae_in
      enc.copyBufferToBuffer(s.x, 0, s.xin, 0, narrowCount * 4);
      if (cfg.apply_b_dec_to_input) {
        this.#elementwise(enc, "add_bias", narrowCount, dIn, [undefined, undefined, s.xin, b_dec.value], -1);
      }
      // hidden_pre (gated: π_gate, and π_mag)
      const encode = (w: GPUBuffer, bias: GPUBuffer, out: GPUBuffer) => {
        this.#matmul(enc, s.xin, w, out, { m: rows, n: dSae, k: dIn, as0: dIn, as1: 1, ldb: dSae, ldc: dSae });
        this.#elementwise(enc, "add_bias", wideCount, dSae, [undefined, undefined, out, bias], 1);
      };
      encode(W_enc.value, b_enc.value, s.pre);
      if (arch === "gated") encode(this.#wMag!, this.#param("b_mag").value, s.preMag!);
      // feature_acts
      if (arch === "standard") {
        this.#elementwise(enc, "relu", wideCount, dSae, [s.pre, undefined, s.acts]);
      } else if (arch === "jumprelu") {
        this.#elementwise(enc, "jumprelu", wideCount, dSae, [
          s.pre,
          undefined,
          s.acts,
          this.#param("log_threshold").value,
        ]);
      } else if (arch === "gated") {
        this.#elementwise(enc, "gated", wideCount, dSae, [s.pre, s.preMag, s.acts]);
      } else {
        const perRow = arch === "topk";
        const segments = perRow ? rows : 1;
        const params = perRow
          ? new Uint32Array([dSae, dSae, cfg.k, 0, dSae])
          : new Uint32Array([wideCount, 0, cfg.k * rows, 0, dSae]);
        dispatch(gpu, enc, SELECT, params, [s.pre, this.#deadMask, s.thresholds], [segments, 1]);
        this.#elementwise(
          enc,
          "threshold",
          wideCount,
          dSae,
          [
            s.pre,
            s.thresholds,
            s.acts,
            undefined,
            this.#minPositive,
          ],
          0,
          perRow ? 0 : 1,
        );
      }
      // Reconstructions of each level, their gradients, and ∂/∂f by suffix sums over levels.
      const widths = this.#widths;
      // widths increase, so s.recon ends as the full reconstruction.
      widths.forEach((w, l) => {
        const out = s.recon;
        this.#matmul(enc, s.acts, W_dec.value, out, { m: rows, n: dIn, k: w, as0: dSae, as1: 1, ldb: dIn, ldc: dIn });
        this.#elementwise(enc, "add_bias", narrowCount, dIn, [undefined, undefined, out, b_dec.value], 1);
        const last = l === widths.length - 1;
        this.#residual(enc, "mse", rows, 2 / batch, last ? 0 : 2 + l, {
          out,
          x: s.x,
          grad: s.levelGrads[l],
          stats: this.#statsSlice(stats, r0, rows),
        });
      });
      const dacc = widths.length === 1 ? s.levelGrads[0] : s.dacc;
      if (widths.length > 1) enc.copyBufferToBuffer(s.levelGrads[widths.length - 1], 0, s.dacc, 0, narrowCount * 4);
      for (let l = widths.length - 1; l >= 0; l--) {
        const start = l === 0 ? 0 : widths[l - 1], n = widths[l] - start;
        this.#matmul(enc, dacc, this.#wDecT, s.t, {
          m: rows,
          n,
          k: dIn,
          as0: dIn,
          as1: 1,
          bOff: start,
          ldb: dSae,
          cOff: start,
          ldc: dSae,
        });
        this.#matmul(enc, s.acts, dacc, W_dec.grad, {
          m: n,
          n: dIn,
          k: rows,
          aOff: start,
          as0: 1,
          as1: dSae,
          ldb: dIn,
          cOff: start * dIn,
          ldc: dIn,
          acc: true,
        });
        if (l > 0) {
          this.#elementwise(enc, "add_bias", narrowCount, narrowCount, [
            undefined,
            undefined,
            dacc,
            s.levelGrads[l - 1],
          ], 1);
        }
      }
      this.#columnSum(enc, dacc, b_dec.grad, rows, dIn, 0);
      // Auxiliary terms: ∂/∂(their acts) into t2.
      const decodeAux = () =>
        this.#matmul(enc, s.aux, W_dec.value, s.auxOut, {
          m: rows,
          n: dIn,
          k: dSae,
          as0: dSae,
          as1: 1,
          ldb: dIn,
          ldc: dIn,
        });
      const auxBackward = (decoderGrad: boolean) => {
        this.#matmul(enc, s.auxGrad, this.#wDecT, s.t2, {
          m: rows,
          n: dSae,
          k: dIn,
          as0: dIn,
          as1: 1,
          ldb: dSae,
          ldc: dSae,
        });
        if (decoderGrad) {
          this.#matmul(enc, s.aux, s.auxGrad, W_dec.grad, {
            m: dSae,
            n: dIn,
            k: rows,
            as0: 1,
            as1: dSae,
            ldb: dIn,
            ldc: dIn,
            acc: true,
          });
        }
      };
      const auxBuffers = (xhat?: GPUBuffer) => ({
        out: s.auxOut,
        x: s.x,
        xhat,
        grad: s.auxGrad,
        stats: this.#statsSlice(stats, r0, rows),
      });
      if (useAuxK) {
        dispatch(gpu, enc, SELECT, new Uint32Array([dSae, dSae, kAux, 1, dSae]), [
          s.pre,
          this.#deadMask,
          s.thresholds,
        ], [rows, 1]);
        this.#elementwise(enc, "auxk_select", wideCount, dSae, [s.pre, s.thresholds, s.aux, this.#deadMask]);
        decodeAux();
        const scale = cfg.aux_loss_coefficient * Math.min(deadCount / Math.floor(dIn / 2), 1);
        this.#residual(enc, "mse", rows, scale * 2 / batch, 1, auxBuffers(s.recon));
        auxBackward(true);
      } else if (useGhost) {
        this.#elementwise(enc, "ghost_acts", wideCount, dSae, [s.pre, undefined, s.aux, this.#deadMask]);
        decodeAux();
        this.#residual(enc, "ghost", rows, 1 / (batch * dIn), 1, auxBuffers(s.recon));
        auxBackward(true);
      } else if (arch === "gated") {
        this.#elementwise(enc, "relu", wideCount, dSae, [s.pre, undefined, s.aux]);
        decodeAux();
        this.#elementwise(enc, "add_bias", narrowCount, dIn, [undefined, undefined, s.auxOut, b_dec.value], 1);
        this.#residual(enc, "mse", rows, 2 / batch, 1, auxBuffers());
        auxBackward(false);
      }
      // ∂/∂hidden_pre
      const flag = useAuxK || useGhost ? 1 : 0;
      const bw = (entry: string, c1: number, c2: number, f: number, bindings: (GPUBuffer | undefined)[]) => {
        const params = new Uint32Array([wideCount, dSae, 0, 0, f]);
        new Float32Array(params.buffer).set([c1, c2], 2);
        dispatch(gpu, enc, BACKWARD(entry), params, bindings, elementwiseGroups(wideCount));
      };
      if (arch === "standard") {
        bw("standard", lambdaPerRow, 0, flag, [s.acts, useGhost ? s.aux : s.pre, s.t, s.t2, this.#norms, s.dpre]);
      } else if (rank) {
        bw("topk", 0, 0, flag, [s.acts, useAuxK ? s.aux : s.pre, s.t, s.t2, undefined, s.dpre]);
      } else if (arch === "jumprelu") {
        const logThreshold = this.#param("log_threshold").value;
        bw("jumprelu", lambdaPerRow, cfg.jumprelu_bandwidth, 0, [
          undefined,
          s.pre,
          s.t,
          undefined,
          logThreshold,
          s.dpre,
          s.dpre2,
        ]);
      } else {
        bw("gated", lambdaPerRow, 0, 0, [s.acts, s.pre, s.t, s.t2, this.#norms, s.dpre, s.dpre2]);
      }
      // Parameter gradients through the encoder.
      const encoderGrad = (dpre: GPUBuffer, target: GPUBuffer, acc: boolean) =>
        this.#matmul(enc, s.xin, dpre, target, {
          m: dIn,
          n: dSae,
          k: rows,
          as0: 1,
          as1: dIn,
          ldb: dSae,
          ldc: dSae,
          acc,
        });
      if (arch === "gated") {
        encoderGrad(s.dpre2, W_enc.grad, true);
        this.#columnSum(enc, s.dpre2, b_enc.grad, rows, dSae, 0);
        encoderGrad(s.dpre, s.magGrad!, false);
        dispatch(gpu, enc, GATED_MAGNITUDE, new Uint32Array([dIn, dSae]), [
          s.magGrad!,
          W_enc.value,
          this.#param("r_mag").value,
          W_enc.grad,
          this.#param("r_mag").grad,
        ], elementwiseGroups(dSae));
        this.#columnSum(enc, s.dpre, this.#param("b_mag").grad, rows, dSae, 0);
        this.#columnSum(enc, s.pre, this.#actSums, rows, dSae, 2);
      } else {
        encoderGrad(s.dpre, W_enc.grad, true);
        this.#columnSum(enc, s.dpre, b_enc.grad, rows, dSae, 0);
        this.#columnSum(enc, s.acts, this.#actSums, rows, dSae, 0);
        if (arch === "jumprelu") this.#columnSum(enc, s.dpre2, this.#param("log_threshold").grad, rows, dSae, 0);
      }
      this.#columnSum(enc, s.acts, this.#fired, rows, dSae, 1);
      gpu.device.queue.submit([enc.finish()]);
    }

    enc = gpu.device.createCommandEncoder({ label: "train update" });
    if (cfg.apply_b_dec_to_input) {
      // sae_in = x − b_dec: b_dec's gradient loses Σ_batch ∂/∂sae_in = W_enc · Σ_batch ∂/∂hidden_pre.
      const back = (w: GPUBuffer, dBias: GPUBuffer) =>
        dispatch(
          gpu,
          enc,
          MATVEC,
          new Uint32Array([dIn, dSae, 0, 0]),
          [dBias, undefined, w, b_dec.grad],
          elementwiseGroups(dIn),
        );
      back(W_enc.value, b_enc.grad);
      if (arch === "gated") back(this.#wMag!, this.#param("b_mag").grad);
    }
    if (arch === "standard" || arch === "gated") {
      this.#decoderRows(enc, "norm_grad", lambdaPerRow, [W_dec.value, W_dec.grad, this.#actSums]);
    }
    if (rank) this.#decoderRows(enc, "remove_parallel", 0, [W_dec.value, W_dec.grad]);
    const t = this.#step + 1;
    const { adam_beta1: beta1, adam_beta2: beta2 } = cfg;
    this.#params.forEach((p, slot) => {
      const params = this.#optimizerParams(p.size, slot, coefficients.lr, t, beta1, beta2);
      dispatch(
        gpu,
        enc,
        OPTIMIZER("sum_squares"),
        params,
        [undefined, p.grad, undefined, undefined, this.#sumSquares],
        [
          1,
          1,
        ],
      );
    });
    // The clip factor needs every tensor's sum, so all sums come before the first update.
    this.#params.forEach((p, slot) => {
      const params = this.#optimizerParams(p.size, slot, coefficients.lr, t, beta1, beta2);
      dispatch(
        gpu,
        enc,
        OPTIMIZER("adam"),
        params,
        [p.value, p.grad, p.m, p.v, this.#sumSquares],
        elementwiseGroups(p.size),
      );
    });
    if (rank) this.#decoderRows(enc, "normalize", 0, [W_dec.value]);
    gpu.device.queue.submit([enc.finish()]);

    const [statsBytes, firedBytes, sumsBytes, normsBytes, squaresBytes, minBytes] = await readBuffers(gpu, [
      { buffer: stats, bytes: batch * this.#statSlots * 4 },
      { buffer: this.#fired, bytes: dSae * 4 },
      { buffer: this.#actSums, bytes: dSae * 4 },
      { buffer: this.#norms, bytes: dSae * 4 },
      { buffer: this.#sumSquares, bytes: this.#params.length * 4 },
      { buffer: this.#minPositive, bytes: 4 },
    ]);
    stats.destroy();
    this.#step = t;
    const rowStats = new Float32Array(statsBytes), fired = new Float32Array(firedBytes);
    const actSums = new Float32Array(sumsBytes), norms = new Float32Array(normsBytes);
    const slotSum = (slot: number) => {
      let total = 0;
      for (let r = 0; r < batch; r++) total += rowStats[r * this.#statSlots + slot];
      return total;
    };
    const losses: Record<string, number> = { mse_loss: slotSum(0) / batch };
    let firedTotal = 0;
    for (let j = 0; j < dSae; j++) {
      firedTotal += fired[j];
      this.#sinceFired[j] = fired[j] > 0 ? 0 : this.#sinceFired[j] + 1;
    }
    if (arch === "standard" || arch === "gated") {
      let weighted = 0;
      for (let j = 0; j < dSae; j++) weighted += actSums[j] * norms[j];
      losses.l1_loss = lambdaPerRow * weighted;
    }
    if (arch === "jumprelu") losses.l0_loss = lambdaPerRow * firedTotal;
    if (arch === "gated") losses.auxiliary_reconstruction_loss = slotSum(1) / batch;
    if (useAuxK) {
      losses.auxiliary_reconstruction_loss = cfg.aux_loss_coefficient * Math.min(deadCount / Math.floor(dIn / 2), 1) *
        slotSum(1) / batch;
    }
    if (useGhost) losses.ghost_grad_loss = slotSum(1) / (batch * dIn);
    this.#widths.slice(0, -1).forEach((w, l) => losses[`inner_mse_loss_${w}`] = slotSum(2 + l) / batch);
    const loss = Object.values(losses).reduce((a, b) => a + b, 0);
    const gradNorm = Math.sqrt(new Float32Array(squaresBytes).reduce((a, b) => a + b, 0));
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
      throw new NonFiniteError(
        `Training step ${t} gave a non-finite ${Number.isFinite(loss) ? "gradient norm" : "loss"} (${
          Number.isFinite(loss) ? gradNorm : loss
        }): the weights after it are not kept`,
      );
    }
    if (arch === "batchtopk" || arch === "matryoshka_batchtopk") {
      const minPositive = new Float32Array(minBytes)[0];
      if (minPositive < 3.4e38) {
        this.#batchThreshold = (1 - cfg.topk_threshold_lr) * this.#batchThreshold + cfg.topk_threshold_lr * minPositive;
      }
    }
    return {
      loss,
      losses,
      l0: firedTotal / batch,
      explainedVariance: 1 - slotSum(0) / totalVariance(x, dIn),
      gradNorm,
      fired,
      deadCount,
      rowLoss: Float32Array.from({ length: batch }, (_, r) => rowStats[r * this.#statSlots]),
    };
  }

  /** The rows of `stats` from `r0` on (micro-batches start at multiples of 64 rows: aligned offsets). */
  #statsSlice(stats: GPUBuffer, r0: number, rows: number): Binding {
    const width = this.#statSlots * 4;
    return { buffer: stats, offset: r0 * width, size: rows * width };
  }

  #optimizerParams(n: number, slot: number, lr: number, t: number, beta1: number, beta2: number): Uint32Array {
    const params = new Uint32Array(9);
    params.set([n, slot, this.#params.length]);
    new Float32Array(params.buffer).set([
      lr / (1 - beta1 ** t),
      Math.sqrt(1 - beta2 ** t),
      beta1,
      beta2,
      1e-8,
      1,
    ], 3);
    return params;
  }

  /**
   * Reads the parameters and Adam moments back (for checkpoints and saving).
   *
   * @returns The state a checkpoint keeps.
   */
  async state(): Promise<TrainerState> {
    const buffers = this.#params.flatMap((p) => [p.value, p.m, p.v].map((buffer) => ({ buffer, bytes: p.size * 4 })));
    const read = await readBuffers(this.#gpu, buffers);
    const tensors: ParameterMap = new Map();
    this.#params.forEach((p, i) => {
      tensors.set(p.name, new Float32Array(read[3 * i]));
      tensors.set(`m.${p.name}`, new Float32Array(read[3 * i + 1]));
      tensors.set(`v.${p.name}`, new Float32Array(read[3 * i + 2]));
    });
    return {
      tensors,
      step: this.#step,
      sinceFired: Float32Array.from(this.#sinceFired),
      batchThreshold: this.#batchThreshold,
    };
  }

  /**
   * Reads the gradients of the last step, before clipping (unit-norm decoders: without the part
   * along each row), for checks against finite differences.
   *
   * @returns Gradients by parameter name.
   */
  async gradients(): Promise<ParameterMap> {
    const read = await readBuffers(this.#gpu, this.#params.map((p) => ({ buffer: p.grad, bytes: p.size * 4 })));
    return new Map(this.#params.map((p, i) => [p.name, new Float32Array(read[i])]));
  }

  /**
   * Replaces parameters or Adam moments (`m.NAME`, `v.NAME`), as dead-latent resampling does.
   *
   * @param tensors New values by name, as {@linkcode SaeTrainer.state} names them.
   * @throws {TypeError} On an unknown name or a wrong length.
   */
  setTensors(tensors: ParameterMap): void {
    for (const [name, value] of tensors) {
      const [kind, base] = name.startsWith("m.") || name.startsWith("v.") ? [name[0], name.slice(2)] : ["", name];
      const p = this.#param(base);
      if (!p || p.size !== value.length) throw new TypeError(`The SAE has no tensor ${name} of ${value.length} values`);
      writeToBuffer(this.#gpu, kind === "m" ? p.m : kind === "v" ? p.v : p.value, value);
    }
  }

  /** Frees the GPU buffers. */
  destroy(): void {
    this.#destroyScratch();
    for (const p of this.#params) for (const b of [p.value, p.grad, p.m, p.v]) b.destroy();
    for (const b of [this.#deadMask, this.#norms, this.#fired, this.#actSums, this.#sumSquares, this.#minPositive]) {
      b.destroy();
    }
    this.#wMag?.destroy();
    this.#wDecT.destroy();
  }
}

/** Σ_d Σ_b (x_bd − mean_d)², in float64. */
function totalVariance(x: Float32Array, dIn: number): number {
  const rows = x.length / dIn;
  const mean = new Float64Array(dIn);
  for (let i = 0; i < x.length; i++) mean[i % dIn] += x[i];
  for (let d = 0; d < dIn; d++) mean[d] /= rows;
  let total = 0;
  for (let i = 0; i < x.length; i++) total += (x[i] - mean[i % dIn]) ** 2;
  return total;
}
