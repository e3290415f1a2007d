/**
 * An SAE attached to the model it reads: checking that they fit, reading the SAE's input from the
 * hook and writing an output back into it (per-head SAEs read and write their head's slice).
 *
 * @module
 */

import type { HostTensor } from "../gpu/tensor.ts";
import type { HookedTransformer } from "../lm/hooked_transformer.ts";
import { checkHookName, hookWidth, stopLayerFor } from "../lm/hook_points.ts";
import type { SAE } from "./sae.ts";

/** Where an SAE sits in a model: its hook, head and the layer to stop after. */
export interface SaeSite {
  /** TransformerLens hook name. */
  hookName: string;
  /** Head the SAE reads, for per-head SAEs on `attn.hook_[qkvz]`. */
  head?: number;
  /** Blocks to run to reach the hook (undefined: the hook is after the last block). */
  stopAtLayer?: number;
  /** Whether the SAE's inputs start with BOS (SAELens `prepend_bos`). */
  prependBos: boolean;
}

/**
 * Checks that an SAE can read the model: its hook exists and its d_in is the hook's width.
 *
 * @example
 * ```ts ignore
 * const site = saeSite(model, sae); // { hookName: "blocks.2.hook_resid_pre", stopAtLayer: 2, prependBos: true }
 * ```
 *
 * @param model The model.
 * @param sae The SAE.
 * @returns Where it sits.
 * @throws {TypeError} When the SAE names no hook, the hook is not in the model or the widths differ.
 */
export function saeSite(model: HookedTransformer, sae: SAE): SaeSite {
  const { hook_name: hookName, hook_head_index: head, prepend_bos: prependBos } = sae.cfg.metadata;
  if (typeof hookName !== "string" || hookName === "") {
    throw new TypeError("The SAE's cfg.json names no hook (metadata.hook_name): it cannot be attached to a model");
  }
  try {
    checkHookName(hookName, model.cfg);
  } catch (e) {
    throw new TypeError(
      `The SAE reads ${hookName}, which this ${model.cfg.nLayers}-layer model does not have: ${(e as Error).message}`,
    );
  }
  const full = hookWidth(hookName, model.cfg);
  const perHead = typeof head === "number";
  if (perHead && !/attn\.hook_[qkvz]$/.test(hookName)) {
    throw new TypeError(`The SAE's hook_head_index ${head} is set but ${hookName} is not a per-head hook`);
  }
  const heads = /hook_[kv]$/.test(hookName) ? model.cfg.nKvHeads : model.cfg.nHeads;
  if (perHead && !(Number.isInteger(head) && head >= 0 && head < heads)) {
    throw new TypeError(`The SAE's hook_head_index ${head} is outside the model's ${heads} heads at ${hookName}`);
  }
  const width = perHead ? model.cfg.dHead : full;
  if (width !== sae.cfg.d_in) {
    throw new TypeError(
      `The SAE's d_in is ${sae.cfg.d_in} but the model's ${hookName}${perHead ? ` head ${head}` : ""} has width ${
        width ?? "depending on the sequence length"
      }: the SAE was trained on another model or hook`,
    );
  }
  const stop = stopLayerFor(hookName);
  return {
    hookName,
    ...(perHead ? { head } : {}),
    stopAtLayer: stop !== undefined && stop <= model.cfg.nLayers ? stop : undefined,
    prependBos: prependBos ?? true,
  };
}

/**
 * The SAE's input from a hook activation [batch, pos, ...]: [batch · pos, d_in].
 *
 * @example
 * ```ts ignore
 * const x = saeInput(site, cache.get(site.hookName)!, sae.cfg.d_in);
 * ```
 *
 * @param site Where the SAE sits.
 * @param activation The hook's activation.
 * @param dIn The SAE's input width.
 * @returns The rows.
 */
export function saeInput(site: SaeSite, activation: HostTensor, dIn: number): HostTensor {
  const rows = activation.shape[0] * activation.shape[1];
  if (site.head === undefined) return { shape: [rows, dIn], data: activation.data };
  const width = activation.data.length / rows;
  const data = new Float32Array(rows * dIn);
  for (let r = 0; r < rows; r++) {
    data.set(activation.data.subarray(r * width + site.head * dIn, r * width + (site.head + 1) * dIn), r * dIn);
  }
  return { shape: [rows, dIn], data };
}

/**
 * Writes SAE outputs [batch · pos, d_in] back into a hook activation (in place).
 *
 * @example
 * ```ts ignore
 * writeSaeOutput(site, activation, await sae.splice(saeInput(site, activation, dIn)).read());
 * ```
 *
 * @param site Where the SAE sits.
 * @param activation The hook's activation, changed in place.
 * @param output The SAE's output rows.
 */
export function writeSaeOutput(site: SaeSite, activation: HostTensor, output: Float32Array): void {
  if (site.head === undefined) {
    activation.data.set(output);
    return;
  }
  const rows = activation.shape[0] * activation.shape[1];
  const width = activation.data.length / rows;
  const dIn = output.length / rows;
  for (let r = 0; r < rows; r++) {
    activation.data.set(output.subarray(r * dIn, (r + 1) * dIn), r * width + site.head * dIn);
  }
}
