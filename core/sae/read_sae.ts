/**
 * Reads an SAE from disk in any supported layout: SAELens (v6 and pre-6.0 `cfg.json` with
 * `sae_weights.safetensors`), sparsify (`cfg.json` + `sae.safetensors`) or Gemma Scope
 * (`params.npz`). Weights come back as float32 with SAELens names and shapes. Never pickle.
 *
 * @module
 */

import { basename, join } from "node:path";
import type { HostTensor } from "../gpu/tensor.ts";
import type { SaeWeights } from "./architecture.ts";
import { applyConfigOverrides, parseSaeLensConfig, type SaeConfig } from "./config.ts";
import { getArchitecture } from "./registry.ts";
import "./architectures.ts";
import { readNpz } from "../io/npz.ts";
import { readSafetensors, type SafetensorsEntry, toFloat32 } from "../io/safetensors.ts";
import { exists } from "../io/exists.ts";
import { readJson } from "../io/read_json.ts";

/** The on-disk layouts recognized. */
export type SaeFormat = "saelens" | "saelens-legacy" | "sparsify" | "gemma-scope";

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

/** A dangling link in an SAE folder is reported by its reader, never taken as a missing optional file. */
const LINKS = { danglingLinks: true };

const PICKLE_EXTENSIONS = [".pt", ".pth", ".bin", ".ckpt", ".pkl", ".pickle"];

function pickleError(path: string): Error {
  return new TypeError(
    `${path} is a PyTorch pickle file: sae never loads pickle (it can run code); save the weights as safetensors ` +
      "(safetensors.torch.save_file) in a SAELens folder with cfg.json",
  );
}

/**
 * Reads an SAE folder (or the folder of a given weights file).
 *
 * @example Read a SAELens folder
 * ```ts ignore
 * const { cfg, weights } = await readSae("fixtures/sae-standard");
 * console.log(cfg.d_sae, weights.W_enc.shape);
 * ```
 *
 * @param path A folder, or a `cfg.json`/weights file inside one.
 * @param overrides SAELens `config_overrides` merged into a SAELens cfg.json (releases set these).
 * @returns Configuration, weights and sparsity.
 * @throws {Deno.errors.NotFound} When the path or a needed file is missing.
 * @throws {TypeError} For pickle files, missing tensors, or shapes disagreeing with cfg.json.
 * @throws {SyntaxError} For malformed JSON or safetensors.
 */
export async function readSae(path: string, overrides: Record<string, unknown> = {}): Promise<SaeOnDisk> {
  if (PICKLE_EXTENSIONS.some((e) => path.endsWith(e))) throw pickleError(path);
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw new Deno.errors.NotFound(`SAE path ${path} does not exist`);
    throw error;
  }
  const folder = stat.isDirectory ? path : join(path, "..");
  if (await exists(join(folder, "sae_weights.safetensors"), LINKS)) return await readSaeLens(folder, overrides);
  if (await exists(join(folder, "sae.safetensors"), LINKS)) return await readSparsify(folder);
  if (await exists(join(folder, "params.npz"), LINKS)) return await readGemmaScope(folder);
  for await (const entry of Deno.readDir(folder)) {
    if (PICKLE_EXTENSIONS.some((e) => entry.name.endsWith(e))) throw pickleError(join(folder, entry.name));
  }
  throw new Deno.errors.NotFound(
    `${folder} holds no SAE: expected sae_weights.safetensors (SAELens), sae.safetensors (sparsify) or params.npz (Gemma Scope)`,
  );
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

/**
 * SAELens's `from_pretrained` for `expected_average_only_in` SAEs whose release gives `norm_scaling_factor` s:
 * `fold_activation_norm_scaling_factor(s)` (W_enc · s, W_dec / s, b_dec / s) and `normalize_activations: "none"`,
 * so W_dec, steering strengths and a saved copy mean what they mean in SAELens.
 */
function foldNormScalingFactor(cfg: SaeConfig, weights: SaeWeights): void {
  const s = cfg.norm_scaling_factor;
  if (cfg.normalize_activations !== "expected_average_only_in" || s === undefined) return;
  const times = (name: string, f: number) => {
    const t = weights[name];
    if (t) weights[name] = { shape: t.shape, data: Float32Array.from(t.data, (v) => v * f) };
  };
  times("W_enc", s);
  times("W_dec", 1 / s);
  times("b_dec", 1 / s);
  cfg.normalize_activations = "none";
  delete cfg.norm_scaling_factor;
}

/**
 * Old SAELens SAEs may carry `scaling_factor` [d_sae], multiplied into the features before
 * decoding when `finetuning_scaling_factor` is set: fold it into W_dec's rows. All ones is dropped.
 */
