/**
 * Rotary settings from a Hugging Face config: `rope_theta` and `rope_scaling` (none, linear or Llama 3's).
 *
 * @module
 */

import type { HfConfig } from "../hf_config.ts";
import type { RotaryConfig, RotaryScaling } from "../transformer_config.ts";

/**
 * The rotary settings of a config whose heads rotate their first `dim` dimensions.
 *
 * @example
 * ```ts
 * import { HfConfig } from "../hf_config.ts";
 * import { hfRotary } from "./_hf_rope.ts";
 * const hf = new HfConfig({ rope_theta: 500000, rope_scaling: { rope_type: "linear", factor: 2 } }, "config.json");
 * console.log(hfRotary(hf, 64)); // { dim: 64, base: 500000, scaling: { type: "linear", factor: 2 } }
 * ```
 *
 * @param hf The config.
 * @param dim Rotated dimensions per head.
 * @param baseKey The field holding the base (`rope_theta`; GPT-NeoX's older configs say `rotary_emb_base`).
 * @returns The settings.
 * @throws {TypeError} When `rope_scaling` asks for a kind the model does not run (dynamic, yarn, longrope).
 */
export function hfRotary(hf: HfConfig, dim: number, baseKey = "rope_theta"): RotaryConfig {
  return { dim, base: hf.positive(baseKey, 10000), scaling: hfRopeScaling(hf) };
}

function hfRopeScaling(hf: HfConfig): RotaryScaling {
  const s = hf.object("rope_scaling");
  if (!s) return { type: "none" };
  const type = s.has("rope_type") ? s.string("rope_type") : s.string("type");
  switch (type) {
    case "default":
      return { type: "none" };
    case "linear":
      return { type: "linear", factor: s.positive("factor") };
    case "llama3":
      return {
        type: "llama3",
        factor: s.positive("factor"),
        lowFreqFactor: s.positive("low_freq_factor"),
        highFreqFactor: s.positive("high_freq_factor"),
        originalContext: s.int("original_max_position_embeddings"),
      };
    default:
      throw new TypeError(
        `${hf.path} field rope_scaling has type ${JSON.stringify(type)}: sae runs default, linear and llama3 scaling`,
      );
  }
}
