/**
 * SAE configuration in SAELens v6 form, parsed from v6 or pre-6.0 `cfg.json` files.
 *
 * @module
 */

import { NORMALIZE_MODES, type NormalizeMode } from "../ops/normalize.ts";
import { getArchitecture } from "./registry.ts";
import "./architectures.ts";
import { describeValue } from "../util/describe_value.ts";

/** Where the SAE was trained: SAELens's `metadata` block. */
export interface SaeMetadata {
  /** Model the SAE reads, e.g. "gpt2-small". */
  model_name?: string | null;
  /** TransformerLens hook, e.g. "blocks.8.hook_resid_pre". */
  hook_name?: string | null;
  /** Head index for per-head hooks. */
  hook_head_index?: number | null;
  /** Context size of the training rows. */
  context_size?: number | null;
  /** Whether training rows started with BOS. */
  prepend_bos?: boolean | null;
  /** Training dataset. */
  dataset_path?: string | null;
  /** Neuronpedia id, e.g. "gpt2-small/8-res-jb". */
  neuronpedia_id?: string | null;
  /** TransformerLens `from_pretrained` arguments the SAE expects. */
  model_from_pretrained_kwargs?: Record<string, unknown> | null;
  /** Transcoders: the hook whose activations they reconstruct, e.g. "blocks.3.hook_mlp_out". */
  hook_name_out?: string | null;
  /** Other fields, kept as read. */
  [key: string]: unknown;
}

/** SAELens v6 `cfg.json`, with the architecture-specific keys used here. */
export interface SaeConfig {
  /** Registered architecture name: standard, topk, jumprelu, gated (training names map to these). */
  architecture: string;
  /** Input width. */
  d_in: number;
  /** Number of latents. */
  d_sae: number;
  /** Transcoders: output width (the width at `metadata.hook_name_out`). */
  d_out?: number;
  /** Stored dtype, e.g. "float32". */
  dtype: string;
  /** Device SAELens would use; informational here. */
  device: string;
  /** Subtract b_dec from the input before encoding. */
  apply_b_dec_to_input: boolean;
  /** Input normalization. */
  normalize_activations: NormalizeMode;
  /** "hook_z" flattens [.., n_heads, d_head] inputs. */
  reshape_activations: "none" | "hook_z";
  /** Kept latents per token (topk). */
  k?: number;
  /** TopK: select on pre-activations scaled by ‖W_dec,i‖. */
  rescale_acts_by_decoder_norm?: boolean;
  /** s of `expected_average_only_in` where known (SAELens folds it in at load; without it, none). */
  norm_scaling_factor?: number;
  /** Training context. */
  metadata: SaeMetadata;
}

/** The metadata keys SAELens moves out of a pre-6.0 flat config. */
const METADATA_KEYS = [
  "model_name",
  "hook_name",
  "hook_head_index",
  "context_size",
  "prepend_bos",
  "dataset_path",
  "dataset_trust_remote_code",
  "neuronpedia_id",
  "model_from_pretrained_kwargs",
  "sae_lens_training_version",
  "model_class_name",
  "seqpos_slice",
  "exclude_special_tokens",
  "sequence_separator_token",
  "disable_concat_sequences",
  "hook_name_out",
  "hook_head_index_out",
] as const;

