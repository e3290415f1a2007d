/**
 * The registry of pretrained SAE releases, generated from SAELens's `pretrained_saes.yaml`
 * (`deno task registry:import`): where each SAE lives on the Hub, which loader reads it, and what is known
 * about it.
 *
 * @module
 */

import registry from "./releases.json" with { type: "json" };
import { decodeRelease, type RegistryFile } from "./_release_codec.ts";
import { closeMatches } from "../util/close_matches.ts";

/** The shipped file (JSON's inferred types know nothing of its front-coded columns). */
const FILE = registry as unknown as RegistryFile;

/** One SAE of a release. */
export interface ReleaseSae {
  /** The SAE id within the release, e.g. `blocks.8.hook_resid_pre`. */
  id: string;
  /** Where in the Hub repo it lives: a folder, or a file for loaders that read one (`.pt`, `layer_N.safetensors`). */
  path: string;
  /** Neuronpedia id, e.g. `gpt2-small/8-res-jb`, where Neuronpedia has dashboards. */
  neuronpedia: string | null;
  /** Mean L0 SAELens lists for it, where known. */
  l0: number | null;
  /** Explained variance SAELens lists for it, where known. */
  variance_explained: number | null;
  /** Scale of `expected_average_only_in` input normalisation, where the release gives one. */
  norm_scaling_factor?: number;
}

/** A release: a Hub repo of SAEs for one model. */
export interface Release {
  /** Hub repo id. */
  repo_id: string;
  /** Model name as SAELens gives it (a TransformerLens alias or a Hub id), e.g. `gpt2-small`. */
  model: string;
  /**
   * SAELens's loader for it (`conversion_func`): null for SAELens folders, else e.g. `gemma_2`, `llama_scope`,
   * `dictionary_learning_1`.
   */
  conversion_func: string | null;
  /** cfg.json fields SAELens overrides for every SAE of the release. */
  config_overrides: Record<string, unknown>;
  /** Dashboards, model and publication links. */
  links: Record<string, string>;
  /** The SAEs. */
  saes: ReleaseSae[];
}

/**
 * Every release, by name.
 *
 * @example
 * ```ts
 * import { RELEASES } from "./releases.ts";
 * console.log(RELEASES["gpt2-small-res-jb"].repo_id); // "jbloom/GPT2-Small-SAEs-Reformatted"
 * ```
 */
export const RELEASES: Readonly<Record<string, Release>> = Object.fromEntries(
  Object.entries(FILE.releases).map(([name, r]) => [name, decodeRelease(r, name)]),
);

/**
 * Where the registry was generated from, e.g. "SAELens 6.18.0 sae_lens/pretrained_saes.yaml".
 *
 * @example
 * ```ts
 * import { RELEASES_SOURCE } from "./releases.ts";
 * console.log(RELEASES_SOURCE.startsWith("SAELens")); // true
 * ```
 */
export const RELEASES_SOURCE: string = FILE.source;

/**
 * Releases of the source left out of the registry, with the reason.
 *
 * @example
 * ```ts
 * import { RELEASES_LEFT_OUT } from "./releases.ts";
 * console.log(typeof RELEASES_LEFT_OUT); // "object"
 * ```
 */
export const RELEASES_LEFT_OUT: Readonly<Record<string, string>> = FILE.left_out;

/**
 * Finds a release and one of its SAEs.
 *
 * @example
 * ```ts
 * import { lookupRelease } from "./releases.ts";
 * const { sae } = lookupRelease("gpt2-small-res-jb", "blocks.8.hook_resid_pre");
 * console.log(sae.neuronpedia); // "gpt2-small/8-res-jb"
 * ```
 *
 * @param release Release name.
 * @param saeId SAE id within it.
 * @returns Both entries.
 * @throws {RangeError} When either is unknown; the message lists the closest names.
 */
export function lookupRelease(release: string, saeId: string): { release: Release; sae: ReleaseSae } {
  const entry = RELEASES[release];
  if (!entry) {
    throw new RangeError(
      `Unknown release "${release}": closest are ${
        closeMatches(release, Object.keys(RELEASES)).join(", ")
      } (sae releases lists them all)`,
    );
  }
  const sae = entry.saes.find((s) => s.id === saeId);
  if (!sae) {
    const ids = entry.saes.map((s) => s.id);
    throw new RangeError(
      `Release ${release} has no SAE "${saeId}": closest are ${closeMatches(saeId, ids).join(", ")}`,
    );
  }
  return { release: entry, sae };
}

/**
 * The cfg.json fields SAELens sets when loading this SAE from its release: the release's
 * overrides, its Neuronpedia id and, where listed, its normalisation scale.
 *
 * @example
 * ```ts
 * import { lookupRelease, releaseOverrides } from "./releases.ts";
 * const { release, sae } = lookupRelease("gpt2-small-res-jb", "blocks.8.hook_resid_pre");
 * console.log(releaseOverrides(release, sae).neuronpedia_id); // "gpt2-small/8-res-jb"
 * ```
 *
 * @param release The release.
 * @param sae One of its SAEs.
 * @returns Fields to merge into cfg.json.
 */
export function releaseOverrides(release: Release, sae: ReleaseSae): Record<string, unknown> {
  return {
    ...release.config_overrides,
    ...(sae.neuronpedia ? { neuronpedia_id: sae.neuronpedia } : {}),
    ...(sae.norm_scaling_factor !== undefined ? { norm_scaling_factor: sae.norm_scaling_factor } : {}),
  };
}
