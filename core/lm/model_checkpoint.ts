/**
 * Reading a Hugging Face model folder of any family: config.json through its family's translation, the weights
 * through its family's mapping, checked against each other.
 *
 * @module
 */

import { join } from "node:path";
import { exists } from "../io/exists.ts";
import { readJson } from "../io/read_json.ts";
import { systemMemoryBytes } from "../util/system_memory.ts";
import { CheckpointTensors, type WeightStorage } from "./checkpoint_tensors.ts";
import { HfConfig } from "./hf_config.ts";
import { familyOf } from "./model_families.ts";
import type { ModelFamily } from "./model_family.ts";
import type { TransformerConfig } from "./transformer_config.ts";
import type { TransformerWeights } from "./transformer_weights.ts";

/** How a model's matrices are kept: float32, the checkpoint's own 16-bit type, or float32 where it fits. */
export type ModelDtype = WeightStorage | "auto";

/** A model folder's configuration and weights. */
export interface ModelCheckpoint {
  /** Hyperparameters. */
  config: TransformerConfig;
  /** Weights, unprocessed. */
  weights: TransformerWeights;
}

/** Float32 weights may take this share of the machine's memory under `auto`; beyond it they stay in 16 bits. */
const FLOAT32_SHARE = 0.6;

/**
 * Reads a model folder's config.json and translates it through the family its `model_type` names.
 *
 * @example
 * ```ts ignore
 * const cfg = await readModelConfig("../shared/fixtures/families/gemma2/model");
 * console.log(cfg.family, cfg.attnTypes); // gemma2 ["local", "global", "local"]
 * ```
 *
 * @param dir The folder.
 * @returns The configuration.
 * @throws {Deno.errors.NotFound} When config.json is missing.
 * @throws {TypeError} When its model_type is not a family sae runs, or a field is wrong.
 */
export async function readModelConfig(dir: string): Promise<TransformerConfig> {
  return (await configAndFamily(dir)).config;
}

async function configAndFamily(dir: string): Promise<{ config: TransformerConfig; family: ModelFamily }> {
  const path = join(dir, "config.json");
  if (!(await exists(path))) throw new Deno.errors.NotFound(`${path} is missing: a model folder needs its config.json`);
  const hf = new HfConfig(await readJson(path), path);
  const family = familyOf(hf.get("model_type"), path);
  return { config: family.config(hf), family };
}

/**
 * Reads a model folder: config.json, and the weights (`model.safetensors` or its shards), 16-bit ones kept as stored
 * where `dtype` says so (`auto`: when their float32 copy would take more than 60% of the machine's memory).
 *
 * @example Read a fixture model
 * ```ts ignore
 * const { config, weights } = await readModelCheckpoint("../shared/fixtures/gpt2-sotu-tiny");
 * console.log(config.nLayers, weights.blocks.length); // 4 4
 * ```
 *
 * @param dir The folder.
 * @param dtype How to keep the matrices. @default {"auto"}
 * @returns Configuration and weights.
 * @throws {Deno.errors.NotFound} When config.json or the weights are missing.
 * @throws {TypeError} When a tensor is missing, of another shape than config.json implies, or left over.
 */
export async function readModelCheckpoint(dir: string, dtype: ModelDtype = "auto"): Promise<ModelCheckpoint> {
  const { config, family } = await configAndFamily(dir);
  const ckpt = await CheckpointTensors.open(dir);
  try {
    const storage = dtype === "auto" ? autoStorage(ckpt) : dtype;
    return { config, weights: await family.weights(ckpt, config, storage) };
  } finally {
    ckpt.close();
  }
}

/** float32 where it fits in the share of memory allowed (or the machine's memory is unknown), else as stored. */
function autoStorage(ckpt: CheckpointTensors): WeightStorage {
  if (ckpt.halfDtype === undefined) return "float32";
  const total = systemMemoryBytes();
  return total === undefined || ckpt.parameterCount * 4 <= FLOAT32_SHARE * total ? "float32" : "stored";
}
