/**
 * What runs an SAE's math on one device: the WebGPU engine (`gpu_sae.ts`, WGSL kernels) or the CPU
 * engine (`cpu_sae.ts`, ONNX Runtime's native kernels). `SAE` checks arguments and delegates.
 *
 * @module
 */

import type { HostTensor } from "../gpu/tensor.ts";
import type { Tensor } from "../util/tensor.ts";

/** An input: host values or a tensor an SAE op returned, [..., width]. */
export type SaeInput = HostTensor | Tensor;

/** Features and reconstruction of one forward pass. */
export interface EncodeDecodeResult {
  /** Feature activations [..., d_sae]. */
  features: Tensor;
  /** Reconstruction [..., d_in]. */
  recon: Tensor;
}

/** Features and SAELens's hidden pre-activation of one encode. */
export interface EncodeWithHiddenPreResult {
  /** Feature activations [..., d_sae] (`hook_sae_acts_post`). */
  features: Tensor;
  /** Pre-activations [..., d_sae] (`hook_sae_acts_pre`; Gated: the magnitude path's). */
  hiddenPre: Tensor;
}

/**
 * The ops of an SAE on one device, as `SAE` documents them; arguments arrive checked against the
 * architecture (an activation exists, Gated's `x` is given).
 *
 * @example
 * ```ts ignore
 * const engine: SaeEngine = sae.engine;
 * console.log(engine.description); // cpu (onnxruntime-node, 2 threads)
 * ```
 */
export interface SaeEngine {
  /** The device: `webgpu` or `cpu`. */
  readonly device: "webgpu" | "cpu";
  /** What runs it, e.g. `cpu (onnxruntime-node, 2 threads)` or `webgpu (NVIDIA ...)`. */
  readonly description: string;
  /** Features of x. */
  encode(x: SaeInput): Tensor;
  /** Reconstruction of features (dense), undoing the last encode's normalization. */
  decode(f: SaeInput): Tensor;
  /** decode(encode(x)), TopK decoding sparsely unless disabled. */
  forward(x: SaeInput): Tensor;
  /** Features and reconstruction of one pass. */
  encodeDecode(x: SaeInput): EncodeDecodeResult;
  /** Features and the hidden pre-activation. */
  encodeWithHiddenPre(x: SaeInput): EncodeWithHiddenPreResult;
  /** Features from a hidden pre-activation (x given where the architecture reads it). */
  activate(hiddenPre: SaeInput, x?: SaeInput): Tensor;
  /** decode(features) + (x − forward(x)). */
  splice(x: SaeInput, features?: SaeInput): Tensor;
  /** Frees what the engine holds. */
  destroy(): void;
}
