/**
 * Where a path on disk sits in a Hub repo, for the loaders that, like SAELens's, read meaning from the repo id and
 * the folder's name (Gemma Scope's model and hook, Llama Scope's sublayer).
 *
 * @module
 */

import { resolve, sep } from "node:path";

/** A path as a repo id and the path inside the repo. */
export interface RepoLocation {
  /** `org/name` when the path is in the Hub cache (`models--org--name/snapshots/<commit>/`), else "". */
  repoId: string;
  /** The path inside the repo (in the cache), else the whole path. */
  inRepo: string;
}

/**
 * The repo and in-repo path of a file or folder.
 *
 * @example
 * ```ts
 * import { repoLocation } from "./_repo_location.ts";
 * const path = "/c/models--google--gemma-scope-2b-pt-res/snapshots/0123456789abcdef0123456789abcdef01234567/layer_3/width_16k/average_l0_5";
 * console.log(repoLocation(path)); // { repoId: "google/gemma-scope-2b-pt-res", inRepo: "layer_3/width_16k/average_l0_5" }
 * ```
 */
export function repoLocation(path: string): RepoLocation {
  const parts = resolve(path).split(sep);
  for (let i = parts.length - 3; i >= 0; i--) {
    const repo = /^models--([\w.-]+?)--([\w.-]+)$/.exec(parts[i]);
    if (repo && parts[i + 1] === "snapshots" && /^[0-9a-f]{40}$/.test(parts[i + 2])) {
      return { repoId: `${repo[1]}/${repo[2]}`, inRepo: parts.slice(i + 3).join("/") };
    }
  }
  return { repoId: "", inRepo: resolve(path) };
}
