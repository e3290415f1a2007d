/**
 * Reads an SAE from disk in any layout SAELens's loaders read, recognised by its files: SAELens folders (v6 and
 * pre-6.0 `cfg.json` with `sae_weights.safetensors`), sparsify, Gemma Scope SAEs and transcoders (`params.npz`),
 * Llama Scope and its R1 Distill variant, dictionary_learning's `ae.pt`, PyTorch `.pt` state dicts (DeepSeek-R1,
 * hook_z SAEs) and circuit-tracer's per-layer transcoders. Weights come back as float32 with SAELens names and
 * shapes. `.pt` files are read by a restricted reader that never runs pickled code.
 *
 * @module
 */

import { basename, dirname, join } from "node:path";
import type { HostTensor } from "../gpu/tensor.ts";
import type { SaeWeights } from "./architecture.ts";
import { applyConfigOverrides, parseSaeLensConfig, type SaeConfig } from "./config.ts";
import { readSafetensors } from "../io/safetensors.ts";
import { exists } from "../io/exists.ts";
import { readJson } from "../io/read_json.ts";
import { readGemmaScope } from "./read_gemma_scope.ts";
import { readLlamaScope, readLlamaScopeR1Distill } from "./read_llama_scope.ts";
import { readDeepseekR1, readDictionaryLearning, readHookZ } from "./read_torch_sae.ts";
import { readMntssCltLayer, readMwhannaTranscoder } from "./read_circuit_tracer.ts";
import { readSparsify } from "./read_sparsify.ts";
import {
  checkNoOtherTensors,
  checkShape,
  checkWeights,
  finiteTensor,
  foldFinetuningScale,
  foldNormScalingFactor,
  hostTensor,
  LINKS,
  storedF16,
} from "./_sae_tensors.ts";

export { checkWeights } from "./_sae_tensors.ts";

/** The on-disk layouts recognized. */
export type SaeFormat =
  | "saelens"
  | "saelens-legacy"
  | "sparsify"
  | "gemma-scope"
  | "gemma-scope-transcoder"
  | "llama-scope"
  | "llama-scope-r1-distill"
  | "dictionary-learning"
  | "deepseek-r1"
  | "hook-z"
  | "mwhanna-transcoder"
  | "mntss-clt-layer";

/** An SAE read from disk. */
export interface SaeOnDisk {
  /** Configuration in SAELens v6 form. */
  cfg: SaeConfig;
  /** Float32 weights with SAELens names and shapes. */
  weights: SaeWeights;
  /** log10 feature density from `sparsity.safetensors`, if present. */
  sparsity?: HostTensor;
  /** Layout it was read from. */
  format: SaeFormat;
  /** True when W_enc and W_dec were stored as F16 (they may stay f16 on the GPU). */
  storedF16: boolean;
}

/** Pickle files that are no torch.save state dict: refused, never unpickled. */
const PICKLE_EXTENSIONS = [".bin", ".ckpt", ".pkl", ".pickle"];

/** What a folder may hold, for the error when it holds none of it. */
const LAYOUTS = "sae_weights.safetensors + cfg.json (SAELens), sae.safetensors (sparsify), params.npz (Gemma Scope), " +
  "hyperparams.json (Llama Scope), sae_weights.safetensors + config.json (Llama Scope R1 Distill) or ae.pt + " +
  "config.json (dictionary_learning); or name a .pt, layer_N.safetensors or W_enc_N.safetensors file";

/** A file that is an SAE by itself (with its configs beside it), or undefined for a file inside an SAE folder. */
async function readSaeFile(path: string, overrides: Record<string, unknown>): Promise<SaeOnDisk | undefined> {
  const name = basename(path), folder = dirname(path);
  const beside = (file: string) => exists(join(folder, file), LINKS);
  if (/\.pth?$/.test(name)) {
    if (await beside(`${name.split(".pt")[0]}_cfg.json`)) return await readHookZ(path, overrides);
    if (name === "ae.pt" && await beside("config.json")) return await readDictionaryLearning(folder, overrides);
    return await readDeepseekR1(path, overrides);
  }
  if (
    /^layer_\d+\.safetensors$/.test(name) && (await beside("wandb-config.yaml") || await beside("wanb-config.yaml"))
  ) {
    return await readMwhannaTranscoder(path, overrides);
  }
  if (/^W_enc_\d+\.safetensors$/.test(name) && await beside("config.yaml")) {
    return await readMntssCltLayer(path, overrides);
  }
  if (PICKLE_EXTENSIONS.some((e) => name.endsWith(e))) {
    throw new TypeError(
      `${path} is a pickle file: sae reads only torch.save state dicts (.pt), with a reader that never runs their code; ` +
        "save the weights as safetensors (safetensors.torch.save_file) in a SAELens folder with cfg.json",
    );
  }
  return undefined;
}

