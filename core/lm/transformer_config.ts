/**
 * One configuration for every model family (TransformerLens's `HookedTransformerConfig`): what a family's
 * translation of a Hugging Face `config.json` gives and what the one graph builder reads.
 *
 * @module
 */

/** The normalisation every layer norm of the model uses. */
export type Normalization = "LN" | "RMS";

/** MLP activations, by TransformerLens's (and Hugging Face's) names. */
export type ActivationFunction = "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" | "gelu" | "relu" | "silu";

/** How rotary frequencies are rescaled for long contexts (Hugging Face's `rope_scaling`). */
export type RotaryScaling =
  | { type: "none" }
  | { type: "linear"; factor: number }
  | {
    type: "llama3";
    factor: number;
    lowFreqFactor: number;
    highFreqFactor: number;
    originalContext: number;
  };

/** Rotary position embedding settings. */
export interface RotaryConfig {
  /** Dimensions of each head rotated (the first ones; the rest pass through). */
  dim: number;
  /** Base of the frequencies on global layers (`rope_theta`). */
  base: number;
  /** Base on local (sliding-window) layers where it differs (Gemma 3). */
  localBase?: number;
  /** Scaling on global layers. */
  scaling: RotaryScaling;
}

/** A model's shape and numerics. */
export interface TransformerConfig {
  /** The family that translated it (`gpt2`, `llama`, `qwen2`, `qwen3`, `gemma`, `gemma2`, `gemma3`, `gpt_neox`). */
  family: string;
  /** Hugging Face's architecture name (`LlamaForCausalLM`, ...). */
  architecture: string;
  /** Number of blocks. */
  nLayers: number;
  /** Residual stream width. */
  dModel: number;
  /** Query heads. */
  nHeads: number;
  /** Key/value heads (nHeads without grouped-query attention). */
  nKvHeads: number;
  /** Width of one head. */
  dHead: number;
  /** MLP hidden width. */
  dMlp: number;
  /** Longest context. */
  nCtx: number;
  /** Vocabulary size (rows of the embedding). */
  dVocab: number;
  /** Norm epsilon. */
  eps: number;
  /** LayerNorm or RMSNorm. */
  normalization: Normalization;
  /** Learned absolute positions or rotary ones. */
  positional: "standard" | "rotary";
  /** Rotary settings, with rotary positions. */
  rotary?: RotaryConfig;
  /** Attention scores are divided by this (√d_head, or √query_pre_attn_scalar). */
  attnScale: number;
  /** Attention scores pass through cap · tanh(s / cap) before the mask; 0 for none. */
  attnSoftcap: number;
  /** Final logits pass through cap · tanh(l / cap); 0 for none. */
  finalSoftcap: number;
  /** Per layer, whether it attends globally or to a sliding window. */
  attnTypes: readonly ("global" | "local")[];
  /** Keys a local layer attends to, the query's own included; null without local layers. */
  windowSize: number | null;
  /** Per-head RMSNorm on queries and keys before rotary (Qwen 3, Gemma 3). */
  qkNorm: boolean;
  /** The MLP's activation. */
  actFn: ActivationFunction;
  /** act(x W_gate) ⊙ (x W_in) instead of act(x W_in). */
  gatedMlp: boolean;
  /** Attention and MLP both read resid_pre (GPT-NeoX). */
  parallelAttnMlp: boolean;
  /** Norms after attention and after the MLP, before the residual add (Gemma 2 and 3). */
  postNorms: boolean;
  /** The token embedding is multiplied by this (√d_model for Gemma, 1 otherwise). */
  embedScale: number;
  /** The unembedding is the token embedding's matrix. */
  tiedEmbeddings: boolean;
  /** BOS token id, or null when the model has none. */
  bosTokenId: number | null;
  /** Token ids that end a sequence. */
  eosTokenIds: readonly number[];
  /**
   * Put BOS first when tokenizing text: `true`/`false` as TransformerLens does for the family, `"tokenizer"` to do what
   * the tokenizer's own post-processor does (Hugging Face's `add_special_tokens`).
   */
  prependBos: boolean | "tokenizer";
}

