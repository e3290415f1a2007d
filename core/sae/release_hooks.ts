/**
 * The hook of a registry SAE, as SAELens's loader derives it from the names alone (repo id, path, id), so
 * `sae releases --hook` can filter 4,500 SAEs without downloading a config. The loaders use the same
 * derivations where SAELens's do.
 *
 * @module
 */

import type { Release, ReleaseSae } from "./releases.ts";

/** A TransformerLens hook at the start of an SAE id (`blocks.8.hook_resid_pre_768` → `blocks.8.hook_resid_pre`). */
const HOOK_PREFIX = /^(?:blocks\.\d+\.(?:[a-z0-9]+\.)?)?hook_[a-z]+(?:_[a-z]+)*/;

/**
 * Gemma Scope's hook, as SAELens's `get_gemma_2_config_from_hf` derives it: the site from the repo id
 * (`res`, `mlp`, `att`), the layer from `layer_N` in the folder, `hook_embed` for embedding SAEs.
 *
 * @example
 * ```ts
 * import { gemmaScopeHook } from "./release_hooks.ts";
 * console.log(gemmaScopeHook("google/gemma-scope-2b-pt-att", "layer_3/width_16k/average_l0_5")); // blocks.3.attn.hook_z
 * ```
 *
 * @param repoId The repo (or, for a folder on disk, its path: only the words SAELens looks for matter).
 * @param folder The SAE's folder in it.
 * @returns The hook, or null when neither names one.
 */
export function gemmaScopeHook(repoId: string, folder: string): string | null {
  const embedding = folder.includes("embedding");
  const layer = /layer_(\d+)/.exec(folder)?.[1] ?? (embedding ? "0" : undefined);
  if (layer === undefined) return null;
  if (repoId.includes("res")) return embedding ? "hook_embed" : `blocks.${layer}.hook_resid_post`;
  if (repoId.includes("mlp")) return `blocks.${layer}.hook_mlp_out`;
  if (repoId.includes("att")) return `blocks.${layer}.attn.hook_z`;
  return null;
}

/** Llama Scope's sublayers (`L{layer}{R|A|M}` in the folder) and the hook each reads. */
const LLAMA_SCOPE_SITES: Record<string, string> = { R: "hook_resid_post", A: "hook_attn_out", M: "hook_mlp_out" };

/** By loader: the hook from (repo id, path, id), null where the loader reads it from a downloaded file. */
const HOOKS: Record<string, (repoId: string, path: string, id: string) => string | null> = {
  sae_lens: (_repo, _path, id) => HOOK_PREFIX.exec(id)?.[0] ?? null,
  connor_rob_hook_z: (_repo, _path, id) => id.replace(/\.hook_z$/, ".attn.hook_z"),
  gemma_2: gemmaScopeHook,
  gemma_2_transcoder: (_repo, path) => layerHook(/layer_(\d+)/, path, "ln2.hook_normalized"),
  llama_scope: (_repo, path) => {
    const m = /-L(\d+)([RAM])-/.exec(path);
    return m ? `blocks.${m[1]}.${LLAMA_SCOPE_SITES[m[2]]}` : null;
  },
  llama_scope_r1_distill: (_repo, path) => layerHook(/L(\d+)R$/, path, "hook_resid_post"),
  dictionary_learning_1: (_repo, path) => layerHook(/resid_post_layer_(\d+)/, path, "hook_resid_post"),
  deepseek_r1: (_repo, path) => layerHook(/l(\d+)/, path, "hook_resid_post"),
  mwhanna_transcoder: (_repo, path) => layerHook(/layer_(\d+)/, path, "mlp.hook_in"),
};

function layerHook(pattern: RegExp, path: string, site: string): string | null {
  const layer = pattern.exec(path)?.[1];
  return layer === undefined ? null : `blocks.${layer}.${site}`;
}

/**
 * The hook an SAE of the registry reads, where its names tell it.
 *
 * @example
 * ```ts
 * import { lookupRelease } from "./releases.ts";
 * import { releaseSaeHook } from "./release_hooks.ts";
 * const { release, sae } = lookupRelease("gpt2-small-res-jb-feature-splitting", "blocks.8.hook_resid_pre_768");
 * console.log(releaseSaeHook(release, sae)); // blocks.8.hook_resid_pre
 * ```
 *
 * @param release The release.
 * @param sae One of its SAEs.
 * @returns The TransformerLens hook name, or null when only its downloaded config says.
 */
export function releaseSaeHook(release: Release, sae: ReleaseSae): string | null {
  const hook = HOOKS[release.conversion_func ?? "sae_lens"];
  return hook ? hook(release.repo_id, sae.path, sae.id) : null;
}
