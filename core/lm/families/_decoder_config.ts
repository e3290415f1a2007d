/**
 * The config fields Llama-layout families share (`hidden_size`, `num_attention_heads`, `num_key_value_heads`,
 * `head_dim`, `rope_theta`, ...), read once; each family then sets what differs.
 *
 * @module
 */

import type { HfConfig } from "../hf_config.ts";
import type { ActivationFunction, TransformerConfig } from "../transformer_config.ts";
import { hfRotary } from "./_hf_rope.ts";
import { plainConfig } from "./_plain_config.ts";

const ACTIVATIONS: Record<string, ActivationFunction> = {
  gelu_new: "gelu_new",
  gelu_pytorch_tanh: "gelu_pytorch_tanh",
  gelu_fast: "gelu_fast",
  gelu: "gelu",
  relu: "relu",
  silu: "silu",
  swish: "silu",
};

/**
 * The MLP activation a config names.
 *
 * @example
 * ```ts
 * import { HfConfig } from "../hf_config.ts";
 * import { hfActivation } from "./_decoder_config.ts";
 * console.log(hfActivation(new HfConfig({ hidden_act: "swish" }, "config.json"), "hidden_act", "silu")); // "silu"
 * ```
 *
 * @param hf The config.
 * @param key Its field.
 * @param fallback When the field is absent.
 * @returns The activation.
 * @throws {TypeError} When it is not one the model runs.
 */
export function hfActivation(hf: HfConfig, key: string, fallback: string): ActivationFunction {
  const name = hf.string(key, fallback);
  const act = Object.hasOwn(ACTIVATIONS, name) ? ACTIVATIONS[name] : undefined;
  if (!act) {
    throw new TypeError(
      `${hf.path} field ${key} is ${JSON.stringify(name)}: expected one of ${Object.keys(ACTIVATIONS).join(", ")}`,
    );
  }
  return act;
}

/**
 * The fields a Llama-layout config shares, with Llama's choices for the rest (RMSNorm, rotary on whole heads, gated
 * MLP, every layer global, no soft-capping).
 *
 * @example
 * ```ts
 * import { HfConfig } from "../hf_config.ts";
 * import { decoderConfig } from "./_decoder_config.ts";
 * const hf = new HfConfig({
 *   hidden_size: 64, num_attention_heads: 4, num_key_value_heads: 2, num_hidden_layers: 2,
 *   intermediate_size: 128, vocab_size: 100, max_position_embeddings: 256,
 * }, "config.json");
 * const cfg = decoderConfig(hf, "llama", { tied: false, act: "silu" });
 * console.log(cfg.dHead, cfg.nKvHeads, cfg.rotary?.dim); // 16 2 16
 * ```
 *
 * @param hf The config.
 * @param family The family's name.
 * @param defaults The family's `tie_word_embeddings` and `hidden_act` defaults, and the activation's field.
 * @returns The configuration.
 * @throws {TypeError} When a field is missing or mistyped, or the heads do not divide.
 */
export function decoderConfig(
  hf: HfConfig,
  family: string,
  defaults: { tied: boolean; act: string; actKey?: string },
): TransformerConfig {
  const dModel = hf.int("hidden_size");
  const nHeads = hf.int("num_attention_heads");
  // some configs write null for these two where the default applies
  const nKvHeads = hf.has("num_key_value_heads") ? hf.int("num_key_value_heads") : nHeads;
  if (nHeads % nKvHeads !== 0) {
    throw new TypeError(
      `${hf.path} field num_attention_heads (${nHeads}) must be a multiple of num_key_value_heads (${nKvHeads})`,
    );
  }
  if (!hf.has("head_dim") && dModel % nHeads !== 0) {
    throw new TypeError(
      `${hf.path} field hidden_size (${dModel}) must be a multiple of num_attention_heads (${nHeads})`,
    );
  }
  const dHead = hf.has("head_dim") ? hf.int("head_dim") : dModel / nHeads;
  const nLayers = hf.int("num_hidden_layers");
  return {
    ...plainConfig(hf, nLayers),
    family,
    nLayers,
    dModel,
    nHeads,
    nKvHeads,
    dHead,
    dMlp: hf.int("intermediate_size"),
    nCtx: hf.int("max_position_embeddings", 2048),
    dVocab: hf.int("vocab_size"),
    eps: hf.positive("rms_norm_eps", 1e-6),
    normalization: "RMS",
    positional: "rotary",
    rotary: hfRotary(hf, dHead),
    attnScale: Math.sqrt(dHead),
    actFn: hfActivation(hf, defaults.actKey ?? "hidden_act", defaults.act),
    gatedMlp: true,
    tiedEmbeddings: hf.bool("tie_word_embeddings", defaults.tied),
    prependBos: "tokenizer",
  };
}

/**
 * Per layer, whether it is local: from `layer_types` where the config lists them (newer transformers), else `local`.
 *
 * @param hf The config.
 * @param nLayers Number of layers.
 * @param local Whether layer l is local when the config does not list them.
 * @returns The attention type of each layer.
 * @throws {TypeError} When `layer_types` is not a list of `sliding_attention` / `full_attention`, one per layer.
 */
export function layerTypes(hf: HfConfig, nLayers: number, local: (l: number) => boolean): ("global" | "local")[] {
  const listed = hf.get("layer_types");
  if (listed === undefined || listed === null) {
    return Array.from({ length: nLayers }, (_, l) => local(l) ? "local" : "global");
  }
  if (
    !Array.isArray(listed) || listed.length !== nLayers ||
    !listed.every((t) => t === "sliding_attention" || t === "full_attention")
  ) {
    throw new TypeError(
      `${hf.path} field layer_types must list "sliding_attention" or "full_attention" for each of the ${nLayers} layers`,
    );
  }
  return listed.map((t) => t === "sliding_attention" ? "local" : "global");
}
