/**
 * The Llama family: Llama 2, 3, 3.1 and 3.2, Mistral, DeepSeek-R1-Distill-Llama (model_type `llama` or `mistral`).
 * RMSNorm, rotary positions (Llama 3's frequency scaling included), grouped-query attention, SwiGLU, an untied
 * unembedding (tied in Llama 3.2 1B and 3B); Mistral v0.1 attends to a 4096-token sliding window.
 *
 * @module
 */

import type { ModelFamily } from "../model_family.ts";
import { decoderConfig } from "./_decoder_config.ts";
import { readDecoderWeights } from "./_decoder_layout.ts";

/**
 * The Llama family.
 *
 * @example
 * ```ts
 * import { HfConfig } from "../hf_config.ts";
 * import { llamaFamily } from "./llama.ts";
 * const cfg = llamaFamily.config(new HfConfig({
 *   model_type: "llama", hidden_size: 64, num_attention_heads: 4, num_key_value_heads: 2, num_hidden_layers: 2,
 *   intermediate_size: 128, vocab_size: 100, rope_theta: 500000,
 *   rope_scaling: { rope_type: "llama3", factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
 * }, "config.json"));
 * console.log(cfg.rotary?.scaling.type, cfg.actFn, cfg.tiedEmbeddings); // llama3 silu false
 * ```
 */
export const llamaFamily: ModelFamily = {
  name: "llama",
  modelTypes: ["llama", "mistral"],
  config(hf) {
    const mistral = hf.get("model_type") === "mistral";
    const cfg = decoderConfig(hf, mistral ? "mistral" : "llama", { tied: false, act: "silu" });
    // MistralConfig's sliding_window defaults to 4096 when the field is absent; null turns it off
    const raw = hf.get("sliding_window");
    const window = !mistral || raw === null ? null : raw === undefined ? 4096 : hf.int("sliding_window");
    return window === null ? cfg : { ...cfg, attnTypes: cfg.attnTypes.map(() => "local"), windowSize: window };
  },
  weights: (ckpt, cfg, storage) => readDecoderWeights(ckpt, cfg, storage, { normOffset: false }),
};
