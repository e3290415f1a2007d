/**
 * Searching the registry of pretrained SAEs by words (`sae releases WORDS...`, the explorer's picker): the SAEs
 * whose release, repo, model, id, hook or Neuronpedia id contain every word.
 *
 * @module
 */

import { releaseSaeHook } from "./release_hooks.ts";
import { type Release, RELEASES, type ReleaseSae } from "./releases.ts";

/**
 * Whether a registry SAE's release, repo, model, id, hook or Neuronpedia id contain every one of `words` (lower
 * case; no words match every SAE).
 *
 * @example
 * ```ts
 * import { matchesWords } from "./registry_search.ts";
 * import { RELEASES } from "./releases.ts";
 * const release = RELEASES["gpt2-small-res-jb"];
 * console.log(matchesWords("gpt2-small-res-jb", release, release.saes[8], ["blocks.8"])); // true
 * ```
 *
 * @param name The release's name.
 * @param release The release.
 * @param sae One of its SAEs.
 * @param words Lower-case words.
 * @returns Whether all are found.
 */
export function matchesWords(name: string, release: Release, sae: ReleaseSae, words: readonly string[]): boolean {
  const text = [name, release.repo_id, release.model, sae.id, releaseSaeHook(release, sae), sae.neuronpedia]
    .join(" ").toLowerCase();
  return words.every((w) => text.includes(w));
}

/** One registry SAE the search found. */
export interface RegistryMatch {
  /** RELEASE/SAE_ID, what the page sends to switch to it. */
  id: string;
  /** The release's model, e.g. `gpt2-small`. */
  model: string;
  /** The Hub repo. */
  repo: string;
  /** Its hook, where the registry knows it. */
  hook: string | null;
  /** Mean L0 SAELens lists, where known. */
  l0: number | null;
  /** Neuronpedia id, where Neuronpedia has it. */
  neuronpedia: string | null;
}

/** What {@linkcode searchRegistry} found. */
export interface RegistrySearch {
  /** SAEs matching, in all. */
  total: number;
  /** The first `limit` of them, in registry order. */
  matches: RegistryMatch[];
}

/**
 * The registry SAEs matching every word of `query` (case-insensitive; an empty query matches all).
 *
 * @example
 * ```ts
 * import { searchRegistry } from "./registry_search.ts";
 * const found = searchRegistry("gpt2-small-res-jb blocks.8", 5);
 * console.log(found.matches[0].id); // gpt2-small-res-jb/blocks.8.hook_resid_pre
 * ```
 *
 * @param query Words, e.g. `gemma-2-2b res 12 16k`.
 * @param limit Matches returned at most.
 * @returns How many matched, and the first `limit`.
 */
export function searchRegistry(query: string, limit: number): RegistrySearch {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const matches: RegistryMatch[] = [];
  let total = 0;
  for (const [name, release] of Object.entries(RELEASES)) {
    for (const sae of release.saes) {
      if (!matchesWords(name, release, sae, words)) continue;
      total++;
      if (matches.length < limit) {
        matches.push({
          id: `${name}/${sae.id}`,
          model: release.model,
          repo: release.repo_id,
          hook: releaseSaeHook(release, sae),
          l0: sae.l0,
          neuronpedia: sae.neuronpedia,
        });
      }
    }
  }
  return { total, matches };
}
