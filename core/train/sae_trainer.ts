/**
 * One SAE in training on the GPU: its parameters, Adam state and dead-latent counters, and the
 * training step (forward, every loss term, backward, clipping, Adam) recorded as WGSL dispatches.
 *
 * @module
 */

import type { Gpu } from "../gpu/device.ts";
import { type Binding, submit } from "../gpu/pipelines.ts";
import { emptyBuffer, readBuffers, uploadBuffer, writeToBuffer } from "../gpu/tensor.ts";
import type { SeededRandom } from "../util/mulberry32.ts";
import { trainingArchitecture } from "./training_architectures.ts";
import type { StepContext, TrainingArchitecture } from "./training_architecture.ts";
import { levelWidths, type SaeTrainingConfig } from "./sae_training_config.ts";
import { TrainKernels } from "./train_kernels.ts";
import { recordReconstruction } from "./reconstruction_step.ts";
import { KeptLists } from "./kept_lists.ts";
import { allocateScratch, destroyScratch, type Scratch } from "./step_scratch.ts";
import { type StepCoefficients, type StepResult, stepResult } from "./step_result.ts";

import { initialParameters, type ParameterMap } from "./initial_parameters.ts";

/** Largest [rows, d_sae] scratch buffer a micro-batch uses; larger batches run in pieces. */
const MAX_SCRATCH_BYTES = 512 * 1024 * 1024;

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

/** Options of {@linkcode SaeTrainer.create}. */
export interface SaeTrainerOptions {
  /**
   * The TopK family decodes and takes the decoder and encoder gradients from the kept latents only (sparsify's
   * idea); `false` runs the dense products over every latent instead, which the tests compare against.
   * @default {true}
   */
  sparse?: boolean;
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
  readonly #arch: TrainingArchitecture;
  readonly #kernels: TrainKernels;
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
  #lists?: KeptLists;
  #sinceFired: Float32Array;
  #batchThreshold = 0;

