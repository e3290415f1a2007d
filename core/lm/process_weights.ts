/**
 * TransformerLens's weight processing (`HookedTransformer.process_weights_`) for every family: fold layer norms into
 * the weights that read them, centre the weights that write to the residual stream, centre the unembedding and fold
 * the value biases into the output bias. None changes the model's log-probabilities; together they make the residual
 * stream TransformerLens shows (and SAEs trained on it expect).
 *
 * As TransformerLens does per normalisation: LayerNorm models are folded and centred in place; RMSNorm models are
 * not centred (TransformerLens skips it), and folding their norms changes no activation (RMSNorm's `hook_normalized`
 * is taken before the weight either way), so the model keeps computing with the norms' weights and only shows them
 * folded where it names weights (`W_Q`, `ln1`, ...). Centring the unembedding subtracts each position's mean logit
 * in the graph, which equals what centred weights give and leaves a tied embedding untouched.
 *
 * @module
 */

import type { TransformerConfig } from "./transformer_config.ts";
import type { Linear, NormWeights, TransformerWeights } from "./transformer_weights.ts";
import { WeightTensor } from "./weight_tensor.ts";

/** Which processing steps to apply; names follow `HookedTransformer.from_pretrained`'s arguments. */
export interface WeightProcessing {
  /** Fold each layer norm's scale and shift into the weights it feeds (`fold_ln`). @default {true} */
  foldLn?: boolean;
  /** Remove the mean over d_model from every residual write (`center_writing_weights`). @default {true} */
  centerWritingWeights?: boolean;
  /** Remove the mean over the vocabulary from the unembedding (`center_unembed`). @default {true} */
  centerUnembed?: boolean;
  /** Fold b_V into b_O (`fold_value_biases`). @default {true} */
  foldValueBiases?: boolean;
}

/** What processing a model ended up with (TransformerLens skips steps some models cannot take). */
export interface AppliedProcessing {
  /** Layer norms are folded (TransformerLens's LNPre / RMSPre). */
  folded: boolean;
  /** Writing weights are centred (LayerNorm models only). */
  centredWrites: boolean;
  /** Logits are centred over the vocabulary (not with a final soft cap, where TransformerLens refuses it). */
  centredUnembed: boolean;
}

/** `from_pretrained_no_processing`: every step off. */
export const NO_PROCESSING: Required<WeightProcessing> = {
  foldLn: false,
  centerWritingWeights: false,
  centerUnembed: false,
  foldValueBiases: false,
};

const KWARG_NAMES: Record<string, keyof WeightProcessing> = {
  fold_ln: "foldLn",
  center_writing_weights: "centerWritingWeights",
  center_unembed: "centerUnembed",
  fold_value_biases: "foldValueBiases",
};

/**
 * The processing an SAE's `model_from_pretrained_kwargs` asks for: TransformerLens's defaults overridden by
 * the keys it names. Other keys (e.g. `device`) do not affect weights and are ignored.
 *
 * @example An SAE trained without centring
 * ```ts
 * import { processingFromKwargs } from "./process_weights.ts";
 * console.log(processingFromKwargs({ center_writing_weights: false }).centerWritingWeights); // false
 * ```
 *
 * @param kwargs The SAE cfg's `model_from_pretrained_kwargs`.
 * @returns The processing.
 */
export function processingFromKwargs(kwargs: Record<string, unknown> | undefined): Required<WeightProcessing> {
  const out: Required<WeightProcessing> = {
    foldLn: true,
    centerWritingWeights: true,
    centerUnembed: true,
    foldValueBiases: true,
  };
  for (const [key, value] of Object.entries(kwargs ?? {})) {
    const name = KWARG_NAMES[key];
    if (name && typeof value === "boolean") out[name] = value;
  }
  return out;
}

/**
 * Whether a processing changes matrices in place, so that the model needs them as float32: folding and centring a
 * LayerNorm model do.
 *
 * @example
 * ```ts
 * import { processesInPlace } from "./process_weights.ts";
 * console.log(processesInPlace({ normalization: "RMS" }, {}), processesInPlace({ normalization: "LN" }, {})); // false true
 * ```
 *
 * @param cfg The model's normalisation.
 * @param processing The steps asked for.
 * @returns Whether matrices change.
 */
export function processesInPlace(cfg: Pick<TransformerConfig, "normalization">, processing: WeightProcessing): boolean {
  const { foldLn = true, centerWritingWeights = true } = processing;
  return cfg.normalization === "LN" && (foldLn || centerWritingWeights);
}

/** bias[o] += Σ_i W[o, i] · v[i] for a [out, in] matrix. */
function addMatVec(bias: Float32Array, w: Float32Array, v: Float32Array, inDim: number): void {
  for (let o = 0; o < bias.length; o++) {
    let s = 0;
    for (let i = 0; i < inDim; i++) s += w[o * inDim + i] * v[i];
    bias[o] += s;
  }
}

