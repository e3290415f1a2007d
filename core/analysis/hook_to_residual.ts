/**
 * The linear map from an SAE's space to the residual stream it writes into: the identity for residual
 * hooks, W_O for `attn.hook_z` (one head's rows for per-head SAEs), W_out for `mlp.hook_post`. Logit
 * attribution applies it transposed; feature dashboards apply it forward to read W_dec · W_U.
 *
 * @module
 */

import type { HookedTransformer } from "../lm/hooked_transformer.ts";

const RESIDUAL = /hook_(resid_pre|resid_mid|resid_post|attn_out|mlp_out|embed|pos_embed)$/;

/** Each model's W_O and W_out [rows, d_model] by hook, copied out once. */
const MATRICES = new WeakMap<HookedTransformer, Map<string, Float32Array>>();

/** The matrix [rows, d_model] and its row range for a hook, or undefined for the identity. */
function hookMatrix(
  model: HookedTransformer,
  hookName: string,
  head: number | undefined,
): { m: Float32Array; first: number; count: number } | undefined {
  if (RESIDUAL.test(hookName)) return undefined;
  const layer = Number(/^blocks\.(\d+)\./.exec(hookName)?.[1]);
  const z = hookName.endsWith("attn.hook_z"), post = hookName.endsWith("mlp.hook_post");
  if ((z || post) && model.cfg.postNorms) {
    throw new TypeError(
      `This needs an SAE on a hook that writes linearly into the residual stream: ${hookName} passes a norm (${
        z ? "ln1_post" : "ln2_post"
      }) before it is added in a ${model.cfg.family} model; use hook_attn_out, hook_mlp_out or the residual stream`,
    );
  }
  let matrices = MATRICES.get(model);
  if (!matrices) MATRICES.set(model, matrices = new Map());
  const matrix = () => {
    let m = matrices.get(hookName);
    if (!m) matrices.set(hookName, m = z ? model.blocks[layer].attn.W_O.data : model.blocks[layer].mlp.W_out.data);
    return m;
  };
  if (z) {
    const dh = model.cfg.dHead;
    const m = matrix();
    return head === undefined ? { m, first: 0, count: model.cfg.nHeads * dh } : { m, first: head * dh, count: dh };
  }
  if (post) return { m: matrix(), first: 0, count: model.cfg.dMlp };
  throw new TypeError(
    `This needs an SAE on the residual stream, attn.hook_z or mlp.hook_post, which write linearly into the residual stream: this one reads ${hookName}`,
  );
}

/**
 * A residual-space vector taken back to the hook's space (the map transposed).
 *
 * @example
 * ```ts ignore
 * const g = pullBack(model, "blocks.3.attn.hook_z", undefined, unembedColumn); // [n_heads · d_head]
 * ```
 *
 * @param model The model.
 * @param hookName The SAE's hook.
 * @param head The SAE's head, for per-head SAEs.
 * @param v Residual-space vector [d_model].
 * @returns The vector in the hook's space.
 * @throws {TypeError} When the hook does not write linearly into the residual stream.
 */
export function pullBack(
  model: HookedTransformer,
  hookName: string,
  head: number | undefined,
  v: Float64Array,
): Float64Array {
  const map = hookMatrix(model, hookName, head);
  if (!map) return v;
  const d = model.cfg.dModel;
  const out = new Float64Array(map.count);
  for (let r = 0; r < map.count; r++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += map.m[(map.first + r) * d + j] * v[j];
    out[r] = s;
  }
  return out;
}

/**
 * A vector in the hook's space (a decoder row) carried into the residual stream.
 *
 * @example
 * ```ts ignore
 * const r = pushForward(model, "blocks.5.mlp.hook_post", undefined, decoderRow); // [d_model]
 * ```
 *
 * @param model The model.
 * @param hookName The SAE's hook.
 * @param head The SAE's head, for per-head SAEs.
 * @param v Vector in the hook's space.
 * @returns The residual-space vector [d_model].
 * @throws {TypeError} When the hook does not write linearly into the residual stream.
 */
export function pushForward(
  model: HookedTransformer,
  hookName: string,
  head: number | undefined,
  v: ArrayLike<number>,
): Float64Array {
  const map = hookMatrix(model, hookName, head);
  if (!map) return Float64Array.from(v);
  const d = model.cfg.dModel;
  const out = new Float64Array(d);
  for (let r = 0; r < map.count; r++) {
    const a = v[r];
    if (a === 0) continue;
    for (let j = 0; j < d; j++) out[j] += a * map.m[(map.first + r) * d + j];
  }
  return out;
}
