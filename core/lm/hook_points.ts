/**
 * TransformerLens's hook names for GPT-2, in the order the forward pass reaches them.
 *
 * @module
 */

import { closeMatches } from "../util/close_matches.ts";

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
  throw new RangeError(`Unknown hook name "${name}": closest are ${closeMatches(name, names).join(", ")}`);
}

/**
 * The width of one position of a hook's activation (product of its dimensions after [batch, pos]),
 * or undefined for the attention-pattern hooks, whose width depends on the sequence length.
 *
 * @example
 * ```ts
 * import { hookWidth } from "./hook_points.ts";
 * const cfg = { dModel: 768, nHeads: 12, dHead: 64, dMlp: 3072 };
 * console.log(hookWidth("blocks.8.hook_resid_pre", cfg), hookWidth("blocks.8.attn.hook_z", cfg)); // 768 768
 * ```
 *
 * @param name A valid hook name.
 * @param cfg The model's widths.
 * @returns Values per position.
 */
export function hookWidth(
  name: string,
  cfg: { dModel: number; nHeads: number; dHead: number; dMlp: number },
): number | undefined {
  if (/attn\.hook_(attn_scores|pattern)$/.test(name)) return undefined;
  if (/attn\.hook_[qkvz]$/.test(name)) return cfg.nHeads * cfg.dHead;
  if (/mlp\.hook_(pre|post)$/.test(name)) return cfg.dMlp;
  if (name.endsWith("hook_scale")) return 1;
  return cfg.dModel;
}

/**
 * Whether a forward run with `stopAtLayer` reaches a hook: blocks 0 … stopAtLayer − 1 run, and
 * `blocks.{stopAtLayer}.hook_resid_pre` holds the residual they return; the final layer norm runs only
 * without `stopAtLayer`.
 *
 * @example
 * ```ts
 * import { hookReached } from "./hook_points.ts";
 * console.log(hookReached("blocks.2.hook_resid_pre", 2, 4), hookReached("blocks.2.hook_attn_out", 2, 4)); // true false
 * ```
 *
 * @param name A valid hook name.
 * @param stopAtLayer Blocks run, or undefined for the whole model.
 * @param nLayers Number of blocks in the model.
 * @returns Whether the hook fires.
 */
export function hookReached(name: string, stopAtLayer: number | undefined, nLayers: number): boolean {
  if (stopAtLayer === undefined) return true;
  if (name.startsWith("ln_final.")) return false;
  const block = /^blocks\.(\d+)\.(.+)$/.exec(name);
  if (!block) return true;
  const layer = Number(block[1]);
  return layer < Math.min(stopAtLayer, nLayers) || (layer === stopAtLayer && block[2] === "hook_resid_pre");
}

/**
 * The fewest blocks to run to reach a hook: `stopAtLayer` for it (L for `blocks.L.hook_resid_pre`, L + 1 for the
 * block's other hooks, 0 for the embedding hooks), or undefined when the whole model must run (`ln_final.*`).
 *
 * @example
 * ```ts
 * import { stopLayerFor } from "./hook_points.ts";
 * console.log(stopLayerFor("blocks.2.hook_resid_pre"), stopLayerFor("blocks.2.hook_mlp_out"), stopLayerFor("ln_final.hook_normalized")); // 2 3 undefined
 * ```
 *
 * @param name A valid hook name.
 * @returns The layer to stop at, or undefined.
 */
export function stopLayerFor(name: string): number | undefined {
  const block = /^blocks\.(\d+)\.(.+)$/.exec(name);
  if (block) return Number(block[1]) + (block[2] === "hook_resid_pre" ? 0 : 1);
  return name.startsWith("ln_final") ? undefined : 0;
}
