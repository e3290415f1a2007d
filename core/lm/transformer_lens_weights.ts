/**
 * A model's weights under TransformerLens's names and shapes (`model.blocks[l].attn.W_Q` is
 * [n_heads, d_model, d_head], `W_in` is [d_model, d_mlp], ...), copied out of the weights the model runs with. Where
 * an RMSNorm model's norms count as folded (TransformerLens's RMSPre), the copies have the norm's weight folded in, as
 * TransformerLens's own weights would.
 *
 * @module
 */

import type { HostTensor } from "../gpu/tensor.ts";
import type { TransformerConfig } from "./transformer_config.ts";
import type { BlockWeights, Linear, NormWeights } from "./transformer_weights.ts";
import type { WeightTensor } from "./weight_tensor.ts";

/** A norm under TransformerLens's names (`w`, and `b` for LayerNorm). */
export interface TransformerLensNorm {
  /** Scale [length]. */
  w: HostTensor;
  /** Shift [length], LayerNorm only. */
  b?: HostTensor;
}

/**
 * A norm under TransformerLens's names, or null where it was folded into the next weights (LNPre / RMSPre).
 *
 * @example
 * ```ts
 * import { transformerLensNorm } from "./transformer_lens_weights.ts";
 * const ln = transformerLensNorm({ w: new Float32Array(4).fill(1), b: new Float32Array(4) });
 * console.log(ln?.w.shape, transformerLensNorm(null)); // [4] null
 * ```
 *
 * @param norm The stored scale and shift, or null.
 * @returns Them as tensors, or null.
 */
export function transformerLensNorm(norm: NormWeights | null | undefined): TransformerLensNorm | null {
  if (!norm) return null;
  const w = { shape: [norm.w.length], data: norm.w };
  return norm.b ? { w, b: { shape: [norm.b.length], data: norm.b } } : { w };
}

/**
 * A [out, in] weight as [in, out] (TransformerLens's right-multiplied layout), each input row scaled by `fold`.
 *
 * @example
 * ```ts
 * import { WeightTensor } from "./weight_tensor.ts";
 * import { rightMultiplied } from "./transformer_lens_weights.ts";
 * const w = WeightTensor.float32([2, 3], Float32Array.of(1, 2, 3, 4, 5, 6));
 * console.log([...rightMultiplied(w, Float32Array.of(1, 10, 1)).data]); // [1, 4, 20, 50, 3, 6]
 * ```
 *
 * @param weight The stored weight.
 * @param fold A folded norm's weight [in], if any.
 * @returns A copy, [in, out].
 */
export function rightMultiplied(weight: WeightTensor, fold?: Float32Array): HostTensor {
  const [out, inDim] = weight.shape;
  const w = weight.toFloat32();
  const data = new Float32Array(out * inDim);
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < inDim; i++) data[i * out + o] = w[o * inDim + i] * (fold ? fold[i] : 1);
  }
  return { shape: [inDim, out], data };
}

/** [heads · d_head, d_model] as [heads, d_model, d_head], input rows scaled by `fold`; heads repeated `repeat` times. */
function perHead(lin: Linear, heads: number, dHead: number, fold: Float32Array | undefined, repeat = 1): HostTensor {
  const [, d] = lin.weight.shape;
  const w = lin.weight.toFloat32();
  const data = new Float32Array(heads * repeat * d * dHead);
  for (let h = 0; h < heads * repeat; h++) {
    const src = Math.floor(h / repeat);
    for (let i = 0; i < d; i++) {
      for (let k = 0; k < dHead; k++) {
        data[(h * d + i) * dHead + k] = w[(src * dHead + k) * d + i] * (fold ? fold[i] : 1);
      }
    }
  }
  return { shape: [heads * repeat, d, dHead], data };
}

/** A bias [heads · d_head] as [heads, d_head] (zeros where there is none), heads repeated `repeat` times. */
function headBias(bias: Float32Array | null, heads: number, dHead: number, repeat = 1): HostTensor {
  const data = new Float32Array(heads * repeat * dHead);
  if (bias) {
    for (let h = 0; h < heads * repeat; h++) {
      data.set(bias.subarray(Math.floor(h / repeat) * dHead, (Math.floor(h / repeat) + 1) * dHead), h * dHead);
    }
  }
  return { shape: [heads * repeat, dHead], data };
}

