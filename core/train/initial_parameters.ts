/**
 * The parameters a new SAE starts from: decoder rows of norm `decoder_init_norm` in random directions
 * (unit norm for architectures that hold their rows there), the encoder their transpose, and each
 * architecture's own parameters at their initial values.
 *
 * @module
 */

import { trainingArchitecture } from "./training_architectures.ts";
import type { SaeTrainingConfig } from "./sae_training_config.ts";

/** Parameter tensors by SAELens name, row-major f32. */
export type ParameterMap = Map<string, Float32Array>;

/**
 * What a tensor name of a trainer's state holds: a parameter, or Adam's first (`m.NAME`) or second (`v.NAME`) moment
 * of one.
 *
 * @example
 * ```ts
 * import { tensorKind } from "./initial_parameters.ts";
 * console.log(tensorKind("m.W_enc")); // { moment: "m", parameter: "W_enc" }
 * ```
 */
export function tensorKind(name: string): { moment: "" | "m" | "v"; parameter: string } {
  return name.startsWith("m.") || name.startsWith("v.")
    ? { moment: name[0] as "m" | "v", parameter: name.slice(2) }
    : { moment: "", parameter: name };
}

/**
 * The parameters a new SAE starts from: decoder rows of norm `decoder_init_norm` in random
 * directions, the encoder its transpose, biases zero, JumpReLU's log-threshold log(init).
 *
 * @example
 * ```ts
 * import { initialParameters } from "./initial_parameters.ts";
 * import { mulberry32 } from "../util/mulberry32.ts";
 * const p = initialParameters({ architecture: "standard", d_in: 4, d_sae: 8, decoder_init_norm: 0.1, jumprelu_init_threshold: 0.01 }, mulberry32(0));
 * console.log(p.get("W_enc")!.length, Math.hypot(...p.get("W_dec")!.subarray(0, 4)).toFixed(3)); // 32 0.100
 * ```
 *
 * @param cfg Sizes and init settings.
 * @param rng Seeded generator.
 * @returns Parameter tensors by name.
 */
export function initialParameters(
  cfg: Pick<SaeTrainingConfig, "architecture" | "d_in" | "d_sae" | "decoder_init_norm" | "jumprelu_init_threshold">,
  rng: () => number,
): ParameterMap {
  const { d_in: dIn, d_sae: dSae } = cfg;
  const arch = trainingArchitecture(cfg.architecture);
  const wDec = new Float32Array(dSae * dIn);
  for (let i = 0; i < wDec.length; i++) wDec[i] = 2 * rng() - 1;
  for (let j = 0; j < dSae; j++) {
    const row = wDec.subarray(j * dIn, (j + 1) * dIn);
    const n = Math.hypot(...row) || 1;
    for (let d = 0; d < dIn; d++) row[d] *= cfg.decoder_init_norm / n;
  }
  const wEnc = new Float32Array(dIn * dSae);
  for (let j = 0; j < dSae; j++) for (let d = 0; d < dIn; d++) wEnc[d * dSae + j] = wDec[j * dIn + d];
  // The order is the Adam slots' and the clip sum's: kept as checkpoints have it.
  const { encoder, extra } = arch.parameters(cfg as SaeTrainingConfig);
  const params: ParameterMap = new Map([
    ["W_enc", wEnc],
    ...encoder,
    ["W_dec", wDec],
    ["b_dec", new Float32Array(dIn)],
    ...extra,
  ]);
  if (arch.decoder === "unit_norm") normalizeRows(wDec, dIn);
  return params;
}

function normalizeRows(w: Float32Array, width: number): void {
  for (let r = 0; r * width < w.length; r++) {
    const row = w.subarray(r * width, (r + 1) * width);
    const n = Math.hypot(...row) || 1;
    for (let d = 0; d < width; d++) row[d] /= n;
  }
}
