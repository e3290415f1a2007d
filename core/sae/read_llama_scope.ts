/**
 * Llama Scope's folders, as SAELens's `llama_scope` and `llama_scope_r1_distill` loaders read them: JumpReLU SAEs
 * stored as `encoder`/`decoder` nn.Linear weights (transposed into W_enc and W_dec), no b_dec on the input, inputs
 * normalised `expected_average_only_in`.
 *
 * - Llama Scope (`hyperparams.json` + `checkpoints/final.safetensors`): one threshold for every feature,
 *   `jump_relu_threshold` · s with s = √d_model / `dataset_average_activation_norm.in`, as SAELens scales it to
 *   match its folding of s into the weights; dtype bfloat16 (the weights are used in float32 here).
 * - Llama Scope R1 Distill (`config.json` + `sae_weights.safetensors`): per-feature thresholds
 *   exp(`log_jumprelu_threshold`), d_sae = d_model · `expansion_factor`.
 *
 * SAELens folds the release's `norm_scaling_factor` into W_enc, W_dec and b_dec. A Llama Scope folder loaded
 * without one (not through the registry) folds the s its hyperparams give, the registry's number; an R1 Distill
 * folder without one runs unnormalised, as SAELens runs it when it finds none (with a warning).
 *
 * @module
 */

import { join } from "node:path";
import { readJson } from "../io/read_json.ts";
import { readSafetensors } from "../io/safetensors.ts";
import type { SaeWeights } from "./architecture.ts";
import { parseSaeLensConfig } from "./config.ts";
import type { SaeOnDisk } from "./read_sae.ts";
import { checkWeights, finiteTensor, foldNormScalingFactor, storedF16, transpose } from "./_sae_tensors.ts";
import {
  configField as need,
  isObject,
  nonEmptyString as hookName,
  nonNegativeNumber,
  positiveInteger,
  positiveNumber,
} from "./_config_fields.ts";

/** The shared part of both loaders' configs (SAELens's values). */
const LLAMA_SCOPE_CONFIG = {
  architecture: "jumprelu",
  model_name: "meta-llama/Llama-3.1-8B",
  hook_head_index: null,
  activation_fn: "relu",
  finetuning_scaling_factor: false,
  sae_lens_training_version: null,
  prepend_bos: true,
  dataset_path: "cerebras/SlimPajama-627B",
  context_size: 1024,
  dataset_trust_remote_code: true,
  apply_b_dec_to_input: false,
  normalize_activations: "expected_average_only_in",
};

/** encoder.weight [d_sae, d_in], encoder.bias, decoder.weight [d_in, d_sae], decoder.bias as SAELens tensors. */
async function linearWeights(path: string, extra: string[]): Promise<{ weights: SaeWeights; f16: boolean }> {
  const file = await readSafetensors(path);
  const take = (name: string) => {
    const entry = file.tensors.get(name);
    if (!entry) {
      throw new TypeError(
        `${path}: tensor "${name}" is missing: expected encoder.weight, encoder.bias, decoder.weight, decoder.bias${
          extra.map((e) => `, ${e}`).join("")
        }`,
      );
    }
    const t = finiteTensor(entry, `${path}: tensor "${name}"`);
    if (name.endsWith(".weight") && t.shape.length !== 2) throw new TypeError(`${path}: tensor "${name}" is not 2-D`);
    return t;
  };
  const known = ["encoder.weight", "encoder.bias", "decoder.weight", "decoder.bias", ...extra];
  const other = [...file.tensors.keys()].find((n) => !known.includes(n));
  if (other !== undefined) throw new TypeError(`${path}: tensor "${other}" is not one of ${known.join(", ")}`);
  const weights: SaeWeights = {
    W_enc: transpose(take("encoder.weight")),
    W_dec: transpose(take("decoder.weight")),
    b_enc: take("encoder.bias"),
    b_dec: take("decoder.bias"),
  };
  for (const name of extra) weights[name] = take(name);
  return { weights, f16: storedF16(file.tensors) };
}

