/**
 * TransformerLens's hook names (2.x meanings) for a model of any family, in the order the forward pass reaches them:
 * which hooks exist follows the configuration (positional embeddings, rotary, post norms, q/k norms, gated MLP,
 * parallel attention and MLP).
 *
 * @module
 */

import { closeMatches } from "../util/close_matches.ts";
import type { TransformerConfig } from "./transformer_config.ts";

/** The parts of a configuration that decide which hooks exist. */
export type HookShape = Pick<
  TransformerConfig,
  "nLayers" | "positional" | "postNorms" | "qkNorm" | "gatedMlp" | "parallelAttnMlp"
>;

/**
 * Hook names inside a block, after the `blocks.L.` prefix, in forward order: TransformerLens 2.x's, and `mlp.hook_in`
 * (the MLP's input, ln2's weight applied), which circuit-tracer's transcoders read.
 *
 * @example GPT-2's
 * ```ts
 * import { blockHooks } from "./hook_points.ts";
 * const gpt2 = { positional: "standard", postNorms: false, qkNorm: false, gatedMlp: false, parallelAttnMlp: false } as const;
 * console.log(blockHooks(gpt2).length, blockHooks(gpt2)[0]); // 18 hook_resid_pre
 * ```
 *
 * @param cfg Which parts the model has.
 * @returns The names.
 */
export function blockHooks(cfg: Omit<HookShape, "nLayers">): string[] {
  const norm = (n: string) => [`${n}.hook_scale`, `${n}.hook_normalized`];
  return [
    "hook_resid_pre",
    ...norm("ln1"),
    "attn.hook_q",
    "attn.hook_k",
    "attn.hook_v",
    ...(cfg.qkNorm ? [...norm("attn.q_norm"), ...norm("attn.k_norm")] : []),
    ...(cfg.positional === "rotary" ? ["attn.hook_rot_q", "attn.hook_rot_k"] : []),
    "attn.hook_attn_scores",
    "attn.hook_pattern",
    "attn.hook_z",
    ...(cfg.postNorms ? norm("ln1_post") : []),
    "hook_attn_out",
    ...(cfg.parallelAttnMlp ? [] : ["hook_resid_mid"]),
    ...norm("ln2"),
    "mlp.hook_in",
    "mlp.hook_pre",
    ...(cfg.gatedMlp ? ["mlp.hook_pre_linear"] : []),
    "mlp.hook_post",
    ...(cfg.postNorms ? norm("ln2_post") : []),
    "hook_mlp_out",
    "hook_resid_post",
  ];
}

/** GPT-2's block hooks (the embedded model's). */
export const BLOCK_HOOKS: readonly string[] = blockHooks({
  positional: "standard",
  postNorms: false,
  qkNorm: false,
  gatedMlp: false,
  parallelAttnMlp: false,
});

/**
 * Every hook name of a model, in forward order.
 *
 * @example
 * ```ts
 * import { hookNames } from "./hook_points.ts";
 * const cfg = { nLayers: 1, positional: "standard", postNorms: false, qkNorm: false, gatedMlp: false, parallelAttnMlp: false } as const;
 * console.log(hookNames(cfg).slice(0, 3)); // ["hook_embed", "hook_pos_embed", "blocks.0.hook_resid_pre"]
 * ```
 *
 * @param cfg The model's configuration.
 * @returns The names.
 */
export function hookNames(cfg: HookShape): string[] {
  const names = ["hook_embed", ...(cfg.positional === "standard" ? ["hook_pos_embed"] : [])];
  const inBlock = blockHooks(cfg);
  for (let l = 0; l < cfg.nLayers; l++) names.push(...inBlock.map((h) => `blocks.${l}.${h}`));
  names.push("ln_final.hook_scale", "ln_final.hook_normalized");
  return names;
}

/**
 * Throws unless `name` is a hook of the model; the message lists the closest valid names, and says how many layers
 * the model has when the name is past them.
 *
 * @example
 * ```ts
 * import { checkHookName } from "./hook_points.ts";
 * const cfg = { nLayers: 2, positional: "rotary", postNorms: false, qkNorm: false, gatedMlp: true, parallelAttnMlp: false } as const;
 * try {
 *   checkHookName("blocks.0.hook_resid", cfg);
 * } catch (e) {
 *   console.log((e as Error).message.includes("blocks.0.hook_resid_pre")); // true
 * }
 * ```
 *
 * @param name The name to check.
 * @param cfg The model's configuration.
 * @throws {RangeError} When the name is not a hook point.
 */
export function checkHookName(name: string, cfg: HookShape): void {
  const names = hookNames(cfg);
  if (names.includes(name)) return;
  const layer = /^blocks\.(\d+)\./.exec(name)?.[1];
  const past = layer !== undefined && Number(layer) >= cfg.nLayers
    ? ` (the model has ${cfg.nLayers} layers, blocks.0 to blocks.${cfg.nLayers - 1})`
    : "";
  throw new RangeError(`Unknown hook name "${name}"${past}: closest are ${closeMatches(name, names).join(", ")}`);
}

/**
 * The width of one position of a hook's activation (product of its dimensions after [batch, pos]),
 * or undefined for the attention-pattern hooks, whose width depends on the sequence length.
 *
 * @example
 * ```ts
 * import { hookWidth } from "./hook_points.ts";
 * const cfg = { dModel: 768, nHeads: 12, nKvHeads: 12, dHead: 64, dMlp: 3072 };
 * console.log(hookWidth("blocks.8.hook_resid_pre", cfg), hookWidth("blocks.8.attn.hook_z", cfg)); // 768 768
 * ```
 *
 * @param name A valid hook name.
 * @param cfg The model's widths.
 * @returns Values per position.
 */
export function hookWidth(
  name: string,
  cfg: Pick<TransformerConfig, "dModel" | "nHeads" | "nKvHeads" | "dHead" | "dMlp">,
): number | undefined {
  if (/attn\.hook_(attn_scores|pattern)$/.test(name)) return undefined;
  if (/attn\.(hook_k|hook_v|hook_rot_k|k_norm\.hook_normalized)$/.test(name)) return cfg.nKvHeads * cfg.dHead;
  if (/attn\.(hook_q|hook_z|hook_rot_q|q_norm\.hook_normalized)$/.test(name)) return cfg.nHeads * cfg.dHead;
  if (/attn\.q_norm\.hook_scale$/.test(name)) return cfg.nHeads;
  if (/attn\.k_norm\.hook_scale$/.test(name)) return cfg.nKvHeads;
  if (/mlp\.hook_(pre|pre_linear|post)$/.test(name)) return cfg.dMlp;
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
