/**
 * The parameters a new SAE starts from: decoder rows of norm `decoder_init_norm` in random directions
 * (unit norm for architectures that hold their rows there), the encoder their transpose, and each
 * architecture's own parameters at their initial values.
 *
 * @module
 */

import { trainingArchitecture } from "./training_architectures.ts";
import { type SaeTrainingConfig, unitNormDecoder } from "./sae_training_config.ts";

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
 * directions, the encoder its transpose, biases zero, JumpReLU's log-threshold log(init); with SAELens's older
 * `decoder_heuristic_init` or `init_encoder_as_decoder_transpose` false, that matrix is kaiming-uniform as torch draws
 * it (bound sqrt(6 / fan_in)), and with `normalize_sae_decoder` the decoder rows start at unit norm.
 *
 * @example
 * ```ts
 * import { initialParameters } from "./initial_parameters.ts";
 * import { mulberry32 } from "../util/mulberry32.ts";
 * import { SAE_TRAINING_DEFAULTS } from "./sae_training_config.ts";
 * const p = initialParameters({ ...SAE_TRAINING_DEFAULTS, architecture: "standard", d_in: 4, d_sae: 8 }, mulberry32(0));
 * console.log(p.get("W_enc")!.length, Math.hypot(...p.get("W_dec")!.subarray(0, 4)).toFixed(3)); // 32 0.100
 * ```
 *
 * @param cfg Sizes and init settings.
 * @param rng Seeded generator.
 * @returns Parameter tensors by name.
 */
export function initialParameters(
  cfg: Pick<
    SaeTrainingConfig,
    | "architecture"
    | "d_in"
    | "d_sae"
    | "decoder_init_norm"
    | "jumprelu_init_threshold"
    | "decoder_heuristic_init"
    | "init_encoder_as_decoder_transpose"
    | "normalize_sae_decoder"
  >,
  rng: () => number,
): ParameterMap {
  const { d_in: dIn, d_sae: dSae } = cfg;
  const arch = trainingArchitecture(cfg.architecture);
  // torch's kaiming_uniform_ (a = 0) bound of a [rows, fan_in] matrix: sqrt(6 / fan_in)
  const kaiming = (fanIn: number) => Math.sqrt(6 / fanIn);
  const wDec = new Float32Array(dSae * dIn);
  const decBound = cfg.decoder_heuristic_init ? 1 : kaiming(dIn);
  for (let i = 0; i < wDec.length; i++) wDec[i] = (2 * rng() - 1) * decBound;
  if (cfg.decoder_heuristic_init) {
    for (let j = 0; j < dSae; j++) {
      const row = wDec.subarray(j * dIn, (j + 1) * dIn);
      const n = Math.hypot(...row) || 1;
      for (let d = 0; d < dIn; d++) row[d] *= cfg.decoder_init_norm / n;
    }
  }
  const wEnc = new Float32Array(dIn * dSae);
  if (cfg.init_encoder_as_decoder_transpose) {
    for (let j = 0; j < dSae; j++) for (let d = 0; d < dIn; d++) wEnc[d * dSae + j] = wDec[j * dIn + d];
  } else {
    // W_enc is [d_in, d_sae]: torch's fan_in is d_sae
    for (let i = 0; i < wEnc.length; i++) wEnc[i] = (2 * rng() - 1) * kaiming(dSae);
  }
  // The order is the Adam slots' and the clip sum's: kept as checkpoints have it.
  const { encoder, extra } = arch.parameters(cfg as SaeTrainingConfig);
  const params: ParameterMap = new Map([
    ["W_enc", wEnc],
    ...encoder,
    ["W_dec", wDec],
    ["b_dec", new Float32Array(dIn)],
    ...extra,
  ]);
  if (unitNormDecoder(cfg)) normalizeRows(wDec, dIn);
  return params;
}

function normalizeRows(w: Float32Array, width: number): void {
  for (let r = 0; r * width < w.length; r++) {
    const row = w.subarray(r * width, (r + 1) * width);
    const n = Math.hypot(...row) || 1;
    for (let d = 0; d < width; d++) row[d] /= n;
  }
}
