/**
 * GPT-2 weights with TransformerLens's names, read from a Hugging Face folder (`config.json` +
 * `model.safetensors`). Matrices keep Hugging Face's Conv1D layout, [in, out], with heads laid out
 * head-major along the q/k/v columns.
 *
 * @module
 */

import { join } from "node:path";
import { exists } from "../io/exists.ts";
import { readJson } from "../io/read_json.ts";
import { readSafetensors, type SafetensorsEntry, toFloat32 } from "../io/safetensors.ts";
import { type Gpt2Config, parseGpt2Config } from "./gpt2_config.ts";

/** A layer norm's scale and shift; `null` where they were folded into the next weights (LNPre). */
export type LayerNormWeights = { w: Float32Array; b: Float32Array } | null;

/** One transformer block. Shapes use dModel (d), nHeads × dHead (hd) and dMlp (m). */
export interface Gpt2BlockWeights {
  /** ln_1. */
  ln1: LayerNormWeights;
  /** Query weights [d, hd] and bias [hd]. */
  W_Q: Float32Array;
  /** Query bias [hd]. */
  b_Q: Float32Array;
  /** Key weights [d, hd]. */
  W_K: Float32Array;
  /** Key bias [hd]. */
  b_K: Float32Array;
  /** Value weights [d, hd]. */
  W_V: Float32Array;
  /** Value bias [hd]. */
  b_V: Float32Array;
  /** Attention output weights [hd, d]. */
  W_O: Float32Array;
  /** Attention output bias [d]. */
  b_O: Float32Array;
  /** ln_2. */
  ln2: LayerNormWeights;
  /** MLP input weights [d, m]. */
  W_in: Float32Array;
  /** MLP input bias [m]. */
  b_in: Float32Array;
  /** MLP output weights [m, d]. */
  W_out: Float32Array;
  /** MLP output bias [d]. */
  b_out: Float32Array;
}

/** A whole GPT-2. */
export interface Gpt2Weights {
  /** Token embedding [dVocab, d]. */
  W_E: Float32Array;
  /** Position embedding [nCtx, d]. */
  W_pos: Float32Array;
  /** Blocks in order. */
  blocks: Gpt2BlockWeights[];
  /** ln_f. */
  lnFinal: LayerNormWeights;
  /** Unembedding [d, dVocab] (W_Eᵀ for a checkpoint, tied). */
  W_U: Float32Array;
  /** Unembedding bias [dVocab] (zero for a checkpoint). */
  b_U: Float32Array;
}

/** A model folder's configuration and weights. */
export interface Gpt2Checkpoint {
  /** Hyperparameters. */
  config: Gpt2Config;
  /** Weights, unprocessed. */
  weights: Gpt2Weights;
}

/** Columns [start, start + count) of a row-major [rows, cols] matrix. */
function columns(m: Float32Array, rows: number, cols: number, start: number, count: number): Float32Array {
  const out = new Float32Array(rows * count);
  for (let r = 0; r < rows; r++) out.set(m.subarray(r * cols + start, r * cols + start + count), r * count);
  return out;
}

/** The transpose of a row-major [rows, cols] matrix. */
export function transpose(m: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = m[r * cols + c];
  }
  return out;
}

/**
 * Reads a Hugging Face GPT-2 folder: `config.json` and `model.safetensors`, keys with or without a
 * `transformer.` prefix; `attn.bias` / `attn.masked_bias` buffers are ignored; the unembedding is tied.
 *
 * @example Read the fixture model
 * ```ts ignore
 * import { readGpt2Checkpoint } from "./gpt2_weights.ts";
 * const { config } = await readGpt2Checkpoint("../shared/fixtures/gpt2-sotu-tiny");
 * console.log(config.nLayers); // 4
 * ```
 *
 * @param dir The folder.
 * @returns Configuration and float32 weights.
 * @throws {Deno.errors.NotFound} When `config.json` or `model.safetensors` is missing.
 * @throws {SyntaxError} When `config.json` is not valid JSON.
 * @throws {TypeError} When a tensor is missing or its shape disagrees with `config.json`.
 */
export async function readGpt2Checkpoint(dir: string): Promise<Gpt2Checkpoint> {
  const cfgPath = join(dir, "config.json");
  const weightsPath = join(dir, "model.safetensors");
  for (const [path, hint] of [[cfgPath, "the model's config.json"], [weightsPath, "model.safetensors"]]) {
    if (!(await exists(path))) throw new Deno.errors.NotFound(`${path} is missing: a GPT-2 folder needs ${hint}`);
  }
  const config = parseGpt2Config(await readJson(cfgPath), cfgPath);
  const { tensors } = await readSafetensors(weightsPath);
  const prefix = tensors.has("wte.weight") ? "" : "transformer.";
  const { dModel: d, dMlp: m, nCtx, dVocab, nLayers } = config;

  const get = (key: string, shape: number[]): Float32Array => {
    const entry: SafetensorsEntry | undefined = tensors.get(prefix + key);
    if (!entry) throw new TypeError(`${weightsPath} has no tensor ${prefix}${key}`);
    if (entry.shape.join() !== shape.join()) {
      throw new TypeError(
        `${weightsPath} tensor ${prefix}${key} has shape [${entry.shape}]: ${cfgPath} implies [${shape}]`,
      );
    }
    return toFloat32(entry, `${weightsPath} tensor ${prefix}${key}`);
  };
  const ln = (key: string): LayerNormWeights => ({ w: get(`${key}.weight`, [d]), b: get(`${key}.bias`, [d]) });

  const blocks: Gpt2BlockWeights[] = [];
  for (let l = 0; l < nLayers; l++) {
    const h = `h.${l}`;
    const qkv = get(`${h}.attn.c_attn.weight`, [d, 3 * d]);
    const qkvBias = get(`${h}.attn.c_attn.bias`, [3 * d]);
    blocks.push({
      ln1: ln(`${h}.ln_1`),
      W_Q: columns(qkv, d, 3 * d, 0, d),
      W_K: columns(qkv, d, 3 * d, d, d),
      W_V: columns(qkv, d, 3 * d, 2 * d, d),
      b_Q: qkvBias.slice(0, d),
      b_K: qkvBias.slice(d, 2 * d),
      b_V: qkvBias.slice(2 * d),
      W_O: get(`${h}.attn.c_proj.weight`, [d, d]),
      b_O: get(`${h}.attn.c_proj.bias`, [d]),
      ln2: ln(`${h}.ln_2`),
      W_in: get(`${h}.mlp.c_fc.weight`, [d, m]),
      b_in: get(`${h}.mlp.c_fc.bias`, [m]),
      W_out: get(`${h}.mlp.c_proj.weight`, [m, d]),
      b_out: get(`${h}.mlp.c_proj.bias`, [d]),
    });
  }
  const W_E = get("wte.weight", [dVocab, d]);
  return {
    config,
    weights: {
      W_E,
      W_pos: get("wpe.weight", [nCtx, d]),
      blocks,
      lnFinal: ln("ln_f"),
      W_U: transpose(W_E, dVocab, d),
      b_U: new Float32Array(dVocab),
    },
  };
}
