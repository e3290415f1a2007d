/**
 * SAELens's loaders (`conversion_func`) implemented here, by name.
 *
 * @module
 */

/**
 * SAELens's loaders (`conversion_func`, `sae_lens` for null) implemented here: the registry keeps the releases
 * they read.
 *
 * @example
 * ```ts
 * import { PRETRAINED_LOADERS } from "./pretrained_loaders.ts";
 * console.log(PRETRAINED_LOADERS.includes("sae_lens")); // true
 * ```
 */
export const PRETRAINED_LOADERS: readonly string[] = ["sae_lens"];
