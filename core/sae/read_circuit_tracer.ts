/**
 * The per-layer transcoders of circuit-tracer's releases, with the configs SAELens's loaders give them:
 *
 * - mwhanna's Qwen3 transcoders (`mwhanna_transcoder`): `layer_N.safetensors` (W_enc [d_sae, d_in], transposed;
 *   b_enc; W_dec [d_sae, d_out]; b_dec) beside the repo's `wandb-config.yaml` (or its misspelling
 *   `wanb-config.yaml`: d_model, d_feature, batch_size) and, where there is one, `config.yaml` (model_name; else
 *   the model from the repo id). They read `blocks.N.mlp.hook_in` and write `blocks.N.hook_mlp_out`.
 * - mntss's cross-layer transcoders loaded one layer at a time (`mntss_clt_layer_transcoder`):
 *   `W_enc_N.safetensors` (W_enc_N [d_sae, d_in], b_enc_N, b_dec_N) and `W_dec_N.safetensors` (W_dec_N
 *   [d_sae, layers, d_out]), its decoders to every later layer summed into one, as SAELens does: the features'
 *   activations are the CLT's, its reconstruction is not. Hooks from the repo's `config.yaml`. W_dec_N is summed
 *   in parts straight from the file, so its size (gigabytes for the 2.5M-feature CLT) is never held at once.
 *
 * @module
 */

import { basename, dirname, join } from "node:path";
import type { HostTensor } from "../gpu/tensor.ts";
import { exists } from "../io/exists.ts";
import { readYaml } from "../io/read_yaml.ts";
import { DTYPE_BYTES, readSafetensors, SafetensorsReader, toFloat32 } from "../io/safetensors.ts";
import type { SaeWeights } from "./architecture.ts";
import { parseSaeLensConfig } from "./config.ts";
import type { SaeOnDisk } from "./read_sae.ts";
import { repoLocation } from "./_repo_location.ts";
import { checkWeights, finiteTensor, LINKS, storedF16, transpose } from "./_sae_tensors.ts";
import { configField, isObject, nonEmptyString } from "./_config_fields.ts";

/** `field.value` of a wandb config, a positive integer. */
function wandbInteger(cfg: Record<string, unknown>, field: string, path: string): number {
  const entry = cfg[field];
  const v = isObject(entry) ? entry.value : undefined;
  if (!Number.isSafeInteger(v) || (v as number) < 1) {
    throw new TypeError(`${path}: field ${field}.value is ${JSON.stringify(v)}: expected a positive integer`);
  }
  return v as number;
}

function stringField(cfg: unknown, field: string, path: string): string {
  return configField<string>(isObject(cfg) ? cfg : {}, field, path, nonEmptyString, "a string");
}

/**
 * Reads one of mwhanna's transcoders: `layer_N.safetensors` and the repo's wandb config beside it.
 *
 * @example
 * ```ts ignore
 * const t = await readMwhannaTranscoder("layer_10.safetensors", { neuronpedia_id: "qwen3-4b/10-transcoder-hp" });
 * console.log(t.cfg.metadata.hook_name_out); // "blocks.10.hook_mlp_out"
 * ```
 *
 * @param path The layer's file.
 * @param overrides The release's config overrides.
 * @returns The transcoder.
 * @throws {Deno.errors.NotFound} When neither wandb config is there.
 * @throws {TypeError} When a field or tensor is missing or misshapen, or the file has another tensor.
 */