  private constructor(gpu: Gpu, cfg: SaeTrainingConfig, params: ParameterMap) {
    this.#gpu = gpu;
    this.cfg = cfg;
    this.#arch = trainingArchitecture(cfg.architecture);
    this.#kernels = new TrainKernels(gpu, cfg);
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
    if (this.#arch.prepare) this.#wMag = emptyBuffer(gpu, dIn * dSae * 4, "W_mag");
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
    options: SaeTrainerOptions = {},
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
    if (
      trainingArchitecture(cfg.architecture).decoder === "unit_norm" &&
      !(Number.isInteger(cfg.k) && cfg.k >= 1 && cfg.k <= dSae)
    ) {
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
    const keeps = trainer.#arch.sparse;
    if ((options.sparse ?? true) && keeps) trainer.#lists = new KeptLists(gpu, cfg, keeps.keptPerRow(cfg));
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
    if (this.#scratch) destroyScratch(this.#scratch);
    this.#scratch = allocateScratch(this.#gpu, this.cfg, rows, this.#widths, this.#wMag !== undefined);
    return this.#scratch;
  }

  #param(name: string): Parameter {
    return this.#params.find((p) => p.name === name)!;
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
    const gpu = this.#gpu, cfg = this.cfg, arch = this.#arch, k = this.#kernels, { d_in: dIn, d_sae: dSae } = cfg;
    if (x.length === 0 || x.length % dIn !== 0) {
      throw new TypeError(`A training batch must hold whole rows of d_in ${dIn} values: got ${x.length} values`);
    }
    const batch = x.length / dIn;
    const fit = Math.floor(Math.min(gpu.maxBindingBytes, MAX_SCRATCH_BYTES) / (dSae * 4) / 64) * 64;
    const maxRows = Math.min(Math.max(64, fit), 65472);
    const micro = Math.min(batch, maxRows);
    const s = this.#scratchFor(micro);
    const deadMask = new Float32Array(dSae);
    let deadCount = 0;
    for (let j = 0; j < dSae; j++) {
      if (this.#sinceFired[j] > cfg.dead_feature_window) deadMask[j] = 1, deadCount++;
    }
    const term = arch.auxiliaryTerm(cfg, deadCount);
    writeToBuffer(gpu, this.#deadMask, deadMask);
    writeToBuffer(gpu, this.#minPositive, new Uint32Array([0x7f7fffff]));
    const stats = emptyBuffer(gpu, batch * this.#statSlots * 4, "row losses");
    const param = (name: string) => this.#param(name);
    const W_dec = param("W_dec"), b_dec = param("b_dec");
    const lambdaPerRow = coefficients.l1Coefficient / batch;

    let enc = gpu.device.createCommandEncoder({ label: "train step" });
    for (const p of this.#params) enc.clearBuffer(p.grad);
    enc.clearBuffer(this.#fired);
    enc.clearBuffer(this.#actSums);
    k.decoderRows(enc, "row_norms", { wDec: W_dec.value, norms: this.#norms });
    // W_decᵀ serves the dense products only
    if (!this.#lists) {
      k.elementwise(enc, "transpose", { count: dIn * dSae, cols: dSae }, { src: W_dec.value, dst: this.#wDecT });
    }
    arch.prepare?.(k, enc, { param, wMag: this.#wMag, cfg });
    for (let r0 = 0; r0 < batch; r0 += micro) {
      const rows = Math.min(micro, batch - r0);
      if (r0 > 0) enc = gpu.device.createCommandEncoder({ label: "train step" });
      writeToBuffer(gpu, s.x, x.subarray(r0 * dIn, (r0 + rows) * dIn));
      const ctx: StepContext = {
        kernels: k,
        enc,
        cfg,
        rows,
        batch,
        s,
        param,
        wDecT: this.#wDecT,
        wMag: this.#wMag,
        deadMask: this.#deadMask,
        deadCount,
        norms: this.#norms,
        actSums: this.#actSums,
        minPositive: this.#minPositive,
        lambdaPerRow,
        stats: this.#statsSlice(stats, r0, rows),
        slots: this.#statSlots,
        sparse: this.#lists?.for(micro),
      };
      const narrow = { count: rows * dIn, cols: dIn };
      // sae_in
      enc.copyBufferToBuffer(s.x, 0, s.xin, 0, narrow.count * 4);
      if (cfg.apply_b_dec_to_input) k.addBias(enc, s.xin, b_dec.value, narrow, -1);
      arch.forward(ctx, term);
      if (this.#lists) enc = ctx.enc = await this.#lists.fit(ctx, (c) => arch.forward(c, term), term !== undefined);
      recordReconstruction(ctx, this.#widths, s.levelGrads, s.dRecon);
      if (term) arch.auxiliary?.(ctx, term);
      arch.backward(ctx, term);
      arch.encoderGradients(ctx);
      k.columnSum(enc, s.acts, this.#fired, { rows, cols: dSae }, 1);
      submit(gpu, enc);
    }

    enc = gpu.device.createCommandEncoder({ label: "train update" });
    if (cfg.apply_b_dec_to_input) {
      // sae_in = x − b_dec: b_dec's gradient loses Σ_batch ∂/∂sae_in = W · Σ_batch ∂/∂bias for each encoder
      for (const [w, dBias] of arch.inputBiases({ param, wMag: this.#wMag })) {
        k.inputBiasGrad(enc, { dBias, w, out: b_dec.grad });
      }
    }
    if (arch.sparsity === "l1_decoder_norm") {
      k.decoderRows(enc, "norm_grad", { wDec: W_dec.value, grad: W_dec.grad, actSums: this.#actSums }, lambdaPerRow);
    }
    if (arch.decoder === "unit_norm") k.decoderRows(enc, "remove_parallel", { wDec: W_dec.value, grad: W_dec.grad });
    const t = this.#step + 1;
    const adam = { lr: coefficients.lr, t, beta1: cfg.adam_beta1, beta2: cfg.adam_beta2, slots: this.#params.length };
    // The clip factor needs every tensor's sum, so all sums come before the first update.
    this.#params.forEach((p, slot) => {
      k.optimizer(enc, "sum_squares", { ...adam, size: p.size, slot }, { grad: p.grad, sumSquares: this.#sumSquares });
    });
    this.#params.forEach((p, slot) => {
      k.optimizer(enc, "adam", { ...adam, size: p.size, slot }, {
        value: p.value,
        grad: p.grad,
        m: p.m,
        v: p.v,
        sumSquares: this.#sumSquares,
      });
    });
    if (arch.decoder === "unit_norm") k.decoderRows(enc, "normalize", { wDec: W_dec.value });
    submit(gpu, enc);

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
    const fired = new Float32Array(firedBytes);
    for (let j = 0; j < dSae; j++) this.#sinceFired[j] = fired[j] > 0 ? 0 : this.#sinceFired[j] + 1;
    const result = stepResult({
      arch,
      x,
      dIn,
      step: t,
      rowStats: new Float32Array(statsBytes),
      slots: this.#statSlots,
      fired,
      actSums: new Float32Array(sumsBytes),
      norms: new Float32Array(normsBytes),
      sumSquares: new Float32Array(squaresBytes),
      lambdaPerRow,
      term,
      widths: this.#widths,
      deadCount,
    });
    if (arch.updateThreshold) {
      const minKept = new Float32Array(minBytes)[0];
      this.#batchThreshold = arch.updateThreshold(this.#batchThreshold, minKept < 3.4e38 ? minKept : undefined, cfg);
    }
    return result;
  }

  /** The rows of `stats` from `r0` on (micro-batches start at multiples of 64 rows: aligned offsets). */
  #statsSlice(stats: GPUBuffer, r0: number, rows: number): Binding {
    const width = this.#statSlots * 4;
    return { buffer: stats, offset: r0 * width, size: rows * width };
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
    if (this.#scratch) destroyScratch(this.#scratch);
    this.#scratch = undefined;
    for (const p of this.#params) for (const b of [p.value, p.grad, p.m, p.v]) b.destroy();
    for (const b of [this.#deadMask, this.#norms, this.#fired, this.#actSums, this.#sumSquares, this.#minPositive]) {
      b.destroy();
    }
    this.#wMag?.destroy();
    this.#wDecT.destroy();
    this.#lists?.destroy();
  }
}