/** Folds a LayerNorm into the inputs of a projection, then removes each output's mean over the inputs. */
function foldInto(ln: NormWeights, lin: Linear, center: boolean): void {
  const [out, inDim] = lin.weight.shape;
  const w = lin.weight.data;
  if (ln.b) {
    lin.bias ??= new Float32Array(out);
    addMatVec(lin.bias, w, ln.b, inDim);
  }
  for (let o = 0; o < out; o++) {
    let sum = 0;
    for (let i = 0; i < inDim; i++) sum += w[o * inDim + i] *= ln.w[i];
    if (!center) continue;
    const mean = Math.fround(sum / inDim);
    for (let i = 0; i < inDim; i++) w[o * inDim + i] -= mean;
  }
}

/** Removes the mean over the outputs (d_model) from each input's column and from the bias. */
function centerOutputs(lin: Linear): void {
  const [out, inDim] = lin.weight.shape;
  const w = lin.weight.data;
  const mean = new Float64Array(inDim);
  for (let o = 0; o < out; o++) for (let i = 0; i < inDim; i++) mean[i] += w[o * inDim + i];
  for (let o = 0; o < out; o++) for (let i = 0; i < inDim; i++) w[o * inDim + i] -= mean[i] / out;
  if (lin.bias) centerRows(lin.bias, 1, out);
}

/**
 * Subtracts each row's mean over its columns, in place.
 *
 * @example
 * ```ts
 * import { centerRows } from "./process_weights.ts";
 * const m = Float32Array.of(1, 3, 5, 5);
 * centerRows(m, 2, 2);
 * console.log([...m]); // [-1, 1, 0, 0]
 * ```
 *
 * @param m A row-major [rows, cols] matrix.
 * @param rows Its rows.
 * @param cols Its columns.
 */
export function centerRows(m: Float32Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const row = m.subarray(r * cols, (r + 1) * cols);
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += row[c];
    const mean = sum / cols;
    for (let c = 0; c < cols; c++) row[c] -= mean;
  }
}

/**
 * Applies TransformerLens's processing in its order (fold_ln, center_writing_weights, center_unembed,
 * fold_value_biases), in place. Folded LayerNorms become `null` (LNPre: centre and scale only); a tied unembedding
 * that a step changes gets a copy of its own first, as TransformerLens keeps W_U apart from W_E.
 *
 * @example Default processing
 * ```ts ignore
 * const applied = processWeights(weights, cfg, {});
 * console.log(applied); // { folded: true, centredWrites: true, centredUnembed: true }
 * ```
 *
 * @param weights Weights to change (LayerNorm models' matrices as float32).
 * @param cfg Their shapes.
 * @param processing Steps to apply; each defaults to on.
 * @returns What was applied.
 * @throws {TypeError} When a LayerNorm model's matrices are kept in 16 bits.
 */
export function processWeights(
  weights: TransformerWeights,
  cfg: TransformerConfig,
  processing: WeightProcessing,
): AppliedProcessing {
  const { foldLn = true, centerWritingWeights = true, centerUnembed = true, foldValueBiases = true } = processing;
  const layerNorm = cfg.normalization === "LN";
  if (layerNorm && (foldLn || centerWritingWeights) && weights.unembed.weight === weights.embed) {
    weights.unembed = {
      ...weights.unembed,
      weight: WeightTensor.float32(weights.embed.shape, Float32Array.from(weights.embed.data)),
    };
  }
  if (layerNorm && foldLn) {
    for (const block of weights.blocks) {
      if (block.ln1) {
        for (const lin of [block.q, block.k, block.v]) foldInto(block.ln1, lin, true);
        block.ln1 = null;
      }
      if (block.ln2) {
        foldInto(block.ln2, block.up, true);
        if (block.gate) foldInto(block.ln2, block.gate, false);
        block.ln2 = null;
      }
    }
    if (weights.lnFinal) {
      weights.unembed.bias ??= new Float32Array(cfg.dVocab);
      foldInto(weights.lnFinal, weights.unembed, true);
      weights.lnFinal = null;
    }
  }
  const centredWrites = layerNorm && centerWritingWeights;
  if (centredWrites) {
    centerRows(weights.embed.data, cfg.dVocab, cfg.dModel);
    if (weights.posEmbed) centerRows(weights.posEmbed.data, weights.posEmbed.shape[0], cfg.dModel);
    for (const block of weights.blocks) {
      centerOutputs(block.o);
      centerOutputs(block.down);
    }
  }
  if (foldValueBiases) {
    const group = cfg.nHeads / cfg.nKvHeads, dh = cfg.dHead;
    for (const block of weights.blocks) {
      const bV = block.v.bias;
      if (!bV || bV.every((x) => x === 0)) continue;
      // b_O += Σ_h b_V[h] · W_O[h]: query head h reads key/value head floor(h / group)
      const expanded = Float32Array.from(
        { length: cfg.nHeads * dh },
        (_, j) => bV[Math.floor(j / dh / group) * dh + j % dh],
      );
      block.o.bias ??= new Float32Array(cfg.dModel);
      addMatVec(block.o.bias, block.o.weight.toFloat32(), expanded, cfg.nHeads * dh);
      bV.fill(0);
    }
  }
  return { folded: foldLn, centredWrites, centredUnembed: centerUnembed && cfg.finalSoftcap === 0 };
}