function foldFinetuningScale(
  weights: SaeWeights,
  raw: Record<string, unknown>,
  cfg: SaeConfig,
  path: string,
  cfgPath: string,
): void {
  const flag = raw.finetuning_scaling_factor;
  if (flag !== undefined && typeof flag !== "boolean") {
    throw new TypeError(
      `${cfgPath}: field finetuning_scaling_factor is ${JSON.stringify(flag)}: expected true or false`,
    );
  }
  const scale = weights.scaling_factor;
  if (!scale) return;
  delete weights.scaling_factor;
  checkShape(scale, [cfg.d_sae], `${path}: tensor "scaling_factor"`, cfgPath);
  if (scale.data.every((v) => v === 1)) return;
  if (flag !== true) {
    throw new TypeError(
      `${path}: tensor "scaling_factor" is not all ones but cfg.json field finetuning_scaling_factor is not true`,
    );
  }
  const wDec = weights.W_dec;
  if (!wDec) return;
  const dIn = wDec.shape[1];
  const data = new Float32Array(wDec.data);
  for (let i = 0; i < scale.data.length; i++) for (let j = 0; j < dIn; j++) data[i * dIn + j] *= scale.data[i];
  weights.W_dec = { shape: wDec.shape, data };
}

async function readSparsify(folder: string): Promise<SaeOnDisk> {
  const cfgPath = join(folder, "cfg.json");
  const raw = parseSparsifyConfig(await readJson(cfgPath), cfgPath);
  const { d_in: dIn, k } = raw;
  const numLatents = raw.num_latents || dIn * raw.expansion_factor;
  const name = basename(folder);
  const layer = /layers[._](\d+)/.exec(name)?.[1];
  const hook = name === "embed_tokens" ? "hook_embed" : layer !== undefined ? `blocks.${layer}.hook_resid_post` : null;
  const cfg = parseSaeLensConfig({
    architecture: "topk",
    d_in: dIn,
    d_sae: numLatents,
    k,
    dtype: "float32",
    apply_b_dec_to_input: true, // sparsify subtracts b_dec unless transcoding
    normalize_activations: "none",
    metadata: { hook_name: hook, model_name: null, sparsify_cfg: raw },
  }, cfgPath);
  const weightsPath = join(folder, "sae.safetensors");
  const file = await readSafetensors(weightsPath);
  const take = (n: string) => {
    const e = file.tensors.get(n);
    return e ? finiteTensor(e, `${weightsPath}: tensor "${n}"`) : undefined;
  };
  const missing = (n: string): never => {
    throw new TypeError(`${weightsPath}: tensor "${n}" is missing`);
  };
  const encoder = take("encoder.weight") ?? take("W_enc") ?? missing("encoder.weight");
  const weights: SaeWeights = {
    // sparsify's encoder is an nn.Linear [d_sae, d_in]; SAELens's W_enc is [d_in, d_sae].
    W_enc: encoder.shape[0] === cfg.d_sae && encoder.shape[1] === cfg.d_in ? transpose(encoder) : encoder,
    // sparsify loads strictly: a missing bias is a broken file, not zeros.
    b_enc: take("encoder.bias") ?? take("b_enc") ?? missing("encoder.bias"),
  };
  const wDec = take("W_dec");
  if (wDec) {
    weights.W_dec = wDec.shape[0] === cfg.d_in && wDec.shape[1] === cfg.d_sae && cfg.d_in !== cfg.d_sae
      ? transpose(wDec)
      : wDec;
  }
  const bDec = take("b_dec");
  if (bDec) weights.b_dec = bDec;
  checkWeights(cfg, weights, weightsPath, cfgPath);
  return { cfg, weights, format: "sparsify", storedF16: storedF16(file.tensors) };
}

async function readGemmaScope(folder: string): Promise<SaeOnDisk> {
  const npzPath = join(folder, "params.npz");
  const arrays = await readNpz(npzPath);
  const weights: SaeWeights = {};
  for (const [name, entry] of arrays) weights[name] = finiteTensor(entry, `${npzPath}: array "${name}"`);
  const wEnc = weights.W_enc;
  if (!wEnc || wEnc.shape.length !== 2) throw new TypeError(`${npzPath}: array "W_enc" is missing or not 2-D`);
  const layer = /layer_(\d+)/.exec(folder)?.[1];
  const site = /-att/.test(folder) ? "attn.hook_z" : /-mlp/.test(folder) ? "hook_mlp_out" : "hook_resid_post";
  const size = /gemma-scope-(\d+b)/.exec(folder)?.[1];
  const cfg = parseSaeLensConfig({
    architecture: "jumprelu",
    d_in: wEnc.shape[0],
    d_sae: wEnc.shape[1],
    dtype: "float32",
    apply_b_dec_to_input: false,
    normalize_activations: "none",
    metadata: {
      model_name: size ? `gemma-2-${size}` : null,
      hook_name: layer !== undefined ? `blocks.${layer}.${site}` : null,
      prepend_bos: true,
      context_size: 1024,
    },
  }, npzPath);
  checkWeights(cfg, weights, npzPath, npzPath);
  return { cfg, weights, format: "gemma-scope", storedF16: storedF16(arrays) };
}

function hostTensor(entry: SafetensorsEntry, what: string): HostTensor {
  return { shape: entry.shape, data: toFloat32(entry, what) };
}

