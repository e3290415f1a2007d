/**
 * The GPT-2 family (model_type `gpt2`: GPT-2 small to XL, DistilGPT-2, the embedded fixture model): LayerNorm, learned
 * positions, one fused c_attn projection, Conv1D matrices stored [in, out] (transposed here to [out, in]), a GELU MLP,
 * the unembedding tied to the embedding. TransformerLens puts BOS (`<|endoftext|>`) before text.
 *
 * @module
 */

import type { ModelFamily } from "../model_family.ts";
import type { BlockWeights, Linear, NormWeights } from "../transformer_weights.ts";
import { hfActivation } from "./_decoder_config.ts";
import { plainConfig } from "./_plain_config.ts";

const BUFFERS = /\.attn\.(bias|masked_bias)$/;

/**
 * GPT-2's `<|endoftext|>`: its BOS, EOS and padding token.
 *
 * @example
 * ```ts
 * import { GPT2_BOS_TOKEN_ID } from "./gpt2.ts";
 * console.log(GPT2_BOS_TOKEN_ID); // 50256
 * ```
 */
export const GPT2_BOS_TOKEN_ID = 50256;

/**
 * The GPT-2 family.
 *
 * @example
 * ```ts
 * import { HfConfig } from "../hf_config.ts";
 * import { gpt2Family } from "./gpt2.ts";
 * const cfg = gpt2Family.config(new HfConfig({ n_layer: 2, n_head: 4, n_embd: 64, n_positions: 32, vocab_size: 100 }, "config.json"));
 * console.log(cfg.dHead, cfg.dMlp, cfg.positional, cfg.prependBos); // 16 256 standard true
 * ```
 */
export const gpt2Family: ModelFamily = {
  name: "gpt2",
  modelTypes: ["gpt2"],
  config(hf) {
    hf.expect(
      "scale_attn_by_inverse_layer_idx",
      [false],
      "Mistral-style per-layer scaling is not a GPT-2 checkpoint's",
    );
    const nLayers = hf.int("n_layer");
    const nHeads = hf.int("n_head");
    const dModel = hf.int("n_embd");
    if (dModel % nHeads !== 0) {
      throw new TypeError(`${hf.path} field n_embd (${dModel}) must be a multiple of n_head (${nHeads})`);
    }
    const dHead = dModel / nHeads;
    const plain = plainConfig(hf, nLayers);
    return {
      ...plain,
      family: "gpt2",
      architecture: plain.architecture || "GPT2LMHeadModel",
      nLayers,
      dModel,
      nHeads,
      nKvHeads: nHeads,
      dHead,
      dMlp: hf.int("n_inner", 4 * dModel),
      nCtx: hf.int("n_positions", 1024),
      dVocab: hf.int("vocab_size", 50257),
      eps: hf.positive("layer_norm_epsilon", 1e-5),
      normalization: "LN",
      positional: "standard",
      attnScale: hf.bool("scale_attn_weights", true) ? Math.sqrt(dHead) : 1,
      actFn: hfActivation(hf, "activation_function", "gelu_new"),
      gatedMlp: false,
      tiedEmbeddings: true,
      bosTokenId: hf.int("bos_token_id", GPT2_BOS_TOKEN_ID),
      eosTokenIds: [hf.int("eos_token_id", GPT2_BOS_TOKEN_ID)],
      prependBos: true,
    };
  },
  async weights(ckpt, cfg, storage) {
    const { dModel: d, dMlp: m, nCtx, dVocab, nLayers } = cfg;
    // GPT2LMHeadModel saves `transformer.`-prefixed names, GPT2Model plain ones
    const prefix = ckpt.names.some((n) => n.startsWith("transformer.")) ? "transformer." : "";
    const norm = async (name: string): Promise<NormWeights> => ({
      w: await ckpt.float32(`${prefix}${name}.weight`, [d]),
      b: await ckpt.float32(`${prefix}${name}.bias`, [d]),
    });
    // Conv1D keeps [in, out]: transposed once here so every family's projections read alike
    const conv = async (name: string, inDim: number, out: number): Promise<Linear> => ({
      weight: (await ckpt.matrix(`${prefix}${name}.weight`, [inDim, out], storage)).transpose(),
      bias: await ckpt.float32(`${prefix}${name}.bias`, [out]),
    });
    const blocks: BlockWeights[] = [];
    for (let l = 0; l < nLayers; l++) {
      const h = `h.${l}`;
      const qkv = await conv(`${h}.attn.c_attn`, d, 3 * d);
      const part = (i: number): Linear => ({
        weight: qkv.weight.selectRows(Array.from({ length: d }, (_, r) => i * d + r)),
        bias: qkv.bias!.slice(i * d, (i + 1) * d),
      });
      blocks.push({
        ln1: await norm(`${h}.ln_1`),
        q: part(0),
        k: part(1),
        v: part(2),
        o: await conv(`${h}.attn.c_proj`, d, d),
        ln2: await norm(`${h}.ln_2`),
        up: await conv(`${h}.mlp.c_fc`, d, m),
        down: await conv(`${h}.mlp.c_proj`, m, d),
      });
    }
    const embed = await ckpt.matrix(`${prefix}wte.weight`, [dVocab, d], storage);
    const posEmbed = await ckpt.matrix(`${prefix}wpe.weight`, [nCtx, d], storage);
    const lnFinal = await norm("ln_f");
    // GPT2LMHeadModel saves lm_head only when untied; it is the embedding
    if (ckpt.has("lm_head.weight")) ckpt.skip("lm_head.weight");
    ckpt.checkAllUsed(BUFFERS);
    return { embed, posEmbed, blocks, lnFinal, unembed: { weight: embed, bias: new Float32Array(dVocab) } };
  },
};
