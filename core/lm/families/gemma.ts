/**
 * The Gemma family (Gemma 1, model_type `gemma`): Llama's layout with the embedding multiplied by √d_model, norms
 * applied as 1 + w, a tanh-GELU gated MLP and a tied unembedding.
 *
 * @module
 */

import type { HfConfig } from "../hf_config.ts";
import type { ModelFamily } from "../model_family.ts";
import type { TransformerConfig } from "../transformer_config.ts";
import { decoderConfig } from "./_decoder_config.ts";
import { readDecoderWeights } from "./_decoder_layout.ts";

/**
 * What every Gemma shares: √d_model embedding scale, tied unembedding, `hidden_activation` (transformers ignores
 * Gemma's `hidden_act` and takes tanh GELU where `hidden_activation` is unset).
 *
 * @param hf The config.
 * @param family The family's name.
 * @returns The configuration, before the generation's own parts.
 */
export function gemmaConfig(hf: HfConfig, family: string): TransformerConfig {
  const cfg = decoderConfig(hf, family, { tied: true, act: "gelu_pytorch_tanh", actKey: "hidden_activation" });
  return { ...cfg, embedScale: Math.sqrt(cfg.dModel) };
}

/**
 * The Gemma family.
 *
 * @example
 * ```ts
 * import { HfConfig } from "../hf_config.ts";
 * import { gemmaFamily } from "./gemma.ts";
 * const cfg = gemmaFamily.config(new HfConfig({
 *   model_type: "gemma", hidden_size: 64, num_attention_heads: 4, num_key_value_heads: 1, head_dim: 32,
 *   num_hidden_layers: 2, intermediate_size: 128, vocab_size: 100,
 * }, "config.json"));
 * console.log(cfg.embedScale, cfg.actFn, cfg.tiedEmbeddings); // 8 gelu_pytorch_tanh true
 * ```
 */
export const gemmaFamily: ModelFamily = {
  name: "gemma",
  modelTypes: ["gemma"],
  config: (hf) => gemmaConfig(hf, "gemma"),
  weights: (ckpt, cfg, storage) => readDecoderWeights(ckpt, cfg, storage, { normOffset: true }),
};
