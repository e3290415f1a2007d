/**
 * The WebGPU engine of {@linkcode SaeTrainer}: parameters, gradients and Adam moments in GPU buffers, and
 * the training step (forward, every loss term, backward, clipping, Adam) recorded as WGSL dispatches.
 *
 * @module
 */

import type { Gpu } from "../gpu/device.ts";
import { type Binding, submit } from "../gpu/pipelines.ts";
import { emptyBuffer, readBuffers, uploadBuffer, writeToBuffer } from "../gpu/tensor.ts";
import { trainingArchitecture } from "./training_architectures.ts";
import type { StepContext, TrainingArchitecture } from "./training_architecture.ts";
import { levelWidths, type SaeTrainingConfig, sparsityByDecoderNorm, unitNormDecoder } from "./sae_training_config.ts";
import { TrainKernels } from "./train_kernels.ts";
import { recordReconstruction } from "./reconstruction_step.ts";
import { KeptLists } from "./kept_lists.ts";
import { allocateScratch, destroyScratch, type Scratch } from "./step_scratch.ts";
import { type ParameterMap, tensorKind } from "./initial_parameters.ts";
import { FLOAT32_MAX } from "../util/float32.ts";
import type { EngineReadback, EngineStepInput, TrainerEngine } from "./trainer_engine.ts";

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

/**
 * An SAE's training state on a WebGPU device.
 *
 * @example
 * ```ts ignore
 * const engine = new GpuTrainerEngine(gpu, cfg, params, new Map(), true);
 * const readback = await engine.step(input);
 * ```
 */
export class GpuTrainerEngine implements TrainerEngine {
  readonly #cfg: SaeTrainingConfig;
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
  readonly #lists?: KeptLists;

  /**
   * Uploads the parameters and moments.
   *
   * @param gpu The device.
   * @param cfg The SAE's settings.
   * @param params Initial parameters, in storage order.
   * @param moments Adam moments to start from (`m.NAME`, `v.NAME`); missing ones start at 0.
   * @param sparse Whether the TopK family decodes and takes its gradients from the kept latents.
   */
  constructor(gpu: Gpu, cfg: SaeTrainingConfig, params: ParameterMap, moments: ParameterMap, sparse: boolean) {
    this.#gpu = gpu;
    this.#cfg = cfg;
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
    // a plain L1 (scale_sparsity_penalty_by_decoder_norm false) weighs every latent 1, step after step
    if (!sparsityByDecoderNorm(cfg)) writeToBuffer(gpu, this.#norms, new Float32Array(dSae).fill(1));
    this.#fired = emptyBuffer(gpu, dSae * 4, "fired");
    this.#actSums = emptyBuffer(gpu, dSae * 4, "activation sums");
    this.#sumSquares = emptyBuffer(gpu, this.#params.length * 4, "gradient sums of squares");
    this.#minPositive = emptyBuffer(gpu, 4, "min positive");
    if (this.#arch.prepare) this.#wMag = emptyBuffer(gpu, dIn * dSae * 4, "W_mag");
    this.#wDecT = emptyBuffer(gpu, dIn * dSae * 4, "W_dec transposed");
    const keeps = this.#arch.sparse;
    if (sparse && keeps) this.#lists = new KeptLists(gpu, cfg, keeps.keptPerRow(cfg));
    this.setTensors(moments);
  }

  #scratchFor(rows: number): Scratch {
    if (this.#scratch && this.#scratch.rows >= rows) return this.#scratch;
    if (this.#scratch) destroyScratch(this.#scratch);
    this.#scratch = allocateScratch(this.#gpu, this.#cfg, rows, this.#widths, {
      magnitude: this.#wMag !== undefined,
      lpFactors: this.#cfg.lp_norm !== 1,
    });
    return this.#scratch;
  }

  #param(name: string): Parameter {
    return this.#params.find((p) => p.name === name)!;
  }

