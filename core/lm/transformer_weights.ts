/**
 * The weights every family maps its checkpoint into, in Hugging Face's `nn.Linear` layout: each projection is a
 * [out, in] matrix (read transposed by the graph), so a checkpoint's matrices are used as stored, 16-bit ones
 * included, with no copy.
 *
 * @module
 */

import type { WeightTensor } from "./weight_tensor.ts";

/** A norm's scale (TransformerLens `w`, Gemma's 1 + w already added) and shift (`b`, LayerNorm only). */
export interface NormWeights {
  /** Scale [length]. */
  w: Float32Array;
  /** Shift [length], or null (RMSNorm, bias-free LayerNorm). */
  b: Float32Array | null;
}

/** A projection x ↦ x Wᵀ + b. */
export interface Linear {
  /** Weight [out, in]. */
  weight: WeightTensor;
  /** Bias [out], or null. */
  bias: Float32Array | null;
}

/** One block. */
export interface BlockWeights {
  /** The norm before attention; null once folded into q, k and v (TransformerLens's LNPre). */
  ln1: NormWeights | null;
  /** Queries [n_heads · d_head, d_model]. */
  q: Linear;
  /** Keys [n_kv_heads · d_head, d_model]. */
  k: Linear;
  /** Values [n_kv_heads · d_head, d_model]. */
  v: Linear;
  /** Output [d_model, n_heads · d_head]. */
  o: Linear;
  /** Per-head RMSNorm of queries [d_head] (Qwen 3, Gemma 3). */
  qNorm?: NormWeights;
  /** Per-head RMSNorm of keys [d_head]. */
  kNorm?: NormWeights;
  /** The norm after attention (Gemma 2's post_attention_layernorm). */
  ln1Post?: NormWeights;
  /** The norm before the MLP; null once folded into its input weights. */
  ln2: NormWeights | null;
  /** Gate [d_mlp, d_model] of a gated MLP. */
  gate?: Linear;
  /** Input (up) projection [d_mlp, d_model] (TransformerLens `W_in`). */
  up: Linear;
  /** Output (down) projection [d_model, d_mlp] (TransformerLens `W_out`). */
  down: Linear;
  /** The norm after the MLP (Gemma 2's post_feedforward_layernorm). */
  ln2Post?: NormWeights;
}

/** A whole model. */
export interface TransformerWeights {
  /** Token embedding [d_vocab, d_model], unscaled (Gemma's √d_model is applied after the lookup). */
  embed: WeightTensor;
  /** Learned positions [n_ctx, d_model], or null with rotary positions. */
  posEmbed: WeightTensor | null;
  /** Blocks in order. */
  blocks: BlockWeights[];
  /** The final norm; null once folded into the unembedding. */
  lnFinal: NormWeights | null;
  /** Unembedding [d_vocab, d_model] (the embedding's own matrix when tied) and its bias [d_vocab]. */
  unembed: Linear;
}
