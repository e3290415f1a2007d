/**
 * Rotary position tables as Hugging Face computes them: inverse frequencies in float32 (with Llama 3's or linear
 * scaling), angles as float32 products of position and frequency, then their cosines and sines, laid out for
 * rotate-half (GPT-NeoX style) rotation, which every family here uses.
 *
 * @module
 */

import type { RotaryConfig } from "./transformer_config.ts";

const f = Math.fround;

/**
 * The inverse frequencies of a layer, [dim / 2], each rounded as Hugging Face's float32 computation rounds it.
 *
 * @example Default frequencies
 * ```ts
 * import { rotaryInverseFrequencies } from "./rotary.ts";
 * const inv = rotaryInverseFrequencies({ dim: 4, base: 10000, scaling: { type: "none" } }, false);
 * console.log(inv[0], inv[1]); // 1 0.009999999776482582
 * ```
 *
 * @param rotary The model's rotary settings.
 * @param local Whether the layer is a local (sliding-window) one, which uses `localBase` unscaled where set.
 * @returns The frequencies.
 */
export function rotaryInverseFrequencies(rotary: RotaryConfig, local: boolean): Float32Array {
  const { dim } = rotary;
  const useLocal = local && rotary.localBase !== undefined;
  const base = useLocal ? rotary.localBase! : rotary.base;
  const inv = new Float32Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) inv[i] = f(1 / f(Math.pow(base, f((2 * i) / dim))));
  const scaling = useLocal ? { type: "none" as const } : rotary.scaling;
  if (scaling.type === "linear") {
    for (let i = 0; i < inv.length; i++) inv[i] = f(inv[i] / scaling.factor);
  } else if (scaling.type === "llama3") {
    // transformers' _compute_llama3_parameters: wavelengths past the original context are slowed by `factor`, those
    // between the two cut-offs blended smoothly
    const { factor, lowFreqFactor, highFreqFactor, originalContext } = scaling;
    const lowWavelen = originalContext / lowFreqFactor, highWavelen = originalContext / highFreqFactor;
    for (let i = 0; i < inv.length; i++) {
      const wavelen = f((2 * Math.PI) / inv[i]);
      let scaled = wavelen > lowWavelen ? f(inv[i] / factor) : inv[i];
      if (!(wavelen < highWavelen) && !(wavelen > lowWavelen)) {
        const smooth = f(f(f(originalContext / wavelen) - lowFreqFactor) / (highFreqFactor - lowFreqFactor));
        scaled = f(f(f(f(1 - smooth) * scaled) / factor) + f(smooth * scaled));
      }
      inv[i] = scaled;
    }
  }
  return inv;
}

/**
 * Cosines and sines for the given positions, each [positions.length, dim] with the frequencies repeated over the two
 * halves (`cat(freqs, freqs)`), as the graph multiplies q and k by them.
 *
 * @example
 * ```ts
 * import { rotaryInverseFrequencies, rotaryTables } from "./rotary.ts";
 * const inv = rotaryInverseFrequencies({ dim: 2, base: 10000, scaling: { type: "none" } }, false);
 * const { cos, sin } = rotaryTables(inv, [0, 1]);
 * console.log(cos[0], sin[0], cos[2].toFixed(4)); // 1 0 0.5403
 * ```
 *
 * @param inverseFrequencies From {@linkcode rotaryInverseFrequencies}.
 * @param positions Absolute positions.
 * @returns The two tables.
 */
export function rotaryTables(
  inverseFrequencies: Float32Array,
  positions: readonly number[],
): { cos: Float32Array; sin: Float32Array } {
  const half = inverseFrequencies.length, dim = 2 * half;
  const cos = new Float32Array(positions.length * dim);
  const sin = new Float32Array(positions.length * dim);
  positions.forEach((p, row) => {
    for (let i = 0; i < half; i++) {
      const angle = f(p * inverseFrequencies[i]);
      const c = Math.cos(angle), s = Math.sin(angle);
      cos[row * dim + i] = cos[row * dim + half + i] = c;
      sin[row * dim + i] = sin[row * dim + half + i] = s;
    }
  });
  return { cos, sin };
}