/** TransformerLens's (`HookedTransformerConfig`) snake_case names of a configuration. */
export interface TransformerLensConfigNames {
  /** {@linkcode TransformerConfig.nLayers}. */
  readonly n_layers: number;
  /** {@linkcode TransformerConfig.nHeads}. */
  readonly n_heads: number;
  /** {@linkcode TransformerConfig.nKvHeads}, or null without grouped-query attention (TransformerLens's convention). */
  readonly n_key_value_heads: number | null;
  /** {@linkcode TransformerConfig.dModel}. */
  readonly d_model: number;
  /** {@linkcode TransformerConfig.dHead}. */
  readonly d_head: number;
  /** {@linkcode TransformerConfig.dMlp}. */
  readonly d_mlp: number;
  /** {@linkcode TransformerConfig.nCtx}. */
  readonly n_ctx: number;
  /** {@linkcode TransformerConfig.dVocab}. */
  readonly d_vocab: number;
  /** {@linkcode TransformerConfig.actFn}. */
  readonly act_fn: ActivationFunction;
  /** {@linkcode TransformerConfig.eps}. */
  readonly eps: number;
  /** `LN`, `LNPre` (folded), `RMS` or `RMSPre` (folded). */
  readonly normalization_type: string;
  /** `standard` or `rotary`. */
  readonly positional_embedding_type: "standard" | "rotary";
  /** Rotated dimensions per head, or null. */
  readonly rotary_dim: number | null;
  /** Rotary base, or null. */
  readonly rotary_base: number | null;
  /** {@linkcode TransformerConfig.gatedMlp}. */
  readonly gated_mlp: boolean;
  /** {@linkcode TransformerConfig.parallelAttnMlp}. */
  readonly parallel_attn_mlp: boolean;
  /** {@linkcode TransformerConfig.postNorms}. */
  readonly use_normalization_before_and_after: boolean;
  /** {@linkcode TransformerConfig.qkNorm}. */
  readonly use_qk_norm: boolean;
  /** {@linkcode TransformerConfig.attnScale}. */
  readonly attn_scale: number;
  /** {@linkcode TransformerConfig.attnSoftcap}. */
  readonly attn_scores_soft_cap: number;
  /** {@linkcode TransformerConfig.finalSoftcap}. */
  readonly output_logits_soft_cap: number;
  /** Whether any layer is local. */
  readonly use_local_attn: boolean;
  /** {@linkcode TransformerConfig.attnTypes}, or null without local layers. */
  readonly attn_types: readonly ("global" | "local")[] | null;
  /** {@linkcode TransformerConfig.windowSize}. */
  readonly window_size: number | null;
  /** Whether text gets BOS by default. */
  readonly default_prepend_bos: boolean;
  /** {@linkcode TransformerConfig.architecture}. */
  readonly original_architecture: string;
}

/** A configuration under both its camelCase names and TransformerLens's snake_case ones. */
export type HookedTransformerConfig = TransformerConfig & TransformerLensConfigNames;

/**
 * Adds TransformerLens's snake_case names to a configuration (a copy; the camelCase fields stay).
 *
 * @example
 * ```ts
 * import { withTransformerLensNames } from "./transformer_config.ts";
 * import { gpt2Family } from "./families/gpt2.ts";
 * import { HfConfig } from "./hf_config.ts";
 * const cfg = gpt2Family.config(new HfConfig({ n_layer: 2, n_head: 4, n_embd: 64 }, "config.json"));
 * const tl = withTransformerLensNames(cfg, { folded: true, prependBos: true });
 * console.log(tl.d_model, tl.d_head, tl.normalization_type, tl.n_key_value_heads); // 64 16 LNPre null
 * ```
 *
 * @param cfg The configuration.
 * @param state Whether fold_ln ran and what text gets by default.
 * @returns It with both sets of names.
 */
export function withTransformerLensNames(
  cfg: TransformerConfig,
  state: { folded: boolean; prependBos: boolean },
): HookedTransformerConfig {
  const local = cfg.attnTypes.includes("local");
  return {
    ...cfg,
    n_layers: cfg.nLayers,
    n_heads: cfg.nHeads,
    n_key_value_heads: cfg.nKvHeads === cfg.nHeads ? null : cfg.nKvHeads,
    d_model: cfg.dModel,
    d_head: cfg.dHead,
    d_mlp: cfg.dMlp,
    n_ctx: cfg.nCtx,
    d_vocab: cfg.dVocab,
    act_fn: cfg.actFn,
    eps: cfg.eps,
    normalization_type: cfg.normalization + (state.folded ? "Pre" : ""),
    positional_embedding_type: cfg.positional,
    rotary_dim: cfg.rotary?.dim ?? null,
    rotary_base: cfg.rotary?.base ?? null,
    gated_mlp: cfg.gatedMlp,
    parallel_attn_mlp: cfg.parallelAttnMlp,
    use_normalization_before_and_after: cfg.postNorms,
    use_qk_norm: cfg.qkNorm,
    attn_scale: cfg.attnScale,
    attn_scores_soft_cap: cfg.attnSoftcap,
    output_logits_soft_cap: cfg.finalSoftcap,
    use_local_attn: local,
    attn_types: local ? cfg.attnTypes : null,
    window_size: cfg.windowSize,
    default_prepend_bos: state.prependBos,
    original_architecture: cfg.architecture,
  };
}
