/**
 * The Qwen 2 family (Qwen 1.5, 2 and 2.5; model_type `qwen2`): Llama's layout with biases on q, k and v, and no BOS
 * put before text (TransformerLens's `default_prepend_bos=False` for Qwen).
 *
 * @module
 */

import type { ModelFamily } from "../model_family.ts";
import { decoderConfig, layerTypes } from "./_decoder_config.ts";
import { readDecoderWeights } from "./_decoder_layout.ts";

/**
 * The Qwen 2 family.
 *
 * @example
 * ```ts
 * import { HfConfig } from "../hf_config.ts";
 * import { qwen2Family } from "./qwen2.ts";
 * const cfg = qwen2Family.config(new HfConfig({
 *   model_type: "qwen2", hidden_size: 64, num_attention_heads: 4, num_key_value_heads: 2, num_hidden_layers: 2,
 *   intermediate_size: 128, vocab_size: 100, tie_word_embeddings: true,
 * }, "config.json"));
 * console.log(cfg.prependBos, cfg.tiedEmbeddings); // false true
 * ```
 */
export const qwen2Family: ModelFamily = {
  name: "qwen2",
  modelTypes: ["qwen2"],
  config(hf) {
    const cfg = decoderConfig(hf, "qwen2", { tied: false, act: "silu" });
    if (!hf.bool("use_sliding_window", false)) return { ...cfg, prependBos: false };
    // transformers slides the window on the layers from max_window_layers on
    const from = hf.int("max_window_layers", cfg.nLayers);
    const attnTypes = layerTypes(hf, cfg.nLayers, (l) => l >= from);
    return { ...cfg, prependBos: false, attnTypes, windowSize: hf.int("sliding_window") };
  },
  weights: (ckpt, cfg, storage) => readDecoderWeights(ckpt, cfg, storage, { normOffset: false, qkvBias: true }),
};
