/**
 * What {@linkcode SaeTrainer} asks of the device it trains on: one step's gradients, clipping and Adam
 * update, and the read-back the step's statistics come from. The WebGPU engine records WGSL kernels
 * (`gpu_trainer_engine.ts`), the CPU engine runs one ONNX graph per step on ONNX Runtime's native kernels
 * (`cpu_trainer_engine.ts`); the trainer keeps everything that does not depend on the device.
 *
 * @module
 */

import type { ParameterMap } from "./initial_parameters.ts";
import type { AuxiliaryTerm } from "./training_architecture.ts";

/** One step as the trainer has prepared it. */
export interface EngineStepInput {
  /** Activations, rows × d_in. */
  x: Float32Array;
  /** Rows of `x`. */
  batch: number;
  /** 1 for each latent dead at the start of the step. */
  deadMask: Float32Array;
  /** Latents dead at the start of the step. */
  deadCount: number;
  /** The step's auxiliary term, if any. */
  term: AuxiliaryTerm | undefined;
  /** λ / batch. */
  lambdaPerRow: number;
  /** Learning rate. */
  lr: number;
  /** Adam's t after this step (from 1). */
  t: number;
}

/** What a step measured, read back for the step's statistics. */
export interface EngineReadback {
  /** Per-row loss sums, `slots` per row: 0 reconstruction, 1 auxiliary term, 2… Matryoshka inner levels. */
  rowStats: Float32Array;
  /** Tokens each latent fired on. */
  fired: Float32Array;
  /** Per-latent sums the sparsity term weights. */
  actSums: Float32Array;
  /** Decoder row norms at the start of the step. */
  norms: Float32Array;
  /** Each tensor's sum of squared gradients (before clipping). */
  sumSquares: Float32Array;
  /** BatchTopK's smallest kept value, or undefined when nothing was kept (or the architecture has no θ). */
  minKept: number | undefined;
}

/** An SAE's parameters and Adam state on one device. */
export interface TrainerEngine {
  /** Takes the step: gradients, clip, Adam, the decoder constraint. */
  step(input: EngineStepInput): Promise<EngineReadback>;
  /** Parameters, then Adam's moments as `m.NAME` / `v.NAME`. */
  state(): Promise<ParameterMap>;
  /** The last step's gradients before clipping (unit-norm decoders: without the part along each row). */
  gradients(): Promise<ParameterMap>;
  /** Replaces parameters or moments, by {@linkcode TrainerEngine.state}'s names (checked by the trainer). */
  setTensors(tensors: ParameterMap): void;
  /** Frees what the engine holds. */
  destroy(): void;
}
