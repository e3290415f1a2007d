/**
 * The Qwen 3 family (model_type `qwen3`): Qwen 2's layout without its q/k/v biases, with a per-head RMSNorm on
 * queries and keys before rotary, and an explicit `head_dim`.
 *
 * @module
 */

import type { ModelFamily } from "../model_family.ts";
import { decoderConfig, layerTypes } from "./_decoder_config.ts";
import { readDecoderWeights } from "./_decoder_layout.ts";

/**
 * The Qwen 3 family.
 *
 * @example
 * ```ts
 * import { HfConfig } from "../hf_config.ts";
 * import { qwen3Family } from "./qwen3.ts";
 * const cfg = qwen3Family.config(new HfConfig({
 *   model_type: "qwen3", hidden_size: 64, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 32,
 *   num_hidden_layers: 2, intermediate_size: 128, vocab_size: 100,
 * }, "config.json"));
 * console.log(cfg.qkNorm, cfg.dHead, cfg.prependBos); // true 32 false
 * ```
 */
export const qwen3Family: ModelFamily = {
  name: "qwen3",
  modelTypes: ["qwen3"],
  config(hf) {
    const cfg = { ...decoderConfig(hf, "qwen3", { tied: false, act: "silu" }), qkNorm: true, prependBos: false };
    if (!hf.bool("use_sliding_window", false)) return cfg;
    const from = hf.int("max_window_layers", cfg.nLayers);
    return { ...cfg, attnTypes: layerTypes(hf, cfg.nLayers, (l) => l >= from), windowSize: hf.int("sliding_window") };
  },
  weights: (ckpt, cfg, storage) => readDecoderWeights(ckpt, cfg, storage, { normOffset: false }),
};
