/**
 * Pretrained SAEs from the release registry, downloaded into the Hugging Face cache the way SAELens's
 * `SAE.from_pretrained` fetches them: `{folder}/cfg.json`, `{folder}/sae_weights.safetensors` and, when
 * the repo has one, `{folder}/sparsity.safetensors`.
 *
 * @module
 */

import { dirname } from "node:path";
import { hfHubDownload } from "../hub/hf_hub.ts";
import { EntryNotFoundError } from "../hub/hub_error.ts";
import type { HubOptions } from "../hub/hub_settings.ts";
import { lookupRelease, releaseOverrides, RELEASES } from "./releases.ts";
import { closeMatches } from "../util/close_matches.ts";

/** cfg.json is a few hundred bytes: a Hub announcing more than this is not believed. */
const CONFIG_LIMIT = 2 ** 20;

/** A pretrained SAE on disk. */
export interface PulledSae {
  /** The snapshot folder holding its files. */
  folder: string;
  /** cfg.json fields the release overrides (Neuronpedia id included). */
  overrides: Record<string, unknown>;
}

/**
 * Downloads one SAE of a release (nothing when the cache has it).
 *
 * @example
 * ```ts ignore
 * const { folder } = await pullPretrained("gpt2-small-res-jb", "blocks.8.hook_resid_pre");
 * ```
 *
 * @param release Release name (see `sae releases`).
 * @param saeId SAE id within the release.
 * @param hub Hub settings (endpoint, cache, token, offline).
 * @returns Its folder and overrides.
 * @throws {RangeError} For an unknown release or SAE id (with close matches).
 * @throws {HubError} When a required file cannot be downloaded, or sparsity.safetensors fails other than missing.
 */
export async function pullPretrained(release: string, saeId: string, hub: HubOptions = {}): Promise<PulledSae> {
  const found = lookupRelease(release, saeId);
  const repo = found.release.repo_id;
  const cfg = await hfHubDownload(repo, `${found.sae.path}/cfg.json`, { ...hub, maxSize: CONFIG_LIMIT });
  await hfHubDownload(repo, `${found.sae.path}/sae_weights.safetensors`, hub);
  try {
    await hfHubDownload(repo, `${found.sae.path}/sparsity.safetensors`, hub);
  } catch (e) {
    // optional, as in SAELens: only its absence is ignored, not a refused token or a Hub outage
    if (!(e instanceof EntryNotFoundError)) throw e;
  }
  return { folder: dirname(cfg), overrides: releaseOverrides(found.release, found.sae) };
}

/**
 * Resolves what `--sae` names: an existing folder (or file in one), or `RELEASE/SAE_ID`, downloaded.
 *
 * @example
 * ```ts ignore
 * await resolveSaeSource("../shared/fixtures/sae-standard"); // { folder: "../shared/fixtures/sae-standard", overrides: {} }
 * await resolveSaeSource("gpt2-small-res-jb/blocks.8.hook_resid_pre");
 * ```
 *
 * @param source A path or `RELEASE/SAE_ID`.
 * @param hub Hub settings.
 * @returns Folder and overrides.
 * @throws {Deno.errors.NotFound} When it is neither a path nor a release (the message lists close releases).
 */
export async function resolveSaeSource(source: string, hub: HubOptions = {}): Promise<PulledSae> {
  try {
    await Deno.stat(source);
    return { folder: source, overrides: {} };
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const slash = source.indexOf("/");
  const release = slash > 0 ? source.slice(0, slash) : source;
  if (slash > 0 && RELEASES[release]) return await pullPretrained(release, source.slice(slash + 1), hub);
  const looksLikePath = /^[./~]/.test(source) || source.includes("\\") || source.split("/").length > 2;
  throw new Deno.errors.NotFound(
    looksLikePath
      ? `SAE path ${source} does not exist`
      : `${source} is neither an SAE folder nor RELEASE/SAE_ID: ${
        slash > 0 ? `no release "${release}"` : "no such folder"
      }; closest releases are ${closeMatches(release, Object.keys(RELEASES)).join(", ")} (sae releases lists them)`,
  );
}
