/**
 * A forward's outputs checked for NaN and infinity: finite weights can still overflow float32 (a value near 3.4e38),
 * and a NaN loss or NaN features must be an error, not a number printed with exit 0.
 *
 * @module
 */

/**
 * Throws when values hold NaN or ±Inf.
 *
 * @example
 * ```ts
 * import { checkFiniteOutput } from "./finite_output.ts";
 * checkFiniteOutput(Float32Array.of(1, 2), "logits"); // fine
 * try {
 *   checkFiniteOutput(Float32Array.of(1, NaN), "logits");
 * } catch (e) {
 *   console.log((e as Error).message.startsWith("The model's logits hold 1 NaN or infinite value")); // true
 * }
 * ```
 *
 * @param data The values.
 * @param what What they are (`logits`, `blocks.2.hook_resid_pre`), for the message.
 * @throws {RangeError} Naming them and the count.
 */
export function checkFiniteOutput(data: ArrayLike<number>, what: string): void {
  let bad = 0;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) bad++;
  if (bad > 0) {
    throw new RangeError(
      `The model's ${what} hold ${bad} NaN or infinite value${
        bad === 1 ? "" : "s"
      }: its weights overflow float32 (or a hook wrote such values)`,
    );
  }
}
