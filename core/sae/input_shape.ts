/**
 * The shape an SAE op reads its input as: hook_z activations [..., n_heads, d_head] are seen as
 * [..., d_in] when the SAE's `reshape_activations` is `hook_z`.
 *
 * @module
 */

import type { SaeConfig } from "./config.ts";

/**
 * The input's shape with its last dimension `width`, flattening the heads of hook_z activations.
 *
 * @example hook_z heads flattened
 * ```ts
 * import { saeInputShape } from "./input_shape.ts";
 * const cfg = { d_in: 8, reshape_activations: "hook_z" } as Parameters<typeof saeInputShape>[0];
 * console.log(saeInputShape(cfg, [3, 2, 4], 8)); // [3, 8]
 * ```
 *
 * @param cfg The SAE's configuration.
 * @param shape The input's shape.
 * @param width The width the op reads: d_in, or d_sae for features.
 * @returns The shape to run on.
 * @throws {TypeError} When the last dimension is not `width` (nor heads making it up).
 */
export function saeInputShape(
  cfg: Pick<SaeConfig, "d_in" | "reshape_activations">,
  shape: readonly number[],
  width: number,
): number[] {
  let out = [...shape];
  const last = out[out.length - 1];
  if (
    last !== width && cfg.reshape_activations === "hook_z" && width === cfg.d_in && out.length >= 2 &&
    last * out[out.length - 2] === width
  ) {
    out = [...out.slice(0, -2), width];
  }
  if (out[out.length - 1] !== width) {
    throw new TypeError(
      `Cannot run the SAE as the input's last dimension must be ${width}: current value is ${last} (shape [${
        shape.join(", ")
      }])`,
    );
  }
  return out;
}