/**
 * Reads an SAE: a folder, a file in one, or a file that is an SAE by itself (`.pt`, `layer_N.safetensors`,
 * `W_enc_N.safetensors`).
 *
 * @example Read a SAELens folder
 * ```ts ignore
 * const { cfg, weights } = await readSae("fixtures/sae-standard");
 * console.log(cfg.d_sae, weights.W_enc.shape);
 * ```
 *
 * @param path A folder, or a file.
 * @param overrides SAELens `config_overrides` merged into the config as SAELens's loaders do (releases set these).
 * @returns Configuration, weights and sparsity.
 * @throws {Deno.errors.NotFound} When the path or a needed file is missing.
 * @throws {TypeError} For pickle files other than state dicts, missing tensors, or shapes disagreeing with the config.
 * @throws {SyntaxError} For malformed JSON, YAML, safetensors, npz or checkpoints.
 */
export async function readSae(path: string, overrides: Record<string, unknown> = {}): Promise<SaeOnDisk> {
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw new Deno.errors.NotFound(`SAE path ${path} does not exist`);
    throw error;
  }
  if (!stat.isDirectory) {
    const file = await readSaeFile(path, overrides);
    if (file) return file;
  }
  const folder = stat.isDirectory ? path : join(path, "..");
  const has = (file: string) => exists(join(folder, file), LINKS);
  if (await has("sae_weights.safetensors")) {
    // Llama Scope R1 Distill ships SAELens's weights file name with a config.json of its own
    if (!await has("cfg.json") && await has("config.json")) return await readLlamaScopeR1Distill(folder, overrides);
    return await readSaeLens(folder, overrides);
  }
  if (await has("sae.safetensors")) return await readSparsify(folder, overrides);
  if (await has("params.npz")) return await readGemmaScope(folder, overrides);
  if (await has("hyperparams.json")) return await readLlamaScope(folder, overrides);
  if (await has("ae.pt")) return await readDictionaryLearning(folder, overrides);
  throw new Deno.errors.NotFound(`${folder} holds no SAE: expected ${LAYOUTS}`);
}

async function readSaeLens(folder: string, overrides: Record<string, unknown>): Promise<SaeOnDisk> {
  const cfgPath = join(folder, "cfg.json");
  if (!(await exists(cfgPath, LINKS))) {
    throw new Deno.errors.NotFound(
      `${cfgPath} is missing: a SAELens folder needs cfg.json beside sae_weights.safetensors`,
    );
  }
  const read = await readJson(cfgPath);
  const raw = typeof read === "object" && read !== null && !Array.isArray(read)
    ? applyConfigOverrides(read as Record<string, unknown>, overrides)
    : read;
  const cfg = parseSaeLensConfig(raw, cfgPath);
  const weightsPath = join(folder, "sae_weights.safetensors");
  const file = await readSafetensors(weightsPath);
  const weights: SaeWeights = {};
  for (const [name, entry] of file.tensors) weights[name] = finiteTensor(entry, `${weightsPath}: tensor "${name}"`);
  foldFinetuningScale(weights, raw as Record<string, unknown>, cfg, weightsPath, cfgPath);
  checkWeights(cfg, weights, weightsPath, cfgPath);
  checkNoOtherTensors(cfg, file.tensors.keys(), weightsPath);
  foldNormScalingFactor(cfg, weights);
  let sparsity: HostTensor | undefined;
  const sparsityPath = join(folder, "sparsity.safetensors");
  if (await exists(sparsityPath, LINKS)) {
    const entry = (await readSafetensors(sparsityPath)).tensors.get("sparsity");
    if (!entry) throw new TypeError(`${sparsityPath}: tensor "sparsity" is missing`);
    sparsity = hostTensor(entry, `${sparsityPath}: tensor "sparsity"`);
    checkShape(sparsity, [cfg.d_sae], `${sparsityPath}: tensor "sparsity"`, cfgPath);
  }
  const legacy = !("metadata" in (raw as object));
  return { cfg, weights, sparsity, format: legacy ? "saelens-legacy" : "saelens", storedF16: storedF16(file.tensors) };
}
