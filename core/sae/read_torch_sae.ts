/**
 * The releases stored as PyTorch `.pt` state dicts, read with the restricted checkpoint reader (never running
 * pickled code), with the configs SAELens's loaders give them:
 *
 * - dictionary_learning (`dictionary_learning_1`: SAEBench, andyrdt): `ae.pt` + `config.json` in a folder;
 *   `AutoEncoder` is standard, `GatedAutoEncoder` gated, `AutoEncoderTopK` TopK with the trainer's k; the hook is
 *   `blocks.{layer}.hook_resid_post`.
 * - qresearch's DeepSeek-R1 SAE (`deepseek_r1`): a lone `.pt` of encoder/decoder nn.Linear weights, a standard SAE
 *   at `blocks.{N}.hook_resid_post` (N from `l{N}` in the file name), no b_dec on the input.
 * - Kissane and Krzyzanowski's attention-output SAEs (`connor_rob_hook_z`): `NAME.pt` in SAELens names beside
 *   `NAME_cfg.json`, a standard SAE of the concatenated heads' `hook_z`.
 *
 * @module
 */

import { basename, dirname, join } from "node:path";
import { readJson } from "../io/read_json.ts";
import type { SafetensorsEntry } from "../io/safetensors.ts";
import { readTorchStateDict } from "../io/torch_checkpoint.ts";
import type { SaeWeights } from "./architecture.ts";
import { parseSaeLensConfig } from "./config.ts";
import type { SaeOnDisk } from "./read_sae.ts";
import { checkWeights, finiteTensor, storedF16, transpose } from "./_sae_tensors.ts";
import {
  configField as field,
  isObject,
  nonEmptyString as string,
  nonNegativeInteger,
  positiveInteger,
} from "./_config_fields.ts";

/** Takes state-dict tensors by name as float32 weights, naming the file and what was expected when one is missing. */
function taker(tensors: Map<string, SafetensorsEntry>, path: string, layout: string) {
  return (name: string, optional = false) => {
    const entry = tensors.get(name);
    if (!entry) {
      if (optional) return undefined;
      throw new TypeError(`${path}: tensor "${name}" is missing from this ${layout} state dict`);
    }
    return finiteTensor(entry, `${path}: tensor "${name}"`);
  };
}

/** The dictionary classes SAELens reads and the architecture each loads as. */
const DICT_CLASSES: Record<string, string> = {
  AutoEncoder: "standard",
  GatedAutoEncoder: "gated",
  AutoEncoderTopK: "topk",
};

/**
 * Reads a dictionary_learning folder: `ae.pt` and `config.json`.
 *
 * @example
 * ```ts ignore
 * const sae = await readDictionaryLearning("pythia70m_sweep_topk_ctx128_0730/resid_post_layer_3/trainer_0", {});
 * ```
 *
 * @param folder The folder.
 * @param overrides The release's config overrides.
 * @returns The SAE.
 * @throws {TypeError} When config.json lacks a field, names another dictionary class, or a tensor is missing.
 * @throws {SyntaxError} When ae.pt is not a checkpoint sae can read safely.
 */
export async function readDictionaryLearning(folder: string, overrides: Record<string, unknown>): Promise<SaeOnDisk> {
  const cfgPath = join(folder, "config.json");
  const config = await readJson(cfgPath);
  if (!isObject(config)) throw new TypeError(`${cfgPath}: expected a JSON object`);
  const trainer = field<Record<string, unknown>>(config, "trainer", cfgPath, isObject, "an object");
  const buffer = field<Record<string, unknown>>(config, "buffer", cfgPath, isObject, "an object");
  const at = `${cfgPath} trainer`;
  const dictClass = field<string>(trainer, "dict_class", at, string, "a class name");
  // SAELens reads every other class as a standard SAE; its weights would not fit one, so it is named instead
  if (!Object.hasOwn(DICT_CLASSES, dictClass)) {
    throw new TypeError(
      `${at}: field dict_class is "${dictClass}": expected one of ${Object.keys(DICT_CLASSES).join(", ")}`,
    );
  }
  const architecture = DICT_CLASSES[dictClass];
  const raw = {
    architecture: architecture === "gated" ? "gated" : "standard",
    d_in: field<number>(trainer, "activation_dim", at, positiveInteger, "a positive integer"),
    d_sae: field<number>(trainer, "dict_size", at, positiveInteger, "a positive integer"),
    dtype: "float32",
    model_name: field<string>(trainer, "lm_name", at, string, "a model name").split("/").at(-1),
    hook_name: `blocks.${field<number>(trainer, "layer", at, nonNegativeInteger, "a layer number")}.hook_resid_post`,
    hook_head_index: null,
    activation_fn: architecture === "topk" ? "topk" : "relu",
    activation_fn_kwargs: architecture === "topk"
      ? { k: field<number>(trainer, "k", at, positiveInteger, "a positive integer") }
      : {},
    apply_b_dec_to_input: true,
    finetuning_scaling_factor: false,
    sae_lens_training_version: null,
    prepend_bos: true,
    dataset_path: "monology/pile-uncopyrighted",
    context_size: field<number>(buffer, "ctx_len", `${cfgPath} buffer`, positiveInteger, "a positive integer"),
    normalize_activations: "none",
    neuronpedia_id: null,
    dataset_trust_remote_code: true,
    ...overrides,
  };
  const cfg = parseSaeLensConfig(raw, cfgPath);
  const weightsPath = join(folder, "ae.pt");
  const tensors = await readTorchStateDict(weightsPath);
  const take = taker(tensors, weightsPath, dictClass);
  const weights: SaeWeights = {
    W_enc: transpose(take("encoder.weight")!),
    W_dec: transpose(take("decoder.weight")!),
  };
  // the decoder bias has a name of its own in each class
  const bDec = take("b_dec", true) ?? take("bias", true) ?? take("decoder_bias", true);
  if (bDec === undefined) {
    throw new TypeError(`${weightsPath}: the decoder bias (b_dec, bias or decoder_bias) is missing`);
  }
  weights.b_dec = bDec;
  for (
    const [from, to] of [["encoder.bias", "b_enc"], ["mag_bias", "b_mag"], ["gate_bias", "b_gate"], ["r_mag", "r_mag"]]
  ) {
    const t = take(from, true);
    if (t) weights[to] = t;
  }
  checkWeights(cfg, weights, weightsPath, cfgPath);
  return { cfg, weights, format: "dictionary-learning", storedF16: storedF16(tensors) };
}

