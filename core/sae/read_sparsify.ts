/**
 * sparsify's folders (`cfg.json` + `sae.safetensors`): TopK SAEs whose encoder is an nn.Linear [d_sae, d_in], read
 * as SAELens's `sparsify` loader reads them, the hook from the folder's name (`layers.N` →
 * `blocks.N.hook_resid_post`, `embed_tokens` → `hook_embed`).
 *
 * @module
 */

import { basename, join } from "node:path";
import { readJson } from "../io/read_json.ts";
import { readSafetensors } from "../io/safetensors.ts";
import type { SaeWeights } from "./architecture.ts";
import { applyConfigOverrides, parseSaeLensConfig } from "./config.ts";
import type { SaeOnDisk } from "./read_sae.ts";
import { checkWeights, finiteTensor, storedF16, transpose } from "./_sae_tensors.ts";

/**
 * Reads a sparsify folder.
 *
 * @example
 * ```ts ignore
 * const sae = await readSparsify("sae-pythia-70m-32k/layers.1", {});
 * ```
 *
 * @param folder The folder.
 * @param overrides Config overrides, as SAELens applies them.
 * @returns The SAE.
 * @throws {TypeError} When cfg.json has a field of the wrong type, describes a transcoder, or a tensor is missing.
 */
export async function readSparsify(folder: string, overrides: Record<string, unknown>): Promise<SaeOnDisk> {
  const cfgPath = join(folder, "cfg.json");
  const raw = parseSparsifyConfig(await readJson(cfgPath), cfgPath);
  const { d_in: dIn, k } = raw;
  const numLatents = raw.num_latents || dIn * raw.expansion_factor;
  const name = basename(folder);
  const layer = /layers[._](\d+)/.exec(name)?.[1];
  const hook = name === "embed_tokens" ? "hook_embed" : layer !== undefined ? `blocks.${layer}.hook_resid_post` : null;
  const cfg = parseSaeLensConfig(
    applyConfigOverrides({
      architecture: "topk",
      d_in: dIn,
      d_sae: numLatents,
      k,
      dtype: "float32",
      apply_b_dec_to_input: true, // sparsify subtracts b_dec unless transcoding
      normalize_activations: "none",
      metadata: { hook_name: hook, model_name: null, sparsify_cfg: raw },
    }, overrides),
    cfgPath,
  );
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
