/**
 * Sparse autoencoders on WebGPU: load SAELens, sparsify and Gemma Scope SAEs, and run their
 * encode/decode as WGSL kernels (lavapipe runs them on machines without a GPU).
 *
 * @example Encode activations and list the strongest features of each token
 * ```ts ignore
 * import { SAE, topFeatures } from "@sae/cli";
 *
 * const sae = await SAE.load("path/to/sae-folder");
 * const acts = { shape: [1, sae.cfg.d_in], data: new Float32Array(sae.cfg.d_in) };
 * const features = sae.encode(acts);
 * console.log(await topFeatures(sae.gpu, features, 5));
 * ```
 *
 * @module
 */

export { SAE } from "./core/sae/sae.ts";
export type { EncodeDecodeResult, SaeInput, SaeOptions } from "./core/sae/sae.ts";
export { parseSaeLensConfig, toSaeLensJson } from "./core/sae/config.ts";
export type { SaeConfig, SaeMetadata } from "./core/sae/config.ts";
export type { Architecture, SaeWeights } from "./core/sae/architecture.ts";
export type { WgslSource } from "./core/gpu/pipelines.ts";
export { architectureNames, getArchitecture, registerArchitecture } from "./core/sae/registry.ts";
export { topFeatures } from "./core/sae/top_features.ts";
export type { FeatureActivation } from "./core/sae/top_features.ts";
export { reconstructionStats } from "./core/eval/reconstruction.ts";
export type { ReconstructionStats } from "./core/eval/reconstruction.ts";
export { getGpu, GpuError, GpuUnavailableError, requestGpu } from "./core/gpu/device.ts";
export type { Gpu, RequestGpuOptions } from "./core/gpu/device.ts";
export { BufferLimitError, GpuTensor } from "./core/gpu/tensor.ts";
export type { HostTensor, RowChunk } from "./core/gpu/tensor.ts";
export { readSae } from "./core/io/read_sae.ts";
export type { SaeFormat, SaeOnDisk } from "./core/io/read_sae.ts";
export {
  encodeSafetensors,
  parseSafetensors,
  readSafetensors,
  toFloat32,
  toIntegers,
  writeSafetensors,
} from "./core/io/safetensors.ts";
export type { SafetensorsDtype, SafetensorsEntry, SafetensorsFile, TensorToWrite } from "./core/io/safetensors.ts";
export { NORMALIZE_MODES } from "./core/ops/normalize.ts";
export type { NormalizeMode } from "./core/ops/normalize.ts";
