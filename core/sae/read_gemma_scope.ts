/**
 * Gemma Scope's `params.npz` (`W_enc, b_enc, W_dec, b_dec, threshold`), SAEs and transcoders, with the config
 * SAELens's `gemma_2` and `gemma_2_transcoder` loaders derive from the repo id and the folder's name: the model
 * (`2b`, `9b-it`, ...), the hook (`res` → `hook_resid_post`, `mlp` → `hook_mlp_out`, `att` → `attn.hook_z`,
 * `embedding` → `hook_embed`; transcoders read `ln2.hook_normalized` and write `hook_mlp_out`), JumpReLU with the
 * per-feature threshold, no b_dec on the input. d_in and d_sae come from the arrays (the widths the names give
 * agree with them in every release).
 *
 * @module
 */

import { join } from "node:path";
import { readNpz } from "../io/npz.ts";
import type { SaeWeights } from "./architecture.ts";
import { parseSaeLensConfig } from "./config.ts";
import type { SaeOnDisk } from "./read_sae.ts";
import { gemmaScopeHook } from "./release_hooks.ts";
import { repoLocation } from "./_repo_location.ts";
import { checkNoOtherTensors, checkWeights, finiteTensor, foldFinetuningScale, storedF16 } from "./_sae_tensors.ts";

/** SAELens's Gemma 2 sizes, in the order it looks for them in the repo id. */
const GEMMA_MODELS: [string, string][] = [
  ["2b-it", "gemma-2-2b-it"],
  ["9b-it", "gemma-2-9b-it"],
  ["27b-it", "gemma-2-27b-it"],
  ["2b", "gemma-2-2b"],
  ["9b", "gemma-2-9b"],
  ["27b", "gemma-2-27b"],
];

/** The repo id and the SAE's folder in it: from the Hub cache, else from a `gemma-scope-*` folder in the path. */
function gemmaNames(folder: string): { repo: string; inRepo: string } {
  const { repoId, inRepo } = repoLocation(folder);
  if (repoId) return { repo: repoId, inRepo };
  const parts = inRepo.split("/");
  const at = parts.findLastIndex((p) => p.startsWith("gemma-scope-"));
  return at < 0 ? { repo: "", inRepo } : { repo: parts[at], inRepo: parts.slice(at + 1).join("/") };
}

/**
 * Reads a Gemma Scope folder (`params.npz`), an SAE or, when the repo is a `transcoders` one, a transcoder.
 *
 * @example
 * ```ts ignore
 * const sae = await readGemmaScope("~/.cache/huggingface/hub/models--google--gemma-scope-2b-pt-res/snapshots/<commit>/layer_20/width_16k/average_l0_71", {});
 * console.log(sae.cfg.metadata.hook_name); // "blocks.20.hook_resid_post"
 * ```
 *
 * @param folder The folder holding `params.npz`.
 * @param overrides The release's config overrides (Neuronpedia id, ...), applied as SAELens does.
 * @returns The SAE.
 * @throws {TypeError} When an array is missing, misshapen or not one of the five.
 * @throws {SyntaxError} When the archive is malformed (see `readNpz`).
 */
export async function readGemmaScope(folder: string, overrides: Record<string, unknown>): Promise<SaeOnDisk> {
  const npzPath = join(folder, "params.npz");
  const arrays = await readNpz(npzPath);
  const weights: SaeWeights = {};
  for (const [name, entry] of arrays) {
    // SAELens renames w_enc/w_dec; the transcoder loader also takes its other spellings
    const key = /^w_/.test(name) ? `W_${name.slice(2)}` : name;
    weights[key] = finiteTensor(entry, `${npzPath}: array "${name}"`);
  }
  const wEnc = weights.W_enc;
  if (!wEnc || wEnc.shape.length !== 2) throw new TypeError(`${npzPath}: array "W_enc" is missing or not 2-D`);
  const [dIn, dSae] = wEnc.shape;
  const { repo, inRepo } = gemmaNames(folder);
  const model = GEMMA_MODELS.find(([size]) => repo.includes(size))?.[1] ?? null;
  const transcoder = repo.includes("transcoder");
  const layer = /layer_(\d+)/.exec(inRepo)?.[1] ?? /layer_(\d+)/.exec(repo)?.[1];
  const shared = {
    d_in: dIn,
    d_sae: dSae,
    dtype: "float32",
    model_name: model,
    hook_head_index: null,
    prepend_bos: true,
    dataset_path: "monology/pile-uncopyrighted",
    context_size: 1024,
    apply_b_dec_to_input: false,
    normalize_activations: "none",
  };
  const flat = transcoder
    ? {
      architecture: "jumprelu_transcoder",
      d_out: dIn,
      ...shared,
      hook_name: layer === undefined ? null : `blocks.${layer}.ln2.hook_normalized`,
      hook_name_out: layer === undefined ? null : `blocks.${layer}.hook_mlp_out`,
      hook_head_index_out: null,
    }
    : {
      architecture: "jumprelu",
      ...shared,
      hook_name: gemmaScopeHook(repo, inRepo),
      finetuning_scaling_factor: false,
      sae_lens_training_version: null,
      dataset_trust_remote_code: true,
    };
  const raw = { ...flat, ...overrides };
  const cfg = parseSaeLensConfig(raw, npzPath);
  foldFinetuningScale(weights, raw, cfg, npzPath, npzPath);
  checkWeights(cfg, weights, npzPath, npzPath);
  checkNoOtherTensors(cfg, Object.keys(weights), npzPath);
  if (!transcoder && inRepo.includes("embedding")) {
    // trained on embeddings scaled by √d_model, as Gemma scales them: SAELens rescales to TransformerLens's hook_embed
    const s = Math.sqrt(dIn);
    weights.W_enc = { shape: wEnc.shape, data: wEnc.data.map((v) => v / s) };
    weights.W_dec = { shape: weights.W_dec.shape, data: weights.W_dec.data.map((v) => v * s) };
  }
  return { cfg, weights, format: transcoder ? "gemma-scope-transcoder" : "gemma-scope", storedF16: storedF16(arrays) };
}