/** A weight as float32, refused when it holds NaN or ±Inf: one such value poisons every output. */
function finiteTensor(entry: SafetensorsEntry, what: string): HostTensor {
  const t = hostTensor(entry, what);
  let bad = 0;
  for (const v of t.data) if (!Number.isFinite(v)) bad++;
  if (bad > 0) {
    throw new RangeError(
      `${what} holds ${bad} non-finite values (NaN or infinity, in float32): expected finite weights`,
    );
  }
  return t;
}

/** The fields of a sparsify `cfg.json` read here, with sparsify's defaults (`SparseCoderConfig`). */
interface SparsifyConfig {
  d_in: number;
  num_latents: number;
  expansion_factor: number;
  k: number;
  [key: string]: unknown;
}

function parseSparsifyConfig(read: unknown, cfgPath: string): SparsifyConfig {
  if (typeof read !== "object" || read === null || Array.isArray(read)) {
    throw new TypeError(`${cfgPath}: expected a JSON object, found ${JSON.stringify(read)}`);
  }
  const raw = read as Record<string, unknown>;
  for (const field of ["transcode", "skip_connection"]) {
    if (raw[field] !== undefined && typeof raw[field] !== "boolean") {
      throw new TypeError(`${cfgPath}: field ${field} is ${JSON.stringify(raw[field])}: expected true or false`);
    }
  }
  if (raw.transcode === true || raw.skip_connection === true) {
    throw new TypeError(
      `${cfgPath}: sparsify transcoders and skip connections map outputs, not autoencoders: expected transcode and skip_connection false`,
    );
  }
  if (raw.activation !== undefined && raw.activation !== "topk") {
    throw new TypeError(`${cfgPath}: field activation is ${JSON.stringify(raw.activation)}: expected "topk"`);
  }
  const integer = (field: string, fallback: number | undefined, min: number): number => {
    const v = raw[field] === undefined ? fallback : raw[field]; // null is refused, not defaulted
    if (!Number.isSafeInteger(v) || (v as number) < min) {
      throw new TypeError(
        `${cfgPath}: field ${field} is ${JSON.stringify(raw[field])}: expected an integer >= ${min}`,
      );
    }
    return v as number;
  };
  return {
    ...raw,
    d_in: integer("d_in", undefined, 1),
    num_latents: integer("num_latents", 0, 0),
    expansion_factor: integer("expansion_factor", 32, 1),
    k: integer("k", 32, 1),
  };
}

function storedF16(tensors: Map<string, SafetensorsEntry>): boolean {
  return tensors.get("W_enc")?.dtype === "F16" || tensors.get("encoder.weight")?.dtype === "F16";
}

function transpose(t: HostTensor): HostTensor {
  const [rows, cols] = t.shape;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = t.data[r * cols + c];
  return { shape: [cols, rows], data: out };
}

function checkShape(t: HostTensor, expected: number[], what: string, cfgPath: string): void {
  if (t.shape.length !== expected.length || t.shape.some((d, i) => d !== expected[i])) {
    throw new TypeError(
      `${what} has shape [${t.shape.join(", ")}], expected [${expected.join(", ")}] from ${cfgPath} d_in/d_sae`,
    );
  }
}

/**
 * SAELens loads its state dict strictly: a tensor the architecture does not have (e.g. a misspelt
 * `scaling_factor`, which would otherwise go unused) means the file is not what it claims. (A legacy
 * `scaling_factor` is folded into W_dec.)
 */
function checkNoOtherTensors(cfg: SaeConfig, names: Iterable<string>, weightsPath: string): void {
  const architecture = getArchitecture(cfg.architecture, weightsPath);
  const known = ["W_enc", "W_dec", "b_dec", "scaling_factor", ...architecture.latentVectors];
  // The file's names, not the weights object's keys: "__proto__" would be no key of it.
  const other = [...names].find((name) => !known.includes(name));
  if (other !== undefined) {
    throw new TypeError(
      `${weightsPath}: tensor "${other}" is not part of a ${architecture.name} SAE: expected only ${known.join(", ")}`,
    );
  }
}

/**
 * Checks that the weights hold every tensor the architecture needs, with shapes from the config.
 *
 * @throws {TypeError} Naming the file, the tensor and the expected shape.
 * @throws {RangeError} When the architecture is unknown.
 */
export function checkWeights(cfg: SaeConfig, weights: SaeWeights, weightsPath: string, cfgPath: string): void {
  const architecture = getArchitecture(cfg.architecture, cfgPath);
  architecture.checkConfig(cfg, cfgPath);
  const expected: Record<string, number[]> = {
    W_enc: [cfg.d_in, cfg.d_sae],
    W_dec: [cfg.d_sae, cfg.d_in],
    b_dec: [cfg.d_in],
  };
  for (const name of architecture.latentVectors) expected[name] = [cfg.d_sae];
  const needed = Object.keys(expected);
  for (const [name, shape] of Object.entries(expected)) {
    const t = weights[name];
    if (!t) {
      throw new TypeError(
        `${weightsPath}: tensor "${name}" is missing: a ${architecture.name} SAE needs ${needed.join(", ")}`,
      );
    }
    checkShape(t, shape, `${weightsPath}: tensor "${name}"`, cfgPath);
  }
}