/** Architecture names that training writes under another inference name. */
const INFERENCE_NAME: Record<string, string> = {
  batchtopk: "jumprelu",
  matryoshka_batchtopk: "jumprelu",
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function positiveInteger(cfg: Record<string, unknown>, field: string, path: string): number {
  const v = cfg[field];
  if (v === undefined) throw new TypeError(`${path}: field ${field} is missing: expected a positive integer`);
  if (!Number.isSafeInteger(v) || (v as number) < 1) {
    throw new TypeError(`${path}: field ${field} is ${describeValue(v)}: expected a positive integer`);
  }
  return v as number;
}

/** The checks of typed optional fields: a test and how the expected type reads in errors. */
const KINDS = {
  boolean: [(v: unknown) => typeof v === "boolean", "true or false"],
  string: [(v: unknown) => typeof v === "string", "a string"],
  object: [isObject, "a JSON object"],
  positiveInteger: [(v: unknown) => Number.isSafeInteger(v) && (v as number) >= 1, "a positive integer"],
  nonNegativeInteger: [(v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0, "a non-negative integer"],
  positiveNumber: [(v: unknown) => typeof v === "number" && Number.isFinite(v) && v > 0, "a positive number"],
} as const;

/**
 * The field's value when present, refused (not coerced) when of the wrong type; `null` is allowed only
 * where SAELens types the field `Optional`.
 */
function typed(
  obj: Record<string, unknown>,
  field: string,
  kind: keyof typeof KINDS,
  path: string,
  nullable = false,
): unknown {
  const v = obj[field];
  if (v === undefined || (nullable && v === null)) return v;
  const [test, expected] = KINDS[kind];
  if (!test(v)) {
    throw new TypeError(
      `${path}: field ${field} is ${describeValue(v)}: expected ${expected}${nullable ? " or null" : ""}`,
    );
  }
  return v;
}

/** SAELens's `metadata` fields with their types (all `Optional`). */
const METADATA_TYPES: Record<string, keyof typeof KINDS> = {
  model_name: "string",
  hook_name: "string",
  hook_head_index: "nonNegativeInteger",
  context_size: "positiveInteger",
  prepend_bos: "boolean",
  dataset_path: "string",
  neuronpedia_id: "string",
  model_from_pretrained_kwargs: "object",
  sae_lens_version: "string",
  sae_lens_training_version: "string",
  model_class_name: "string",
  hook_name_out: "string",
  hook_head_index_out: "nonNegativeInteger",
};

function versionBelow6(version: unknown): boolean {
  if (typeof version !== "string") return true;
  const major = Number.parseInt(version.split(".")[0], 10);
  return !(major >= 6);
}

/**
 * Parses a SAELens `cfg.json` (v6, or pre-6.0 flat with `hook_point`, `activation_fn_str`, boolean
 * `normalize_activations`) into the v6 form, as SAELens's `handle_config_defaulting` does.
 *
 * @example Parse a pre-6.0 config
 * ```ts
 * import { parseSaeLensConfig } from "./config.ts";
 * const cfg = parseSaeLensConfig({ d_in: 4, d_sae: 8, hook_point: "blocks.0.hook_resid_pre", normalize_activations: false }, "cfg.json");
 * console.log(cfg.architecture, cfg.metadata.hook_name, cfg.normalize_activations); // standard blocks.0.hook_resid_pre none
 * ```
 *
 * @param raw The parsed JSON.
 * @param path The file, for error messages.
 * @returns The v6 configuration.
 * @throws {TypeError} When a required field is missing or of the wrong type.
 * @throws {RangeError} When `normalize_activations` or `reshape_activations` has an unknown value.
 */
export function parseSaeLensConfig(raw: unknown, path: string): SaeConfig {
  if (!isObject(raw)) throw new TypeError(`${path}: expected a JSON object, found ${JSON.stringify(raw)}`);
  if (raw.metadata !== undefined && raw.metadata !== null && !isObject(raw.metadata)) {
    throw new TypeError(`${path}: field metadata is ${describeValue(raw.metadata)}: expected a JSON object`);
  }
  const version = raw.sae_lens_version ?? (isObject(raw.metadata) ? raw.metadata.sae_lens_version : undefined) ??
    (isObject(raw.metadata) ? raw.metadata.sae_lens_training_version : undefined);
  const legacy = !isObject(raw.metadata) && versionBelow6(version);
  const flat: Record<string, unknown> = legacy ? renameLegacyKeys(raw) : { ...raw };
  const metadata: SaeMetadata = legacy
    ? Object.fromEntries(METADATA_KEYS.filter((k) => k in flat).map((k) => [k, flat[k]]))
    : { ...(isObject(raw.metadata) ? raw.metadata : {}) };
  if (!legacy) {
    for (const key of ["model_name", "hook_name", "hook_head_index"] as const) {
      if (metadata[key] === undefined && flat[key] !== undefined) metadata[key] = flat[key] as never;
    }
  }
  for (const [key, kind] of Object.entries(METADATA_TYPES)) {
    typed(metadata, key, kind, path, true);
  }
  let architecture = (typed(flat, "architecture", "string", path) as string | undefined) ?? "standard";
  // BatchTopK trains with a mean k that may be fractional (SAELens 6.11); it loads as JumpReLU, which ignores k.
  const trainedAs = Object.hasOwn(INFERENCE_NAME, architecture);
  let k = typed(flat, "k", trainedAs ? "positiveNumber" : "positiveInteger", path, true);
  const activation = typed(flat, "activation_fn", "string", path, true);
  const kwargs = typed(flat, "activation_fn_kwargs", "object", path, true) as Record<string, unknown> | undefined;
  if (activation === "topk") {
    if (!isObject(kwargs)) {
      throw new TypeError(
        `${path}: field activation_fn is "topk" but activation_fn_kwargs is missing: expected {"k": K}`,
      );
    }
    architecture = "topk";
    k = typed(kwargs, "k", "positiveInteger", `${path} activation_fn_kwargs`);
    if (k === undefined) {
      throw new TypeError(`${path}: field activation_fn_kwargs.k is missing: expected a positive integer`);
    }
  }
  if (trainedAs) architecture = INFERENCE_NAME[architecture];
  let normalize = flat.normalize_activations;
  if (typeof normalize === "boolean") normalize = normalize ? "expected_average_only_in" : "none";
  normalize ??= "none"; // SAELens's None behaves as "none"
  if (!NORMALIZE_MODES.includes(normalize as NormalizeMode)) {
    throw new RangeError(
      `${path}: field normalize_activations is ${describeValue(normalize)}: expected one of ${
        NORMALIZE_MODES.join(", ")
      }`,
    );
  }
  const hookName = typeof metadata.hook_name === "string" ? metadata.hook_name : "";
  const reshape = flat.reshape_activations === undefined
    ? (hookName.endsWith("hook_z") ? "hook_z" : "none")
    : flat.reshape_activations;
  if (reshape !== "none" && reshape !== "hook_z") {
    throw new RangeError(
      `${path}: field reshape_activations is ${describeValue(reshape)}: expected "none" or "hook_z"`,
    );
  }
  const dtype = (typed(flat, "dtype", "string", path) as string | undefined) ?? "float32";
  const cfg: SaeConfig = {
    architecture,
    d_in: positiveInteger(flat, "d_in", path),
    d_sae: positiveInteger(flat, "d_sae", path),
    dtype: dtype.replace(/^torch\./, ""),
    device: (typed(flat, "device", "string", path) as string | undefined) ?? "cpu",
    apply_b_dec_to_input: (typed(flat, "apply_b_dec_to_input", "boolean", path) as boolean | undefined) ?? true,
    normalize_activations: normalize as NormalizeMode,
    reshape_activations: reshape,
    metadata,
  };
  const dOut = typed(flat, "d_out", "positiveInteger", path);
  if (dOut !== undefined) cfg.d_out = dOut as number;
  if (k !== undefined && k !== null) cfg.k = k as number;
  if (typed(flat, "rescale_acts_by_decoder_norm", "boolean", path) === true) cfg.rescale_acts_by_decoder_norm = true;
  const scale = typed(flat, "norm_scaling_factor", "positiveNumber", path, true);
  if (typeof scale === "number") cfg.norm_scaling_factor = scale;
  // a registered architecture whose own settings fit (k at most d_sae), or an error naming the field
  getArchitecture(cfg.architecture, path).checkConfig(cfg, path);
  return cfg;
}

function renameLegacyKeys(raw: Record<string, unknown>): Record<string, unknown> {
  const rename: Record<string, string> = {
    hook_point: "hook_name",
    hook_point_head_index: "hook_head_index",
    activation_fn_str: "activation_fn",
  };
  return Object.fromEntries(Object.entries(raw).map(([key, v]) => [Object.hasOwn(rename, key) ? rename[key] : key, v]));
}

/**
 * Merges SAELens `config_overrides` (flat, pre-6.0 names as the release registry writes them) into a
 * raw `cfg.json`: in a v6 file the metadata fields go into `metadata`, the rest to the top level.
 *
 * @example
 * ```ts
 * import { applyConfigOverrides } from "./config.ts";
 * const raw = applyConfigOverrides({ d_in: 4, metadata: {} }, { neuronpedia_id: "gpt2-small/8-res-jb" });
 * console.log(raw.metadata); // { neuronpedia_id: "gpt2-small/8-res-jb" }
 * ```
 *
 * @param raw The parsed cfg.json.
 * @param overrides Fields to set.
 * @returns A new object; `raw` is left as it was.
 */
export function applyConfigOverrides(
  raw: Record<string, unknown>,
  overrides: Record<string, unknown>,
): Record<string, unknown> {
  if (!isObject(raw.metadata)) return { ...raw, ...overrides };
  const metadata = { ...raw.metadata };
  const top: Record<string, unknown> = { ...raw, metadata };
  for (const [key, value] of Object.entries(overrides)) {
    if ((METADATA_KEYS as readonly string[]).includes(key)) metadata[key] = value;
    else top[key] = value;
  }
  return top;
}

/**
 * Serializes a configuration as SAELens v6 writes `cfg.json`.
 *
 * @example Round trip
 * ```ts
 * import { parseSaeLensConfig, toSaeLensJson } from "./config.ts";
 * const cfg = parseSaeLensConfig({ architecture: "topk", d_in: 4, d_sae: 8, k: 2, metadata: {} }, "cfg.json");
 * console.log(JSON.parse(toSaeLensJson(cfg)).k); // 2
 * ```
 *
 * @param cfg The configuration.
 * @returns Pretty-printed JSON.
 */
export function toSaeLensJson(cfg: SaeConfig): string {
  const { metadata, ...top } = cfg;
  return JSON.stringify({ ...top, metadata: { ...metadata, sae_lens_version: "6.0.0" } }, null, 2) + "\n";
}
