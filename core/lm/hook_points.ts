/**
 * TransformerLens's hook names for GPT-2, in the order the forward pass reaches them.
 *
 * @module
 */

/** Hook names inside block L, after the `blocks.L.` prefix, in forward order. */
export const BLOCK_HOOKS = [
  "hook_resid_pre",
  "ln1.hook_scale",
  "ln1.hook_normalized",
  "attn.hook_q",
  "attn.hook_k",
  "attn.hook_v",
  "attn.hook_attn_scores",
  "attn.hook_pattern",
  "attn.hook_z",
  "hook_attn_out",
  "hook_resid_mid",
  "ln2.hook_scale",
  "ln2.hook_normalized",
  "mlp.hook_pre",
  "mlp.hook_post",
  "hook_mlp_out",
  "hook_resid_post",
] as const;

/**
 * Every hook name of a GPT-2 with `nLayers` blocks, in forward order.
 *
 * @example
 * ```ts
 * import { hookNames } from "./hook_points.ts";
 * console.log(hookNames(1).slice(0, 3)); // ["hook_embed", "hook_pos_embed", "blocks.0.hook_resid_pre"]
 * ```
 *
 * @param nLayers Number of blocks.
 * @returns The names.
 */
export function hookNames(nLayers: number): string[] {
  const names = ["hook_embed", "hook_pos_embed"];
  for (let l = 0; l < nLayers; l++) names.push(...BLOCK_HOOKS.map((h) => `blocks.${l}.${h}`));
  names.push("ln_final.hook_scale", "ln_final.hook_normalized");
  return names;
}

function editDistance(a: string, b: string): number {
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
 * Throws unless `name` is a hook of the model; the message lists the closest valid names.
 *
 * @example
 * ```ts
 * import { checkHookName } from "./hook_points.ts";
 * try {
 *   checkHookName("blocks.0.hook_resid", 2);
 * } catch (e) {
 *   console.log((e as Error).message.includes("blocks.0.hook_resid_pre")); // true
 * }
 * ```
 *
 * @param name The name to check.
 * @param nLayers Number of blocks in the model.
 * @throws {RangeError} When the name is not a hook point.
 */
export function checkHookName(name: string, nLayers: number): void {
  const names = hookNames(nLayers);
  if (names.includes(name)) return;
  const close = names
    .map((n) => ({ n, d: editDistance(name, n) }))
    .sort((a, b) => a.d - b.d)
    .slice(0, 3)
    .map((x) => x.n);
  throw new RangeError(`Unknown hook name "${name}": closest are ${close.join(", ")}`);
}