export async function readMwhannaTranscoder(path: string, overrides: Record<string, unknown>): Promise<SaeOnDisk> {
  const folder = dirname(path);
  const layer = /^layer_(\d+)\.safetensors$/.exec(basename(path))?.[1];
  if (layer === undefined) throw new TypeError(`${path}: expected a file named layer_N.safetensors`);
  let wandbPath = join(folder, "wandb-config.yaml");
  if (!await exists(wandbPath, LINKS)) wandbPath = join(folder, "wanb-config.yaml");
  if (!await exists(wandbPath, LINKS)) {
    throw new Deno.errors.NotFound(`${join(folder, "wandb-config.yaml")} is missing (nor is there wanb-config.yaml)`);
  }
  const wandb = await readYaml(wandbPath);
  if (!isObject(wandb)) throw new TypeError(`${wandbPath}: expected a mapping`);
  const basePath = join(folder, "config.yaml");
  let model: string;
  if (await exists(basePath, LINKS)) model = stringField(await readYaml(basePath), "model_name", basePath);
  else {
    // the 14B repos have no config.yaml: SAELens takes the size from the repo id
    const size = /qwen3-(\d+(?:\.\d+)?)b/.exec(repoLocation(path).repoId || path)?.[1];
    if (size === undefined) throw new Deno.errors.NotFound(`${basePath} is missing and no qwen3-Nb names the model`);
    model = `Qwen/Qwen3-${size}B`;
  }
  const dModel = wandbInteger(wandb, "d_model", wandbPath);
  const cfg = parseSaeLensConfig({
    architecture: "transcoder",
    d_in: dModel,
    d_out: dModel,
    d_sae: wandbInteger(wandb, "d_feature", wandbPath),
    dtype: "float32",
    activation_fn: "relu",
    normalize_activations: "none",
    model_name: model,
    hook_name: `blocks.${layer}.mlp.hook_in`,
    hook_name_out: `blocks.${layer}.hook_mlp_out`,
    dataset_path: "monology/pile-uncopyrighted",
    context_size: wandbInteger(wandb, "batch_size", wandbPath),
    apply_b_dec_to_input: false,
    model_from_pretrained_kwargs: { fold_ln: false },
    ...overrides,
  }, wandbPath);
  const file = await readSafetensors(path);
  const weights: SaeWeights = {};
  for (const [name, entry] of file.tensors) weights[name] = finiteTensor(entry, `${path}: tensor "${name}"`);
  const other = Object.keys(weights).find((n) => !["W_enc", "b_enc", "W_dec", "b_dec"].includes(n));
  if (other !== undefined) throw new TypeError(`${path}: tensor "${other}" is not part of a transcoder`);
  if (weights.W_enc?.shape.length === 2) weights.W_enc = transpose(weights.W_enc);
  checkWeights(cfg, weights, path, wandbPath);
  return { cfg, weights, format: "mwhanna-transcoder", storedF16: storedF16(file.tensors) };
}

/** Rows of W_dec_N summed per read, so a read stays near 64 MiB whatever the CLT's size. */
const SUM_CHUNK_BYTES = 64 * 2 ** 20;

/** W_dec_N [d_sae, layers, d_out] summed over its layers, read from the file in parts. */
async function summedDecoder(file: SafetensorsReader, name: string, what: string): Promise<HostTensor> {
  const at = file.slots.get(name)!;
  if (at.shape.length !== 3) throw new TypeError(`${what} has shape [${at.shape}]: expected [d_sae, layers, d_out]`);
  const [dSae, layers, dOut] = at.shape;
  const rowBytes = layers * dOut * DTYPE_BYTES[at.dtype];
  const out = new Float32Array(dSae * dOut);
  const rowsPerRead = Math.max(1, Math.floor(SUM_CHUNK_BYTES / Math.max(rowBytes, 1)));
  for (let row = 0; row < dSae; row += rowsPerRead) {
    const rows = Math.min(rowsPerRead, dSae - row);
    const part = toFloat32({
      dtype: at.dtype,
      shape: [rows, layers, dOut],
      bytes: await file.readPart(name, row * rowBytes, rows * rowBytes),
    }, what);
    for (let r = 0; r < rows; r++) {
      const target = out.subarray((row + r) * dOut, (row + r + 1) * dOut);
      for (let l = 0; l < layers; l++) {
        const from = (r * layers + l) * dOut;
        for (let j = 0; j < dOut; j++) target[j] += part[from + j];
      }
    }
  }
  let bad = 0;
  for (let i = 0; i < out.length; i++) if (!Number.isFinite(out[i])) bad++; // indexed: a for-of is ten times slower
  if (bad > 0) throw new RangeError(`${what} sums to ${bad} non-finite values: expected finite weights`);
  return { shape: [dSae, dOut], data: out };
}

