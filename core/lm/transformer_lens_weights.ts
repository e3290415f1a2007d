/**
 * GPT-2's weights under TransformerLens's names and shapes (`model.blocks[l].attn.W_Q` is
 * [n_heads, d_model, d_head], ...), read from the weights the model runs with.
 *
 * @module
 */

import type { HostTensor } from "../gpu/tensor.ts";
import type { Gpt2Config } from "./gpt2_config.ts";
import type { Gpt2BlockWeights, LayerNormWeights } from "./gpt2_weights.ts";

/** A layer norm's scale and shift (TransformerLens `ln1.w`, `ln1.b`), each [d_model]. */
export interface TransformerLensLayerNorm {
  /** Scale [d_model]. */
  w: HostTensor;
  /** Shift [d_model]. */
  b: HostTensor;
}

/** Columns head·d_head … of a [d_model, n_heads·d_head] projection, as [n_heads, d_model, d_head]. */
function perHead(m: Float32Array, cfg: Gpt2Config): HostTensor {
  const { nHeads, dModel, dHead } = cfg;
  const data = new Float32Array(m.length);
  for (let h = 0; h < nHeads; h++) {
    for (let i = 0; i < dModel; i++) {
      const from = i * nHeads * dHead + h * dHead;
      data.set(m.subarray(from, from + dHead), (h * dModel + i) * dHead);
    }
  }
  return { shape: [nHeads, dModel, dHead], data };
}

/**
 * A layer norm under TransformerLens's names (`w`, `b`), or null where it was folded into the next
 * weights (TransformerLens's LNPre, which has none).
 *
 * @example
 * ```ts
 * import { transformerLensLayerNorm } from "./transformer_lens_weights.ts";
 * const ln = transformerLensLayerNorm({ w: new Float32Array(4).fill(1), b: new Float32Array(4) }, 4);
 * console.log(ln?.w.shape, transformerLensLayerNorm(null, 4)); // [4] null
 * ```
 *
 * @param ln The stored scale and shift.
 * @param dModel Their length.
 * @returns Them as tensors, or null.
 */
export function transformerLensLayerNorm(ln: LayerNormWeights, dModel: number): TransformerLensLayerNorm | null {
  return ln && { w: { shape: [dModel], data: ln.w }, b: { shape: [dModel], data: ln.b } };
}

/**
 * One block's attention weights (TransformerLens `blocks[l].attn`). W_Q, W_K and W_V are rearranged
 * copies made on each read; the others share memory with the model's weights.
 *
 * @example
 * ```ts ignore
 * console.log(model.blocks[0].attn.W_Q.shape); // [4, 128, 32]
 * ```
 */
export class TransformerLensAttention {
  readonly #cfg: Gpt2Config;
  readonly #w: Gpt2BlockWeights;

  /**
   * Wraps a block's weights.
   *
   * @param cfg Shapes.
   * @param weights The block's weights as run.
   */
  constructor(cfg: Gpt2Config, weights: Gpt2BlockWeights) {
    this.#cfg = cfg;
    this.#w = weights;
  }
  /** Query weights [n_heads, d_model, d_head]. */
  get W_Q(): HostTensor {
    return perHead(this.#w.W_Q, this.#cfg);
  }
  /** Key weights [n_heads, d_model, d_head]. */
  get W_K(): HostTensor {
    return perHead(this.#w.W_K, this.#cfg);
  }
  /** Value weights [n_heads, d_model, d_head]. */
  get W_V(): HostTensor {
    return perHead(this.#w.W_V, this.#cfg);
  }
  /** Output weights [n_heads, d_head, d_model] (the stored [n_heads · d_head, d_model] layout). */
  get W_O(): HostTensor {
    return { shape: [this.#cfg.nHeads, this.#cfg.dHead, this.#cfg.dModel], data: this.#w.W_O };
  }
  /** Query bias [n_heads, d_head]. */
  get b_Q(): HostTensor {
    return { shape: [this.#cfg.nHeads, this.#cfg.dHead], data: this.#w.b_Q };
  }
  /** Key bias [n_heads, d_head]. */
  get b_K(): HostTensor {
    return { shape: [this.#cfg.nHeads, this.#cfg.dHead], data: this.#w.b_K };
  }
  /** Value bias [n_heads, d_head] (zero after fold_value_biases). */
  get b_V(): HostTensor {
    return { shape: [this.#cfg.nHeads, this.#cfg.dHead], data: this.#w.b_V };
  }
  /** Output bias [d_model]. */
  get b_O(): HostTensor {
    return { shape: [this.#cfg.dModel], data: this.#w.b_O };
  }
}

/**
 * One block's weights under TransformerLens's module names: `attn`, `mlp`, `ln1`, `ln2`.
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
  /** MLP weights: W_in [d_model, d_mlp], b_in [d_mlp], W_out [d_mlp, d_model], b_out [d_model]. */
  readonly mlp: { W_in: HostTensor; b_in: HostTensor; W_out: HostTensor; b_out: HostTensor };
  /** ln1's scale and shift, or null where fold_ln folded them into W_Q, W_K and W_V (LNPre). */
  readonly ln1: TransformerLensLayerNorm | null;
  /** ln2's scale and shift, or null where folded into W_in. */
  readonly ln2: TransformerLensLayerNorm | null;

  /**
   * Wraps a block's weights.
   *
   * @param cfg Shapes.
   * @param weights The block's weights as run.
   */
  constructor(cfg: Gpt2Config, weights: Gpt2BlockWeights) {
    const { dModel: d, dMlp: m } = cfg;
    this.attn = new TransformerLensAttention(cfg, weights);
    this.mlp = {
      W_in: { shape: [d, m], data: weights.W_in },
      b_in: { shape: [m], data: weights.b_in },
      W_out: { shape: [m, d], data: weights.W_out },
      b_out: { shape: [d], data: weights.b_out },
    };
    this.ln1 = transformerLensLayerNorm(weights.ln1, d);
    this.ln2 = transformerLensLayerNorm(weights.ln2, d);
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
