/**
 * One SAE in training, on the device it was created for: the settings and state checks, the dead-latent
 * counters and the step statistics here, the step itself in a {@linkcode TrainerEngine} (WGSL kernels on
 * WebGPU, or ONNX Runtime's native kernels on the CPU).
 *
 * @module
 */

import type { Gpu } from "../gpu/device.ts";
import type { SeededRandom } from "../util/mulberry32.ts";
import { trainingArchitecture } from "./training_architectures.ts";
import type { TrainingArchitecture } from "./training_architecture.ts";
import { levelWidths, type SaeTrainingConfig } from "./sae_training_config.ts";
import { type StepCoefficients, type StepResult, stepResult } from "./step_result.ts";
import { initialParameters, type ParameterMap, tensorKind } from "./initial_parameters.ts";
import type { TrainerEngine } from "./trainer_engine.ts";
import { GpuTrainerEngine } from "./gpu_trainer_engine.ts";
import { CpuTrainerEngine } from "./cpu_trainer_engine.ts";

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
   * On WebGPU, the TopK family decodes and takes the decoder and encoder gradients from the kept latents only
   * (sparsify's idea); `false` runs the dense products over every latent instead, which the tests compare against.
   * On the cpu engine the TopK family always decodes from the kept latents; `true` sums its W_enc and W_dec
   * gradients from them on the host, `false` takes dense products, and unset picks by width (dense products while
   * d_sae ≤ 64 · k, where a GEMM costs fewer operations than the host's additions).
   * @default {true on WebGPU; by width on the cpu}
   */
  sparse?: boolean;
}

/**
 * An SAE being trained: call {@linkcode SaeTrainer.step} with each batch of activations.
 *
 * @example Train a few steps on random data, on the CPU
 * ```ts ignore
 * import { mulberry32 } from "../util/mulberry32.ts";
 * import { SAE_TRAINING_DEFAULTS } from "./sae_training_config.ts";
 * import { SaeTrainer } from "./sae_trainer.ts";
 * const rng = mulberry32(0);
 * const cfg = { ...SAE_TRAINING_DEFAULTS, architecture: "topk" as const, d_in: 16, d_sae: 64, k: 4 };
 * const trainer = SaeTrainer.create("cpu", cfg, rng);
 * const x = Float32Array.from({ length: 32 * 16 }, () => rng() - 0.5);
 * const r = await trainer.step(x, { lr: 1e-3, l1Coefficient: 0 });
 * console.log(r.l0); // 4
 * ```
 */
export class SaeTrainer {
  /** The SAE's settings, defaults filled in. */
  readonly cfg: SaeTrainingConfig;
  /** Where it trains. */
  readonly device: "webgpu" | "cpu";
  readonly #arch: TrainingArchitecture;
  readonly #engine: TrainerEngine;
  readonly #sizes: Map<string, number>;
  #step = 0;
  #sinceFired: Float32Array;
  #batchThreshold = 0;

  private constructor(cfg: SaeTrainingConfig, device: "webgpu" | "cpu", engine: TrainerEngine, params: ParameterMap) {
    this.cfg = cfg;
    this.device = device;
    this.#arch = trainingArchitecture(cfg.architecture);
    this.#engine = engine;
    this.#sizes = new Map([...params].map(([name, v]) => [name, v.length]));
    this.#sinceFired = new Float32Array(cfg.d_sae);
  }

  /**
   * Starts training a new SAE, or continues one from `state`.
   *
   * @param device A WebGPU device, or `"cpu"` for ONNX Runtime's native kernels (needs `--allow-ffi`).
   * @param cfg Settings; missing fields take {@linkcode SAE_TRAINING_DEFAULTS}.
   * @param rng Draws the initial weights (unused with `state`).
   * @param state A checkpoint's state, or initial parameters (e.g. b_dec from the data).
   * @param options Engine choices.
   * @returns The trainer.
   * @throws {RangeError} On k, widths or sizes that do not fit.
   */
  static create(
    device: Gpu | "cpu",
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
    // The WGSL products read four columns at a time.
    const sizes: [string, number][] = [
      ["d_in", dIn],
      ["d_sae", dSae],
      ...levelWidths(cfg).map((w) => ["matryoshka_widths", w] as [string, number]),
    ];
    for (const [name, v] of device === "cpu" ? [] : sizes) {
      if (v % 4 !== 0) throw new RangeError(`Cannot train as ${name} must be multiples of 4: current value is ${v}`);
    }
    if (
      trainingArchitecture(cfg.architecture).decoder === "unit_norm" &&
      !(Number.isInteger(cfg.k) && cfg.k >= 1 && cfg.k <= dSae)
    ) {
      throw new RangeError(`Cannot train as k must be an integer from 1 to d_sae ${dSae}: current value is ${cfg.k}`);
    }
    // as the run's config check says it, for callers that build the settings themselves
    if (!(cfg.lp_norm >= 1) || cfg.lp_norm !== 1 && cfg.architecture !== "standard") {
      throw new RangeError(
        `Cannot train as lp_norm must be a number >= 1, and 1 but for the standard architecture: current value is ${cfg.lp_norm} (${cfg.architecture})`,
      );
    }
    const params = initialParameters(cfg, rng);
    const moments: ParameterMap = new Map();
    for (const [name, value] of state?.tensors ?? []) {
      const { moment, parameter } = tensorKind(name);
      if (moment) {
        if (params.get(parameter)?.length === value.length) moments.set(name, value);
        continue;
      }
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
    const engine = device === "cpu"
      ? new CpuTrainerEngine(cfg, params, moments, options.sparse)
      : new GpuTrainerEngine(device, cfg, params, moments, options.sparse ?? true);
    const trainer = new SaeTrainer(cfg, device === "cpu" ? "cpu" : "webgpu", engine, params);
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
    const cfg = this.cfg, arch = this.#arch, { d_in: dIn, d_sae: dSae } = cfg;
    if (x.length === 0 || x.length % dIn !== 0) {
      throw new TypeError(`A training batch must hold whole rows of d_in ${dIn} values: got ${x.length} values`);
    }
    const batch = x.length / dIn;
    const deadMask = new Float32Array(dSae);
    let deadCount = 0;
    for (let j = 0; j < dSae; j++) {
      if (this.#sinceFired[j] > cfg.dead_feature_window) deadMask[j] = 1, deadCount++;
    }
    const term = arch.auxiliaryTerm(cfg, deadCount);
    const lambdaPerRow = coefficients.l1Coefficient / batch;
    const t = this.#step + 1;
    const r = await this.#engine.step({ x, batch, deadMask, deadCount, term, lambdaPerRow, lr: coefficients.lr, t });
    this.#step = t;
    for (let j = 0; j < dSae; j++) this.#sinceFired[j] = r.fired[j] > 0 ? 0 : this.#sinceFired[j] + 1;
    const result = stepResult({
      arch,
      x,
      dIn,
      step: t,
      rowStats: r.rowStats,
      slots: 1 + levelWidths(cfg).length,
      fired: r.fired,
      actSums: r.actSums,
      norms: r.norms,
      sumSquares: r.sumSquares,
      lambdaPerRow,
      term,
      widths: levelWidths(cfg),
      deadCount,
    });
    if (arch.updateThreshold) this.#batchThreshold = arch.updateThreshold(this.#batchThreshold, r.minKept, cfg);
    return result;
  }

  /**
   * Reads the parameters and Adam moments back (for checkpoints and saving).
   *
   * @returns The state a checkpoint keeps.
   */
  async state(): Promise<TrainerState> {
    return {
      tensors: await this.#engine.state(),
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
  gradients(): Promise<ParameterMap> {
    return this.#engine.gradients();
  }

  /**
   * Replaces parameters or Adam moments (`m.NAME`, `v.NAME`), as dead-latent resampling does.
   *
   * @param tensors New values by name, as {@linkcode SaeTrainer.state} names them.
   * @throws {TypeError} On an unknown name or a wrong length.
   */
  setTensors(tensors: ParameterMap): void {
    for (const [name, value] of tensors) {
      if (this.#sizes.get(tensorKind(name).parameter) !== value.length) {
        throw new TypeError(`The SAE has no tensor ${name} of ${value.length} values`);
      }
    }
    this.#engine.setTensors(tensors);
  }

  /** Frees what the engine holds (GPU buffers, ONNX Runtime sessions). */
  destroy(): void {
    this.#engine.destroy();
  }
}