  /** Per-row loss sums: 0 reconstruction, 1 auxiliary term, 2… matryoshka inner levels. */
  get #statSlots(): number {
    return 1 + this.#widths.length;
  }

  async step(input: EngineStepInput): Promise<EngineReadback> {
    const gpu = this.#gpu, cfg = this.#cfg, arch = this.#arch, k = this.#kernels, { d_in: dIn, d_sae: dSae } = cfg;
    const { x, batch, term, lambdaPerRow } = input;
    const fit = Math.floor(Math.min(gpu.maxBindingBytes, MAX_SCRATCH_BYTES) / (dSae * 4) / 64) * 64;
    const maxRows = Math.min(Math.max(64, fit), 65472);
    const micro = Math.min(batch, maxRows);
    const s = this.#scratchFor(micro);
    writeToBuffer(gpu, this.#deadMask, input.deadMask);
    writeToBuffer(gpu, this.#minPositive, new Uint32Array([0x7f7fffff]));
    const stats = emptyBuffer(gpu, batch * this.#statSlots * 4, "row losses");
    const param = (name: string) => this.#param(name);
    const W_dec = param("W_dec"), b_dec = param("b_dec");

    let enc = gpu.device.createCommandEncoder({ label: "train step" });
    for (const p of this.#params) enc.clearBuffer(p.grad);
    enc.clearBuffer(this.#fired);
    enc.clearBuffer(this.#actSums);
    if (sparsityByDecoderNorm(cfg)) k.decoderRows(enc, "row_norms", { wDec: W_dec.value, norms: this.#norms });
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
        deadCount: input.deadCount,
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
    if (arch.sparsity === "l1_decoder_norm" && sparsityByDecoderNorm(cfg)) {
      k.decoderRows(enc, "norm_grad", { wDec: W_dec.value, grad: W_dec.grad, actSums: this.#actSums }, lambdaPerRow);
    }
    if (unitNormDecoder(cfg)) k.decoderRows(enc, "remove_parallel", { wDec: W_dec.value, grad: W_dec.grad });
    const adam = { lr: input.lr, t: input.t, beta1: cfg.adam_beta1, beta2: cfg.adam_beta2, slots: this.#params.length };
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
    if (unitNormDecoder(cfg)) k.decoderRows(enc, "normalize", { wDec: W_dec.value });
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
    const minKept = new Float32Array(minBytes)[0];
    return {
      rowStats: new Float32Array(statsBytes),
      fired: new Float32Array(firedBytes),
      actSums: new Float32Array(sumsBytes),
      norms: new Float32Array(normsBytes),
      sumSquares: new Float32Array(squaresBytes),
      minKept: minKept < FLOAT32_MAX ? minKept : undefined,
    };
  }

  /** The rows of `stats` from `r0` on (micro-batches start at multiples of 64 rows: aligned offsets). */
  #statsSlice(stats: GPUBuffer, r0: number, rows: number): Binding {
    const width = this.#statSlots * 4;
    return { buffer: stats, offset: r0 * width, size: rows * width };
  }

  async state(): Promise<ParameterMap> {
    const buffers = this.#params.flatMap((p) => [p.value, p.m, p.v].map((buffer) => ({ buffer, bytes: p.size * 4 })));
    const read = await readBuffers(this.#gpu, buffers);
    const tensors: ParameterMap = new Map();
    this.#params.forEach((p, i) => {
      tensors.set(p.name, new Float32Array(read[3 * i]));
      tensors.set(`m.${p.name}`, new Float32Array(read[3 * i + 1]));
      tensors.set(`v.${p.name}`, new Float32Array(read[3 * i + 2]));
    });
    return tensors;
  }

  async gradients(): Promise<ParameterMap> {
    const read = await readBuffers(this.#gpu, this.#params.map((p) => ({ buffer: p.grad, bytes: p.size * 4 })));
    return new Map(this.#params.map((p, i) => [p.name, new Float32Array(read[i])]));
  }

  setTensors(tensors: ParameterMap): void {
    for (const [name, value] of tensors) {
      const { moment, parameter } = tensorKind(name);
      const p = this.#param(parameter);
      writeToBuffer(this.#gpu, moment === "m" ? p.m : moment === "v" ? p.v : p.value, value);
    }
  }

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
