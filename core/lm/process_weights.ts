/**
 * TransformerLens's weight processing (`HookedTransformer.process_weights_`): fold layer norms into the
 * following weights, centre the weights that write to the residual stream, centre the unembedding and
 * fold the value biases into the output bias. None changes the model's log-probabilities; together they
 * make the residual stream TransformerLens shows (and SAEs trained on it expect).
 *
 * @module
 */

import type { Gpt2Config } from "./gpt2_config.ts";
import type { Gpt2Weights } from "./gpt2_weights.ts";

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

/** b[c] += Σ_r v[r] · M[r, c] for a row-major [rows, cols] matrix. */
function addVecMat(b: Float32Array, v: Float32Array, m: Float32Array, rows: number, cols: number): void {
  const acc = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const s = v[r];
    if (s === 0) continue;
    for (let c = 0; c < cols; c++) acc[c] += s * m[r * cols + c];
  }
  for (let c = 0; c < cols; c++) b[c] += acc[c];
}

/** Folds a layer norm [rows] into the rows (input dim) of M, then centres each column over the rows. */
function foldIntoInputs(
  ln: { w: Float32Array; b: Float32Array },
  m: Float32Array,
  bias: Float32Array,
  rows: number,
  cols: number,
): void {
  addVecMat(bias, ln.b, m, rows, cols);
  for (let r = 0; r < rows; r++) {
    const s = ln.w[r];
    for (let c = 0; c < cols; c++) m[r * cols + c] *= s;
  }
  centerColumns(m, rows, cols);
}

/** Subtracts each column's mean over the rows. */
function centerColumns(m: Float32Array, rows: number, cols: number): void {
  const mean = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) mean[c] += m[r * cols + c];
  }
  for (let c = 0; c < cols; c++) mean[c] /= rows;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) m[r * cols + c] -= mean[c];
  }
}

/** Subtracts each row's mean over the columns. */
function centerRows(m: Float32Array, rows: number, cols: number): void {
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
 * fold_value_biases), in place. Folded layer norms become `null` (LNPre: centre and scale only).
 *
 * @example Default processing
 * ```ts ignore
 * import { readGpt2Checkpoint } from "./gpt2_weights.ts";
 * import { processWeights } from "./process_weights.ts";
 * const { config, weights } = await readGpt2Checkpoint("../shared/fixtures/gpt2-sotu-tiny");
 * processWeights(weights, config, {});
 * ```
 *
 * @param weights Weights to change.
 * @param config Their shapes.
 * @param processing Steps to apply; each defaults to on.
 */
export function processWeights(weights: Gpt2Weights, config: Gpt2Config, processing: WeightProcessing): void {
  const { foldLn = true, centerWritingWeights = true, centerUnembed = true, foldValueBiases = true } = processing;
  const { dModel: d, dMlp: m, dVocab, nCtx } = config;
  if (foldLn) {
    for (const block of weights.blocks) {
      if (block.ln1) {
        foldIntoInputs(block.ln1, block.W_Q, block.b_Q, d, d);
        foldIntoInputs(block.ln1, block.W_K, block.b_K, d, d);
        foldIntoInputs(block.ln1, block.W_V, block.b_V, d, d);
        block.ln1 = null;
      }
      if (block.ln2) {
        foldIntoInputs(block.ln2, block.W_in, block.b_in, d, m);
        block.ln2 = null;
      }
    }
    if (weights.lnFinal) {
      foldIntoInputs(weights.lnFinal, weights.W_U, weights.b_U, d, dVocab);
      weights.lnFinal = null;
    }
  }
  if (centerWritingWeights) {
    centerRows(weights.W_E, dVocab, d);
    centerRows(weights.W_pos, nCtx, d);
    for (const block of weights.blocks) {
      centerRows(block.W_O, d, d);
      centerRows(block.b_O, 1, d);
      centerRows(block.W_out, m, d);
      centerRows(block.b_out, 1, d);
    }
  }
  if (centerUnembed) {
    centerRows(weights.W_U, d, dVocab);
    centerRows(weights.b_U, 1, dVocab);
  }
  if (foldValueBiases) {
    for (const block of weights.blocks) {
      addVecMat(block.b_O, block.b_V, block.W_O, d, d);
      block.b_V.fill(0);
    }
  }
}
