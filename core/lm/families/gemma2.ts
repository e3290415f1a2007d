/**
 * The Gemma 2 family (model_type `gemma2`): Gemma's parts plus a norm after attention and after the MLP, attention
 * scores scaled by √query_pre_attn_scalar and soft-capped, final logits soft-capped, and a sliding window on the even
 * layers (0, 2, ...) as transformers and Google's code run it (TransformerLens 2.x's configs put the first layer global).
 *
 * @module
 */

import type { HfConfig } from "../hf_config.ts";
import type { ModelFamily } from "../model_family.ts";
import { layerTypes } from "./_decoder_config.ts";
import { readDecoderWeights } from "./_decoder_layout.ts";
import { gemmaConfig } from "./gemma.ts";

/** A soft cap: Gemma2Config's default when the field is absent, none when it is null. */
function softcap(hf: HfConfig, key: string, fallback: number): number {
  const raw = hf.get(key);
  return raw === null ? 0 : hf.positive(key, fallback);
}

/**
 * The Gemma 2 family.
 *
 * @example
 * ```ts
 * import { HfConfig } from "../hf_config.ts";
 * import { gemma2Family } from "./gemma2.ts";
 * const cfg = gemma2Family.config(new HfConfig({
 *   model_type: "gemma2", hidden_size: 24, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 8,
 *   num_hidden_layers: 3, intermediate_size: 64, vocab_size: 100, query_pre_attn_scalar: 16,
 *   attn_logit_softcapping: 50, final_logit_softcapping: 30, sliding_window: 6,
 * }, "config.json"));
 * console.log(cfg.attnTypes, cfg.attnScale, cfg.finalSoftcap); // ["local", "global", "local"] 4 30
 * ```
 */
export const gemma2Family: ModelFamily = {
  name: "gemma2",
  modelTypes: ["gemma2"],
  config(hf) {
    const cfg = gemmaConfig(hf, "gemma2");
    return {
      ...cfg,
      postNorms: true,
      attnScale: Math.sqrt(hf.positive("query_pre_attn_scalar", 224)),
      attnSoftcap: softcap(hf, "attn_logit_softcapping", 50),
      finalSoftcap: softcap(hf, "final_logit_softcapping", 30),
      attnTypes: layerTypes(hf, cfg.nLayers, (l) => l % 2 === 0),
      windowSize: hf.int("sliding_window", 4096),
    };
  },
  weights: (ckpt, cfg, storage) => readDecoderWeights(ckpt, cfg, storage, { normOffset: true }),
};
