/**
 * The checkpoint layout Llama made common and Mistral, Qwen 2/3 and Gemma 1/2/3 share: `model.layers.L.self_attn.
 * {q,k,v,o}_proj`, `mlp.{gate,up,down}_proj`, RMSNorms around them, `model.norm`, `lm_head` (or the embedding, tied).
 * Each of those families passes what differs: biases, Gemma's 1 + w norms and extra norms, q/k norms.
 *
 * @module
 */

import type { CheckpointTensors, WeightStorage } from "../checkpoint_tensors.ts";
import type { TransformerConfig } from "../transformer_config.ts";
import type { BlockWeights, Linear, NormWeights, TransformerWeights } from "../transformer_weights.ts";

/** What a family's checkpoint holds beyond Llama's. */
export interface DecoderLayout {
  /** Norm weights are stored as w with 1 + w applied (Gemma): the model keeps 1 + w, as TransformerLens does. */
  normOffset: boolean;
  /** Tensors of other parts of the checkpoint the text model does not use (Gemma 3's vision tower). */
  ignore?: RegExp;
  /**
   * q, k and v carry biases (Qwen 2, whose modeling code always has them). Without it a checkpoint decides, as
   * Llama's `attention_bias` and `mlp_bias` do: each group (q/k/v, o, the MLP's three) has a bias in every layer or in
   * none, so one missing is an error, not a projection quietly run without it.
   */
  qkvBias?: boolean;
}

/** Where the decoder's tensors are: `model.`, or inside a multimodal checkpoint (Gemma 3). */
const PREFIXES = ["model.", "language_model.model.", "model.language_model."];

/** Tensors some checkpoints carry that are not weights. */
const BUFFERS = /(^|\.)rotary_emb\.inv_freq$/;

/**
 * Reads a Llama-layout checkpoint. With `cfg.postNorms` the four Gemma 2 norms are read (post_attention_layernorm
 * is then the norm after attention, pre_feedforward_layernorm the one before the MLP); with `cfg.qkNorm`, q_norm and
 * k_norm. Projections have biases as `layout.qkvBias` says or, without it, as the first layer holds them, in every
 * layer alike (Qwen 2's q/k/v, Llama's `attention_bias` and `mlp_bias`).
 *
 * @example
 * ```ts ignore
 * const weights = await readDecoderWeights(ckpt, cfg, "float32", { normOffset: false });
 * ```
 *
 * @param ckpt The checkpoint.
 * @param cfg The model's configuration.
 * @param storage How to keep the matrices.
 * @param layout What the family's checkpoint holds.
 * @returns The weights.
 * @throws {TypeError} When a tensor is missing, of another shape, or left over.
 */
export async function readDecoderWeights(
  ckpt: CheckpointTensors,
  cfg: TransformerConfig,
  storage: WeightStorage,
  layout: DecoderLayout,
): Promise<TransformerWeights> {
  const { dModel: d, nHeads, nKvHeads, dHead, dMlp, dVocab, nLayers } = cfg;
  const p = PREFIXES.find((prefix) => ckpt.has(`${prefix}embed_tokens.weight`)) ?? PREFIXES[0];
  const norm = async (name: string, length = d): Promise<NormWeights> => {
    const w = await ckpt.float32(`${name}.weight`, [length]);
    if (layout.normOffset) { for (let i = 0; i < w.length; i++) w[i] += 1; }
    return { w, b: null };
  };
  // a bias missing where its group has them is a missing tensor; one where the group has none is left over
  const first = `${p}layers.0`;
  const hasBias = {
    qkv: layout.qkvBias ?? ["q", "k", "v"].some((x) => ckpt.has(`${first}.self_attn.${x}_proj.bias`)),
    o: ckpt.has(`${first}.self_attn.o_proj.bias`),
    mlp: ["gate", "up", "down"].some((x) => ckpt.has(`${first}.mlp.${x}_proj.bias`)),
  };
  const linear = async (name: string, out: number, inDim: number, bias: boolean): Promise<Linear> => ({
    weight: await ckpt.matrix(`${name}.weight`, [out, inDim], storage),
    bias: bias ? await ckpt.float32(`${name}.bias`, [out]) : null,
  });
  const blocks: BlockWeights[] = [];
  for (let l = 0; l < nLayers; l++) {
    const b = `${p}layers.${l}`;
    const attn = `${b}.self_attn`;
    const block: BlockWeights = {
      ln1: await norm(`${b}.input_layernorm`),
      q: await linear(`${attn}.q_proj`, nHeads * dHead, d, hasBias.qkv),
      k: await linear(`${attn}.k_proj`, nKvHeads * dHead, d, hasBias.qkv),
      v: await linear(`${attn}.v_proj`, nKvHeads * dHead, d, hasBias.qkv),
      o: await linear(`${attn}.o_proj`, d, nHeads * dHead, hasBias.o),
      ln2: await norm(cfg.postNorms ? `${b}.pre_feedforward_layernorm` : `${b}.post_attention_layernorm`),
      gate: await linear(`${b}.mlp.gate_proj`, dMlp, d, hasBias.mlp),
      up: await linear(`${b}.mlp.up_proj`, dMlp, d, hasBias.mlp),
      down: await linear(`${b}.mlp.down_proj`, d, dMlp, hasBias.mlp),
    };
    if (cfg.qkNorm) {
      block.qNorm = await norm(`${attn}.q_norm`, dHead);
      block.kNorm = await norm(`${attn}.k_norm`, dHead);
    }
    if (cfg.postNorms) {
      block.ln1Post = await norm(`${b}.post_attention_layernorm`);
      block.ln2Post = await norm(`${b}.post_feedforward_layernorm`);
    }
    blocks.push(block);
  }
  const embed = await ckpt.matrix(`${p}embed_tokens.weight`, [dVocab, d], storage);
  const lnFinal = await norm(`${p}norm`);
  const head = ckpt.first("lm_head.weight", "language_model.lm_head.weight");
  const unembed = cfg.tiedEmbeddings || head === undefined ? embed : await ckpt.matrix(head, [dVocab, d], storage);
  if (!cfg.tiedEmbeddings && head === undefined) {
    throw new TypeError(`${ckpt.dir} has no lm_head.weight: its config.json says the unembedding is not tied`);
  }
  // some tied checkpoints still store lm_head, a copy of the embedding
  if (cfg.tiedEmbeddings && head !== undefined) ckpt.skip(head);
  ckpt.checkAllUsed(layout.ignore ? new RegExp(`${BUFFERS.source}|${layout.ignore.source}`) : BUFFERS);
  return { embed, posEmbed: null, blocks, lnFinal, unembed: { weight: unembed, bias: null } };
}
