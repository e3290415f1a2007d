/**
 * The valid names closest to a misspelt one, for error messages that suggest what was meant.
 *
 * @module
 */

/**
 * The Levenshtein distance between two strings: insertions, deletions and substitutions needed to turn one into the
 * other.
 *
 * @example
 * ```ts
 * import { editDistance } from "./close_matches.ts";
 * console.log(editDistance("strenght", "strength")); // 2
 * ```
 *
 * @param a One string.
 * @param b The other.
 * @returns The distance.
 */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/**
 * The `n` candidates with the smallest edit distance to `name`, closest first.
 *
 * @example
 * ```ts
 * import { closeMatches } from "./close_matches.ts";
 * console.log(closeMatches("gpt2-smal-res-jb", ["gpt2-small-res-jb", "gpt2-small-mlp-tm"], 1)); // ["gpt2-small-res-jb"]
 * ```
 *
 * @param name What was asked for.
 * @param candidates The valid names.
 * @param n How many to return. @default {3}
 * @returns Up to `n` names.
 */
export function closeMatches(name: string, candidates: readonly string[], n = 3): string[] {
  return candidates
    .map((c) => ({ c, d: editDistance(name, c) }))
    .sort((a, b) => a.d - b.d)
    .slice(0, n)
    .map((x) => x.c);
}