/**
 * One block's attention weights (TransformerLens `blocks[l].attn`), each a copy made on read. Under grouped-query
 * attention `W_K`/`W_V`/`b_K`/`b_V` repeat each key/value head for the query heads that read it, and `_W_K`, ... are
 * the key/value heads themselves (TransformerLens's GroupedQueryAttention).
 *
 * @example
 * ```ts ignore
 * console.log(model.blocks[0].attn.W_Q.shape); // [4, 128, 32]
 * ```
 */
export class TransformerLensAttention {
  readonly #cfg: TransformerConfig;
  readonly #w: BlockWeights;
  readonly #fold?: Float32Array;

  /**
   * Wraps a block's weights.
   *
   * @param cfg Shapes.
   * @param weights The block's weights as run.
   * @param fold ln1's weight where it counts as folded but the model still applies it (RMSPre).
   */
  constructor(cfg: TransformerConfig, weights: BlockWeights, fold?: Float32Array) {
    this.#cfg = cfg;
    this.#w = weights;
    this.#fold = fold;
  }
  get #group(): number {
    return this.#cfg.nHeads / this.#cfg.nKvHeads;
  }
  /** Query weights [n_heads, d_model, d_head]. */
  get W_Q(): HostTensor {
    return perHead(this.#w.q, this.#cfg.nHeads, this.#cfg.dHead, this.#fold);
  }
  /** Key weights [n_heads, d_model, d_head]. */
  get W_K(): HostTensor {
    return perHead(this.#w.k, this.#cfg.nKvHeads, this.#cfg.dHead, this.#fold, this.#group);
  }
  /** Value weights [n_heads, d_model, d_head]. */
  get W_V(): HostTensor {
    return perHead(this.#w.v, this.#cfg.nKvHeads, this.#cfg.dHead, this.#fold, this.#group);
  }
  /** Key weights of the key/value heads [n_key_value_heads, d_model, d_head]. */
  get _W_K(): HostTensor {
    return perHead(this.#w.k, this.#cfg.nKvHeads, this.#cfg.dHead, this.#fold);
  }
  /** Value weights of the key/value heads [n_key_value_heads, d_model, d_head]. */
  get _W_V(): HostTensor {
    return perHead(this.#w.v, this.#cfg.nKvHeads, this.#cfg.dHead, this.#fold);
  }
  /** Output weights [n_heads, d_head, d_model]. */
  get W_O(): HostTensor {
    const t = rightMultiplied(this.#w.o.weight);
    return { shape: [this.#cfg.nHeads, this.#cfg.dHead, this.#cfg.dModel], data: t.data };
  }
  /** Query bias [n_heads, d_head]. */
  get b_Q(): HostTensor {
    return headBias(this.#w.q.bias, this.#cfg.nHeads, this.#cfg.dHead);
  }
  /** Key bias [n_heads, d_head]. */
  get b_K(): HostTensor {
    return headBias(this.#w.k.bias, this.#cfg.nKvHeads, this.#cfg.dHead, this.#group);
  }
  /** Value bias [n_heads, d_head] (zero after fold_value_biases). */
  get b_V(): HostTensor {
    return headBias(this.#w.v.bias, this.#cfg.nKvHeads, this.#cfg.dHead, this.#group);
  }
  /** Key bias of the key/value heads [n_key_value_heads, d_head]. */
  get _b_K(): HostTensor {
    return headBias(this.#w.k.bias, this.#cfg.nKvHeads, this.#cfg.dHead);
  }
  /** Value bias of the key/value heads [n_key_value_heads, d_head]. */
  get _b_V(): HostTensor {
    return headBias(this.#w.v.bias, this.#cfg.nKvHeads, this.#cfg.dHead);
  }
  /** Output bias [d_model]. */
  get b_O(): HostTensor {
    return { shape: [this.#cfg.dModel], data: this.#w.o.bias ?? new Float32Array(this.#cfg.dModel) };
  }
  /** The per-head query RMSNorm (Qwen 3, Gemma 3), or null. */
  get q_norm(): TransformerLensNorm | null {
    return transformerLensNorm(this.#w.qNorm);
  }
  /** The per-head key RMSNorm, or null. */
  get k_norm(): TransformerLensNorm | null {
    return transformerLensNorm(this.#w.kNorm);
  }
}

/** One block's MLP weights (TransformerLens `blocks[l].mlp`), each a copy made on read. */
export class TransformerLensMlp {
  readonly #w: BlockWeights;
  readonly #fold?: Float32Array;

  /**
   * Wraps a block's weights.
   *
   * @param weights The block's weights as run.
   * @param fold ln2's weight where it counts as folded but the model still applies it (RMSPre).
   */
  constructor(weights: BlockWeights, fold?: Float32Array) {
    this.#w = weights;
    this.#fold = fold;
  }
  /** Input weights [d_model, d_mlp] (the up projection of a gated MLP). */
  get W_in(): HostTensor {
    return rightMultiplied(this.#w.up.weight, this.#fold);
  }
  /** Gate weights [d_model, d_mlp] of a gated MLP, or null. */
  get W_gate(): HostTensor | null {
    return this.#w.gate ? rightMultiplied(this.#w.gate.weight, this.#fold) : null;
  }
  /** Input bias [d_mlp]. */
  get b_in(): HostTensor {
    const m = this.#w.up.weight.shape[0];
    return { shape: [m], data: this.#w.up.bias ?? new Float32Array(m) };
  }
  /** Output weights [d_mlp, d_model]. */
  get W_out(): HostTensor {
    return rightMultiplied(this.#w.down.weight);
  }
  /** Output bias [d_model]. */
  get b_out(): HostTensor {
    const d = this.#w.down.weight.shape[0];
    return { shape: [d], data: this.#w.down.bias ?? new Float32Array(d) };
  }
}

/**
 * One block's weights under TransformerLens's module names: `attn`, `mlp`, `ln1`, `ln2` and Gemma 2's `ln1_post`,
 * `ln2_post`.
 *
 * @example
 * ```ts ignore
 * const block = model.blocks[2];
 * console.log(block.mlp.W_in.shape, block.ln1); // [128, 512] null (folded into W_Q, W_K, W_V)
 * ```
 */
export class TransformerLensBlock {
  /** Attention weights. */
  readonly attn: TransformerLensAttention;
  /** MLP weights. */
  readonly mlp: TransformerLensMlp;
  /** ln1's scale and shift, or null where folded into W_Q, W_K and W_V. */
  readonly ln1: TransformerLensNorm | null;
  /** ln2's, or null where folded into W_in (and W_gate). */
  readonly ln2: TransformerLensNorm | null;
  /** The norm after attention (Gemma 2 and 3), or null. */
  readonly ln1_post: TransformerLensNorm | null;
  /** The norm after the MLP (Gemma 2 and 3), or null. */
  readonly ln2_post: TransformerLensNorm | null;

  /**
   * Wraps a block's weights.
   *
   * @param cfg Shapes.
   * @param weights The block's weights as run.
   * @param folded Whether its norms count as folded while the model still applies them (RMSPre).
   */
  constructor(cfg: TransformerConfig, weights: BlockWeights, folded: boolean) {
    this.attn = new TransformerLensAttention(cfg, weights, folded ? weights.ln1?.w : undefined);
    this.mlp = new TransformerLensMlp(weights, folded ? weights.ln2?.w : undefined);
    this.ln1 = folded ? null : transformerLensNorm(weights.ln1);
    this.ln2 = folded ? null : transformerLensNorm(weights.ln2);
    this.ln1_post = transformerLensNorm(weights.ln1Post);
    this.ln2_post = transformerLensNorm(weights.ln2Post);
  }
}

/**
 * Stacks one tensor per layer into [n_layers, ...] (TransformerLens's `model.W_Q` and the like).
 *
 * @example
 * ```ts
 * import { stackLayers } from "./transformer_lens_weights.ts";
 * const t = stackLayers([{ shape: [2], data: Float32Array.of(1, 2) }, { shape: [2], data: Float32Array.of(3, 4) }]);
 * console.log(t.shape, [...t.data]); // [2, 2] [1, 2, 3, 4]
 * ```
 *
 * @param layers One tensor per layer, all of one shape.
 * @returns A copy, [layers.length, ...shape].
 */
export function stackLayers(layers: readonly HostTensor[]): HostTensor {
  const size = layers[0].data.length;
  const data = new Float32Array(layers.length * size);
  layers.forEach((t, l) => data.set(t.data, l * size));
  return { shape: [layers.length, ...layers[0].shape], data };
}
