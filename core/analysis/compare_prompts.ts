/**
 * Features shared by several prompts (SAELens tutorial 5): active in every one, ranked by their mean
 * peak activation.
 *
 * @module
 */

import type { TextFeatures } from "./encode_text.ts";

/** A feature active in every prompt. */
export interface SharedFeature {
  /** Feature index. */
  index: number;
  /** Mean over prompts of the feature's peak. */
  mean: number;
  /** Its peak (max over positions) in each prompt. */
  peaks: number[];
}

/**
 * The features whose peak exceeds `threshold` in every prompt, strongest mean peak first. BOS is left
 * out: its activations are about the sequence start, not the prompt.
 *
 * @example
 * ```ts ignore
 * const shared = sharedFeatures([await encodeText(model, sae, "a"), await encodeText(model, sae, "b")], 0.5);
 * ```
 *
 * @param prompts Encoded prompts, one SAE.
 * @param threshold Smallest peak that counts as active. @default {0}
 * @returns The shared features.
 * @throws {RangeError} When no prompt is given.
 */
export function sharedFeatures(prompts: readonly TextFeatures[], threshold = 0): SharedFeature[] {
  if (prompts.length === 0) throw new RangeError("Comparing prompts needs at least one prompt");
  const dSae = prompts[0].features.shape[1];
  const peaks = prompts.map((p) => {
    const peak = new Float32Array(dSae).fill(-Infinity);
    for (let pos = p.bosPositions; pos < p.tokens.length; pos++) {
      const row = p.features.data.subarray(pos * dSae, (pos + 1) * dSae);
      for (let i = 0; i < dSae; i++) if (row[i] > peak[i]) peak[i] = row[i];
    }
    return peak;
  });
  const shared: SharedFeature[] = [];
  for (let i = 0; i < dSae; i++) {
    if (!peaks.every((p) => p[i] > threshold)) continue;
    const each = peaks.map((p) => p[i]);
    shared.push({ index: i, mean: each.reduce((a, b) => a + b, 0) / each.length, peaks: each });
  }
  return shared.sort((a, b) => b.mean - a.mean || a.index - b.index);
}