/**
 * Reads qresearch's DeepSeek-R1-Distill-Llama-8B SAE: one `.pt` state dict.
 *
 * @example
 * ```ts ignore
 * const sae = await readDeepseekR1("DeepSeek-R1-Distill-Llama-8B-SAE-l19.pt", {});
 * console.log(sae.cfg.metadata.hook_name); // "blocks.19.hook_resid_post"
 * ```
 *
 * @param path The `.pt` file.
 * @param overrides The release's config overrides.
 * @returns The SAE.
 * @throws {TypeError} When the file name has no layer (`l{N}`) or a tensor is missing or misshapen.
 */
export async function readDeepseekR1(path: string, overrides: Record<string, unknown>): Promise<SaeOnDisk> {
  const tensors = await readTorchStateDict(path);
  const layer = /l(\d+)/.exec(basename(path))?.[1];
  if (layer === undefined) {
    throw new TypeError(
      `${path}: no layer number (l{N}) in the file name: a lone .pt loads as qresearch's DeepSeek-R1 layout; ` +
        "the other .pt layouts need their config beside them (NAME_cfg.json, or config.json beside ae.pt)",
    );
  }
  const take = taker(tensors, path, "DeepSeek-R1 SAE");
  const weights: SaeWeights = {
    W_enc: transpose(take("encoder.weight")!),
    W_dec: transpose(take("decoder.weight")!),
    b_enc: take("encoder.bias")!,
    b_dec: take("decoder.bias")!,
  };
  const cfg = parseSaeLensConfig({
    architecture: "standard",
    // SAELens writes 4096 and 4096·16, the sizes of the release's one file; here they come from its tensors
    d_in: weights.W_enc.shape[0],
    d_sae: weights.W_enc.shape[1],
    dtype: "bfloat16",
    context_size: 1024,
    model_name: "deepseek-ai/DeepSeek-R1-Distill-Llama-8B",
    hook_name: `blocks.${layer}.hook_resid_post`,
    hook_head_index: null,
    prepend_bos: true,
    dataset_path: "lmsys/lmsys-chat-1m",
    dataset_trust_remote_code: true,
    sae_lens_training_version: null,
    activation_fn: "relu",
    normalize_activations: "none",
    apply_b_dec_to_input: false,
    finetuning_scaling_factor: false,
    ...overrides,
  }, path);
  checkWeights(cfg, weights, path, path);
  return { cfg, weights, format: "deepseek-r1", storedF16: storedF16(tensors) };
}

/**
 * Reads one of Kissane and Krzyzanowski's attention SAEs: `NAME.pt` (W_enc, W_dec, b_enc, b_dec) and
 * `NAME_cfg.json` (act_size, dict_size, act_name).
 *
 * @example
 * ```ts ignore
 * const sae = await readHookZ("gpt2-small_L5_Hcat_z_lr1.20e-03_l11.00e+00_ds49152_bs4096_dc1.00e-05_rsanthropic_rie25000_nr4_v9.pt", {});
 * ```
 *
 * @param path The `.pt` file.
 * @param overrides The release's config overrides.
 * @returns The SAE.
 * @throws {TypeError} When the config lacks a field or a tensor is missing or misshapen.
 */
export async function readHookZ(path: string, overrides: Record<string, unknown>): Promise<SaeOnDisk> {
  const cfgPath = join(dirname(path), `${basename(path).split(".pt")[0]}_cfg.json`);
  const old = await readJson(cfgPath);
  if (!isObject(old)) throw new TypeError(`${cfgPath}: expected a JSON object`);
  const cfg = parseSaeLensConfig({
    architecture: "standard",
    d_in: field<number>(old, "act_size", cfgPath, positiveInteger, "a positive integer"),
    d_sae: field<number>(old, "dict_size", cfgPath, positiveInteger, "a positive integer"),
    dtype: "float32",
    model_name: "gpt2-small",
    hook_name: field<string>(old, "act_name", cfgPath, string, "a hook name"),
    hook_head_index: null,
    activation_fn: "relu",
    apply_b_dec_to_input: true,
    finetuning_scaling_factor: false,
    sae_lens_training_version: null,
    prepend_bos: true,
    dataset_path: "Skylion007/openwebtext",
    context_size: 128,
    normalize_activations: "none",
    dataset_trust_remote_code: true,
    reshape_activations: "hook_z",
    ...overrides,
  }, cfgPath);
  const tensors = await readTorchStateDict(path);
  const take = taker(tensors, path, "hook_z SAE");
  const weights: SaeWeights = {
    W_enc: take("W_enc")!,
    W_dec: take("W_dec")!,
    b_enc: take("b_enc")!,
    b_dec: take("b_dec")!,
  };
  const other = [...tensors.keys()].find((n) => !Object.hasOwn(weights, n));
  if (other !== undefined) throw new TypeError(`${path}: tensor "${other}" is not part of a standard SAE`);
  checkWeights(cfg, weights, path, cfgPath);
  return { cfg, weights, format: "hook-z", storedF16: storedF16(tensors) };
}
