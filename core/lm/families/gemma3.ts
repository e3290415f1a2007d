/**
 * The Gemma 3 text model (model_type `gemma3_text`, and the language model of a `gemma3` multimodal checkpoint, its
 * vision tower left out): Gemma 2's parts without soft-capping, with per-head q/k norms, five sliding-window layers
 * for each global one (`sliding_window_pattern`), and a rotary base of its own on the local layers.
 *
 * @module
 */

import type { HfConfig } from "../hf_config.ts";
import type { ModelFamily } from "../model_family.ts";
import { layerTypes } from "./_decoder_config.ts";
import { readDecoderWeights } from "./_decoder_layout.ts";
import { gemmaConfig } from "./gemma.ts";

/** A multimodal config keeps the language model's settings in `text_config`. */
function textConfig(hf: HfConfig): HfConfig {
  return hf.get("model_type") === "gemma3" ? hf.object("text_config") ?? hf : hf;
}

/**
 * The Gemma 3 text family.
 *
 * @example
 * ```ts
 * import { HfConfig } from "../hf_config.ts";
 * import { gemma3Family } from "./gemma3.ts";
 * const cfg = gemma3Family.config(new HfConfig({
 *   model_type: "gemma3_text", hidden_size: 32, num_attention_heads: 4, num_key_value_heads: 1, head_dim: 8,
 *   num_hidden_layers: 6, intermediate_size: 64, vocab_size: 100, query_pre_attn_scalar: 8, sliding_window: 4,
 *   rope_theta: 1000000, rope_local_base_freq: 10000,
 * }, "config.json"));
 * console.log(cfg.attnTypes.join(), cfg.qkNorm, cfg.rotary?.localBase); // local,local,local,local,local,global true 10000
 * ```
 */
export const gemma3Family: ModelFamily = {
  name: "gemma3",
  modelTypes: ["gemma3_text", "gemma3"],
  config(outer) {
    const hf = textConfig(outer);
    const cfg = gemmaConfig(hf, "gemma3");
    const pattern = hf.int("sliding_window_pattern", 6);
    return {
      ...cfg,
      architecture: cfg.architecture || (outer.get("architectures") as string[] | undefined)?.[0] || "",
      postNorms: true,
      qkNorm: true,
      attnScale: Math.sqrt(hf.positive("query_pre_attn_scalar", 256)),
      attnSoftcap: hf.has("attn_logit_softcapping") ? hf.positive("attn_logit_softcapping") : 0,
      finalSoftcap: hf.has("final_logit_softcapping") ? hf.positive("final_logit_softcapping") : 0,
      attnTypes: layerTypes(hf, cfg.nLayers, (l) => (l + 1) % pattern !== 0),
      windowSize: hf.int("sliding_window", 4096),
      rotary: { ...cfg.rotary!, localBase: hf.positive("rope_local_base_freq", 10000) },
      bosTokenId: cfg.bosTokenId ?? (outer.has("bos_token_id") ? outer.ids("bos_token_id")[0] : null),
      eosTokenIds: cfg.eosTokenIds.length > 0 ? cfg.eosTokenIds : outer.ids("eos_token_id"),
    };
  },
  weights: (ckpt, cfg, storage) =>
    readDecoderWeights(ckpt, cfg, storage, {
      normOffset: true,
      ignore: /(^|\.)(vision_tower|multi_modal_projector)\./,
    }),
};
