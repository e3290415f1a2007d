/**
 * What distinguishes one SAE architecture at inference: the encoder's fused epilogue, the vectors
 * it reads, and an optional top-k selection after it, as WGSL for WebGPU and as ONNX nodes for the CPU.
 *
 * @module
 */

import type { HostTensor } from "../gpu/tensor.ts";
import type { WgslSource } from "../gpu/pipelines.ts";
import type { SaeConfig } from "./config.ts";

/** SAE weights by SAELens name (W_enc [d_in, d_sae], W_dec [d_sae, d_in], b_dec, b_enc, ...). */
export type SaeWeights = Record<string, HostTensor>;

/** WGSL and the `epilogueVectors` (by index) it binds from binding 4 on. */
export interface BoundWgsl {
  /** The WGSL. */
  source: WgslSource;
  /** Indices into `epilogueVectors`, in binding order. */
  vectors: readonly number[];
}

/** What an architecture's CPU nodes are built with (`core/cpu/graph_builder.ts`'s `GraphBuilder`). */
export interface CpuGraph {
  /** Declares a float graph input (weights and vectors are inputs) and returns its name. */
  input(name: string, dims: readonly (number | string)[]): string;
  /** Adds a node of one output and returns the output's name. */
  node(opType: string, inputs: readonly string[]): string;
  /** A float scalar constant. */
  scalar(value: number): string;
}

/**
 * An architecture's part of the CPU graphs (ONNX nodes): the engine computes xw = x' · W_enc and
 * does TopK's selection; the vectors are graph inputs of dims ["d_sae"], named as `cpuVectors` names them.
 */
export interface CpuGraphParts {
  /** The per-latent vectors the nodes read, by input name, from the (prepared) weights. */
  vectors(weights: SaeWeights): Record<string, Float32Array>;
  /** SAELens's hidden pre-activation (for TopK, what it selects from) from xw. */
  hiddenPre(g: CpuGraph, xw: string): string;
  /**
   * Features from a hidden pre-activation; `xw` adds x' · W_enc for activations that read the input
   * (Gated's gate). Absent for TopK, which selects instead.
   */
  activation?(g: CpuGraph, pre: string, xw: () => string): string;
}

/** One inference architecture, registered by name in `registry.ts`. */
export interface Architecture {
  /** The `architecture` value in cfg.json. */
  name: string;
  /** Per-latent vectors this architecture needs besides W_enc, W_dec and b_dec. */
  latentVectors: readonly string[];
  /** WGSL epilogue fused into x' · W_enc (bindings 4+ are `epilogueVectors`, in order). */
  encodeEpilogue: WgslSource;
  /** The vectors bound to the epilogue, computed from the (prepared) weights. */
  epilogueVectors(weights: SaeWeights): Float32Array[];
  /**
   * An epilogue of x' · W_enc giving SAELens's hidden pre-activation (`hook_sae_acts_pre`); without it
   * the SAE cannot report one.
   */
  hiddenPre?: BoundWgsl;
  /**
   * Features from a hidden pre-activation, for hooks that edit it: WGSL defining
   * `fn activation(i: u32, col: u32, pre: f32) -> f32`, and for an activation that also reads the
   * input (Gated), the epilogue of x' · W_enc whose result it reads as `aux`. TopK selects instead.
   */
  activation?: BoundWgsl & { aux?: BoundWgsl };
  /** Entries kept per token after the epilogue (TopK), or undefined for elementwise activations. */
  topK(cfg: SaeConfig): number | undefined;
  /** Checks architecture-specific config fields; throws naming the file and field. */
  checkConfig(cfg: SaeConfig, path: string): void;
  /**
   * The weights the kernels use, where they differ from the stored ones (e.g. TopK's decoder-norm
   * rescaling folded into W_enc); the stored weights stay as loaded.
   */
  kernelWeights(cfg: SaeConfig, weights: SaeWeights): SaeWeights;
  /** The CPU graph parts, from the same prepared weights as the kernels. */
  cpu: CpuGraphParts;
}