/**
 * Reads layer N of an mntss cross-layer transcoder as a single-layer transcoder: `W_enc_N.safetensors`,
 * `W_dec_N.safetensors` and the repo's `config.yaml` beside them.
 *
 * @example
 * ```ts ignore
 * const t = await readMntssCltLayer("W_enc_5.safetensors", {});
 * ```
 *
 * @param path The layer's encoder file `W_enc_N.safetensors`.
 * @param overrides The release's config overrides.
 * @returns The transcoder (its decoders summed).
 * @throws {TypeError} When a field or tensor is missing or misshapen.
 */
export async function readMntssCltLayer(path: string, overrides: Record<string, unknown>): Promise<SaeOnDisk> {
  const folder = dirname(path);
  const layer = /^W_enc_(\d+)\.safetensors$/.exec(basename(path))?.[1];
  if (layer === undefined) throw new TypeError(`${path}: expected a file named W_enc_N.safetensors`);
  const cfgPath = join(folder, "config.yaml");
  const config = await readYaml(cfgPath);
  const enc = await readSafetensors(path);
  const take = (name: string) => {
    const entry = enc.tensors.get(name);
    if (!entry) throw new TypeError(`${path}: tensor "${name}" is missing`);
    return finiteTensor(entry, `${path}: tensor "${name}"`);
  };
  const wEnc = take(`W_enc_${layer}`), bEnc = take(`b_enc_${layer}`), bDec = take(`b_dec_${layer}`);
  const decPath = join(folder, `W_dec_${layer}.safetensors`);
  const decoders = await SafetensorsReader.open(decPath);
  try {
    if (!decoders.slots.has(`W_dec_${layer}`)) throw new TypeError(`${decPath}: tensor "W_dec_${layer}" is missing`);
    return await cltLayer(decoders, decPath, layer, { config, cfgPath, path, wEnc, bEnc, bDec, overrides });
  } finally {
    decoders.close();
  }
}

async function cltLayer(
  decoders: SafetensorsReader,
  decPath: string,
  layer: string,
  parts: {
    config: unknown;
    cfgPath: string;
    path: string;
    wEnc: HostTensor;
    bEnc: HostTensor;
    bDec: HostTensor;
    overrides: Record<string, unknown>;
  },
): Promise<SaeOnDisk> {
  const { config, cfgPath, path, wEnc, bEnc, bDec, overrides } = parts;
  const cfg = parseSaeLensConfig({
    architecture: "transcoder",
    d_in: bDec.shape[0],
    d_out: bDec.shape[0],
    d_sae: bEnc.shape[0],
    dtype: "float32",
    activation_fn: "relu",
    normalize_activations: "none",
    model_name: stringField(config, "model_name", cfgPath),
    hook_name: `blocks.${layer}.${stringField(config, "feature_input_hook", cfgPath)}`,
    hook_name_out: `blocks.${layer}.${stringField(config, "feature_output_hook", cfgPath)}`,
    apply_b_dec_to_input: false,
    model_from_pretrained_kwargs: { fold_ln: false },
    ...overrides,
  }, cfgPath);
  if (wEnc.shape.length !== 2) throw new TypeError(`${path}: tensor "W_enc_${layer}" is not 2-D`);
  const weights: SaeWeights = {
    W_enc: transpose(wEnc),
    b_enc: bEnc,
    b_dec: bDec,
    W_dec: await summedDecoder(decoders, `W_dec_${layer}`, `${decPath}: tensor "W_dec_${layer}"`),
  };
  checkWeights(cfg, weights, path, cfgPath);
  return { cfg, weights, format: "mntss-clt-layer", storedF16: false };
}
