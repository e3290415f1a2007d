/**
 * The largest finite float32, which selections use as "no value" (a smallest-kept value that nothing lowered, a
 * latent excluded from a top-k).
 *
 * @example
 * ```ts
 * import { FLOAT32_MAX } from "./float32.ts";
 * console.log(Math.fround(FLOAT32_MAX) === FLOAT32_MAX); // true
 * ```
 *
 * @module
 */

/** The largest finite float32. */
export const FLOAT32_MAX = 3.4028234663852886e38;