/**
 * Reads a Llama Scope folder: `hyperparams.json` and `checkpoints/final.safetensors`.
 *
 * @example
 * ```ts ignore
 * const sae = await readLlamaScope("Llama3_1-8B-Base-L15R-8x", { norm_scaling_factor: 0.42 });
 * ```
 *
 * @param folder The folder.
 * @param overrides The release's config overrides (its `norm_scaling_factor` among them).
 * @returns The SAE, its normalisation folded into the weights.
 * @throws {TypeError} When a field or tensor is missing or of the wrong type or shape.
 */
export async function readLlamaScope(folder: string, overrides: Record<string, unknown>): Promise<SaeOnDisk> {
  const cfgPath = join(folder, "hyperparams.json");
  const hp = await readJson(cfgPath);
  if (!isObject(hp)) throw new TypeError(`${cfgPath}: expected a JSON object`);
  const dIn = need<number>(hp, "d_model", cfgPath, positiveInteger, "a positive integer");
  const norms = need<Record<string, unknown>>(hp, "dataset_average_activation_norm", cfgPath, isObject, '{"in": ...}');
  const normIn = need<number>(
    norms,
    "in",
    `${cfgPath} dataset_average_activation_norm`,
    positiveNumber,
    "a positive number",
  );
  const scale = Math.sqrt(dIn) / normIn;
  const raw = {
    ...LLAMA_SCOPE_CONFIG,
    d_in: dIn,
    d_sae: need<number>(hp, "d_sae", cfgPath, positiveInteger, "a positive integer"),
    dtype: "bfloat16",
    hook_name: need<string>(hp, "hook_point_in", cfgPath, hookName, "a hook name"),
    jump_relu_threshold: need<number>(hp, "jump_relu_threshold", cfgPath, nonNegativeNumber, "a number >= 0") * scale,
    norm_scaling_factor: scale,
    ...overrides,
  };
  const cfg = parseSaeLensConfig(raw, cfgPath);
  const weightsPath = join(folder, "checkpoints", "final.safetensors");
  const { weights, f16 } = await linearWeights(weightsPath, []);
  weights.threshold = { shape: [cfg.d_sae], data: new Float32Array(cfg.d_sae).fill(raw.jump_relu_threshold as number) };
  checkWeights(cfg, weights, weightsPath, cfgPath);
  foldNormScalingFactor(cfg, weights);
  return { cfg, weights, format: "llama-scope", storedF16: f16 };
}

/**
 * Reads a Llama Scope R1 Distill folder (`L{layer}R`): `config.json` and `sae_weights.safetensors`.
 *
 * @example
 * ```ts ignore
 * const sae = await readLlamaScopeR1Distill("800M-Slimpajama-0-OpenR1-Math-220k/L15R", { norm_scaling_factor: 0.3 });
 * ```
 *
 * @param folder The folder.
 * @param overrides The release's config overrides (its `norm_scaling_factor` among them).
 * @returns The SAE.
 * @throws {TypeError} When a field or tensor is missing or of the wrong type or shape.
 */
export async function readLlamaScopeR1Distill(folder: string, overrides: Record<string, unknown>): Promise<SaeOnDisk> {
  const cfgPath = join(folder, "config.json");
  const hf = await readJson(cfgPath);
  if (!isObject(hf)) throw new TypeError(`${cfgPath}: expected a JSON object`);
  const dIn = need<number>(hf, "d_model", cfgPath, positiveInteger, "a positive integer");
  const raw = {
    ...LLAMA_SCOPE_CONFIG,
    d_in: dIn,
    d_sae: dIn * need<number>(hf, "expansion_factor", cfgPath, positiveInteger, "a positive integer"),
    dtype: "float32",
    hook_name: need<string>(hf, "hook_point_in", cfgPath, hookName, "a hook name"),
    ...overrides,
  };
  const cfg = parseSaeLensConfig(raw, cfgPath);
  const weightsPath = join(folder, "sae_weights.safetensors");
  const { weights, f16 } = await linearWeights(weightsPath, ["log_jumprelu_threshold"]);
  const logThreshold = weights.log_jumprelu_threshold;
  delete weights.log_jumprelu_threshold;
  weights.threshold = { shape: logThreshold.shape, data: logThreshold.data.map(Math.exp) };
  checkWeights(cfg, weights, weightsPath, cfgPath);
  foldNormScalingFactor(cfg, weights);
  return { cfg, weights, format: "llama-scope-r1-distill", storedF16: f16 };
}
