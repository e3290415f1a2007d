/**
 * Range checks of the indices the analyses take: feature indices against d_sae, token ids against the
 * vocabulary. One wording everywhere, so users see the same message from every verb.
 *
 * @module
 */

/**
 * Throws unless `index` is a feature of an SAE with `dSae` features.
 *
 * @example
 * ```ts
 * import { checkFeatureIndex } from "./index_checks.ts";
 * checkFeatureIndex(3, 1024); // fine
 * ```
 *
 * @param index Feature index.
 * @param dSae Number of features.
 * @throws {RangeError} When it is not an integer in 0..dSae − 1.
 */
export function checkFeatureIndex(index: number, dSae: number): void {
  if (!(Number.isInteger(index) && index >= 0 && index < dSae)) {
    throw new RangeError(`Feature index ${index} is outside the SAE's ${dSae} features (0..${dSae - 1})`);
  }
}

/**
 * Throws unless `token` is an id of a vocabulary of `dVocab` tokens.
 *
 * @example
 * ```ts
 * import { checkTokenId } from "./index_checks.ts";
 * checkTokenId(50256, 50257); // fine
 * ```
 *
 * @param token Token id.
 * @param dVocab Vocabulary size.
 * @throws {RangeError} When it is not an integer in 0..dVocab − 1.
 */
export function checkTokenId(token: number, dVocab: number): void {
  if (!(Number.isInteger(token) && token >= 0 && token < dVocab)) {
    throw new RangeError(`Target token ${token} is outside the vocabulary (0..${dVocab - 1})`);
  }
}
