/**
 * The GPT-NeoX family (Pythia; model_type `gpt_neox`): LayerNorm with biases, attention and MLP in parallel on the
 * block's input, rotary positions on the first `rotary_pct` of each head, one fused query_key_value matrix laid out
 * per head, an untied `embed_out`. Text gets no BOS unless asked, as Pythia's tokenizer does.
 *
 * @module
 */

import type { ModelFamily } from "../model_family.ts";
import type { BlockWeights, Linear, NormWeights } from "../transformer_weights.ts";
import { hfActivation } from "./_decoder_config.ts";
import { hfRotary } from "./_hf_rope.ts";
import { plainConfig } from "./_plain_config.ts";

const BUFFERS = /\.attention\.(bias|masked_bias|rotary_emb\.inv_freq)$/;

/**
 * The GPT-NeoX family.
 *
 * @example
 * ```ts
 * import { HfConfig } from "../hf_config.ts";
 * import { gptNeoxFamily } from "./gpt_neox.ts";
 * const cfg = gptNeoxFamily.config(new HfConfig({
 *   model_type: "gpt_neox", hidden_size: 64, num_attention_heads: 4, num_hidden_layers: 3, intermediate_size: 256,
 *   vocab_size: 50304, rotary_pct: 0.25,
 * }, "config.json"));
 * console.log(cfg.rotary?.dim, cfg.parallelAttnMlp, cfg.normalization); // 4 true LN
 * ```
 */
export const gptNeoxFamily: ModelFamily = {
  name: "gpt_neox",
  modelTypes: ["gpt_neox"],
  config(hf) {
    const dModel = hf.int("hidden_size");
    const nHeads = hf.int("num_attention_heads");
    if (dModel % nHeads !== 0) {
      throw new TypeError(
        `${hf.path} field hidden_size (${dModel}) must be a multiple of num_attention_heads (${nHeads})`,
      );
    }
    const dHead = dModel / nHeads;
    const pct = hf.has("rotary_pct") ? hf.positive("rotary_pct") : hf.positive("partial_rotary_factor", 1);
    // transformers: rotary_ndims = int(head_size * rotary_pct)
    const rotaryDim = Math.floor(dHead * pct);
    const nLayers = hf.int("num_hidden_layers");
    return {
      ...plainConfig(hf, nLayers),
      family: "gpt_neox",
      nLayers,
      dModel,
      nHeads,
      nKvHeads: nHeads,
      dHead,
      dMlp: hf.int("intermediate_size"),
      nCtx: hf.int("max_position_embeddings", 2048),
      dVocab: hf.int("vocab_size"),
      eps: hf.positive("layer_norm_eps", 1e-5),
      normalization: "LN",
      positional: "rotary",
      rotary: hfRotary(hf, rotaryDim, hf.has("rotary_emb_base") ? "rotary_emb_base" : "rope_theta"),
      attnScale: Math.sqrt(dHead),
      actFn: hfActivation(hf, "hidden_act", "gelu"),
      gatedMlp: false,
      parallelAttnMlp: hf.bool("use_parallel_residual", true),
      tiedEmbeddings: hf.bool("tie_word_embeddings", false),
      prependBos: "tokenizer",
    };
  },
  async weights(ckpt, cfg, storage) {
    const { dModel: d, nHeads, dHead, dMlp, dVocab, nLayers } = cfg;
    const norm = async (name: string): Promise<NormWeights> => ({
      w: await ckpt.float32(`${name}.weight`, [d]),
      b: await ckpt.float32(`${name}.bias`, [d]),
    });
    const linear = async (name: string, out: number, inDim: number): Promise<Linear> => ({
      weight: await ckpt.matrix(`${name}.weight`, [out, inDim], storage),
      bias: await ckpt.float32(`${name}.bias`, [out]),
    });
    const blocks: BlockWeights[] = [];
    for (let l = 0; l < nLayers; l++) {
      const b = `gpt_neox.layers.${l}`;
      // query_key_value's rows are (head, q|k|v, d_head): TransformerLens's "(i qkv h) m -> qkv i m h"
      const fused = await linear(`${b}.attention.query_key_value`, 3 * d, d);
      const split = (part: number): Linear => {
        const rows = Array.from({ length: d }, (_, i) => (Math.floor(i / dHead) * 3 + part) * dHead + (i % dHead));
        return { weight: fused.weight.selectRows(rows), bias: Float32Array.from(rows, (r) => fused.bias![r]) };
      };
      blocks.push({
        ln1: await norm(`${b}.input_layernorm`),
        q: split(0),
        k: split(1),
        v: split(2),
        o: await linear(`${b}.attention.dense`, d, nHeads * dHead),
        ln2: await norm(`${b}.post_attention_layernorm`),
        up: await linear(`${b}.mlp.dense_h_to_4h`, dMlp, d),
        down: await linear(`${b}.mlp.dense_4h_to_h`, d, dMlp),
      });
    }
    const embed = await ckpt.matrix("gpt_neox.embed_in.weight", [dVocab, d], storage);
    const lnFinal = await norm("gpt_neox.final_layer_norm");
    const unembed = cfg.tiedEmbeddings ? embed : await ckpt.matrix("embed_out.weight", [dVocab, d], storage);
    ckpt.checkAllUsed(BUFFERS);
    return { embed, posEmbed: null, blocks, lnFinal, unembed: { weight: unembed, bias: null } };
  },
};
