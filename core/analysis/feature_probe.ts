/**
 * One feature across texts: where it peaks and how strongly (the hands-on notebook's feature probe).
 *
 * @module
 */

import type { TextFeatures } from "./encode_text.ts";
import { checkFeatureIndex } from "./index_checks.ts";

/** A feature's peak on one text. */
export interface FeaturePeak {
  /** Largest activation over the positions after BOS. */
  max: number;
  /** Position of the peak (first of equal ones); null when the feature never fires after BOS. */
  position: number | null;
  /** The token there; null when the feature never fires after BOS. */
  token: string | null;
  /** The activation at every position (BOS included). */
  activations: number[];
}

/**
 * The activations of feature `index` on an encoded text and where they peak. BOS is left out of the peak:
 * what fires there is about the sequence start, not the text. A feature that never fires after BOS has
 * no peak: `max` 0, `position` and `token` null.
 *
 * @example
 * ```ts ignore
 * const peak = featurePeak(await encodeText(model, sae, "Mr. Speaker"), 584);
 * console.log(peak.max, peak.token);
 * ```
 *
 * @param encoded The text's features.
 * @param index Feature index.
 * @returns The peak.
 * @throws {RangeError} When the index is not a feature of the SAE.
 */
export function featurePeak(encoded: TextFeatures, index: number): FeaturePeak {
  const [positions, dSae] = encoded.features.shape;
  checkFeatureIndex(index, dSae);
  const activations = Array.from({ length: positions }, (_, p) => encoded.features.data[p * dSae + index]);
  let position = encoded.bosPositions;
  for (let p = position + 1; p < positions; p++) if (activations[p] > activations[position]) position = p;
  const max = activations[position] ?? 0;
  if (!(max > 0)) return { max: 0, position: null, token: null, activations };
  return { max, position, token: encoded.strTokens[position], activations };
}
