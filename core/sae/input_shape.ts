/**
 * The shape an SAE op reads its input as: hook_z activations [..., n_heads, d_head] are seen as
 * [..., d_in] when the SAE's `reshape_activations` is `hook_z`.
 *
 * @module
 */

import type { SaeConfig } from "./config.ts";
import type { SaeInput } from "./sae_engine.ts";

/**
 * Refuses what an SAE op cannot read as a tensor: a shape that is not a list of whole numbers, or host values that
 * are not a Float32Array of as many values as the shape holds.
 *
 * @example A shape the data does not fill
 * ```ts
 * import { checkSaeInput } from "./input_shape.ts";
 * try {
 *   checkSaeInput({ shape: [2, 4], data: new Float32Array(6) }, "encode");
 * } catch (e) {
 *   console.log((e as Error).message); // Cannot encode as the input's data must hold 8 values for shape [2, 4]: current value is 6
 * }
 * ```
 *
 * @param x The input.
 * @param op The operation, for the message.
 * @throws {TypeError} Naming what is wrong.
 */
export function checkSaeInput(x: SaeInput, op: string): void {
  const shape = (x as { shape?: unknown } | null)?.shape;
  if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new TypeError(
      `Cannot ${op} as the input's shape must be a list of non-negative whole numbers: current value is ${
        Array.isArray(shape) ? `[${shape.join(", ")}]` : String(shape)
      }`,
    );
  }
  if ("read" in x) return; // a tensor of a device: its shape and values are its own
  const n = shape.reduce((a: number, b: number) => a * b, 1);
  const data = (x as { data?: unknown }).data;
  if (!(data instanceof Float32Array)) {
    throw new TypeError(
      `Cannot ${op} as the input's data must be a Float32Array: current value is ${
        (data as object | null | undefined)?.constructor?.name ?? String(data)
      }`,
    );
  }
  if (data.length !== n) {
    throw new TypeError(
      `Cannot ${op} as the input's data must hold ${n} values for shape [${
        shape.join(", ")
      }]: current value is ${data.length}`,
    );
  }
}

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
