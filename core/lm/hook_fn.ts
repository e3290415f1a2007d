/**
 * Forward hooks (TransformerLens semantics): where one fires, its signature, and how a list of them is applied.
 *
 * @module
 */

import type { HostTensor } from "../gpu/tensor.ts";

/** Where a hook fires. */
export interface HookContext {
  /** The hook name, e.g. `blocks.2.hook_resid_pre`. */
  name: string;
  /** Absolute position of each position of the activation (with a KV cache, only the new ones). */
  positions: readonly number[];
}

/**
 * A forward hook: reads the activation and returns its replacement, or mutates it in place and returns
 * nothing (TransformerLens semantics).
 */
export type HookFn = (
  activation: HostTensor,
  hook: HookContext,
) => HostTensor | void | Promise<HostTensor | void>;

/**
 * Runs hook functions on an activation in order, as every run method does: each edits it in place or
 * returns a same-shaped replacement that the next one receives.
 *
 * @example
 * ```ts
 * import { applyHookFns } from "./hook_fn.ts";
 * const act = { shape: [1, 2], data: Float32Array.of(1, 2) };
 * const out = await applyHookFns([(x) => void x.data.fill(3)], act, { name: "hook_embed", positions: [0] });
 * console.log([...out.data]); // [3, 3]
 * ```
 *
 * @param fns The hooks.
 * @param activation The activation, handed to the first hook.
 * @param hook Where they fire.
 * @returns The last hook's result.
 * @throws {TypeError} When a hook returns something other than a tensor of the activation's shape.
 */
export async function applyHookFns(
  fns: readonly HookFn[],
  activation: HostTensor,
  hook: HookContext,
): Promise<HostTensor> {
  let act = activation;
  for (const fn of fns) {
    const replaced = await fn(act, hook);
    if (replaced) {
      if (!Array.isArray(replaced.shape) || !(replaced.data instanceof Float32Array)) {
        throw new TypeError(
          `The hook on ${hook.name} returned ${
            JSON.stringify(replaced)?.slice(0, 40)
          }: expected nothing or a tensor ({ shape, data: Float32Array })`,
        );
      }
      if (replaced.shape.join() !== act.shape.join() || replaced.data.length !== act.data.length) {
        throw new TypeError(
          `The hook on ${hook.name} returned shape [${replaced.shape}]: expected [${act.shape}] (hooks may not change shapes)`,
        );
      }
      act = replaced;
    }
  }
  return act;
}
