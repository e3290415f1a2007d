// A plain TypeScript GPT-2 forward straight from Hugging Face's modeling_gpt2 (unprocessed weights read from
// model.safetensors as stored, Conv1D [in, out], LayerNorm with scale and shift, c_attn biases, gelu_new, tied
// unembedding): the independent reference the ONNX graph is checked against. It shares no code with the model's
// loader beyond the safetensors reader.
import { readSafetensors, toFloat32 } from "../../core/io/safetensors.ts";

/** GPT-2's shapes, read from config.json as modeling_gpt2 reads them. */
export interface ReferenceGpt2 {
  d: number;
  dMlp: number;
  nHeads: number;
  dVocab: number;
  eps: number;
  tensor: (name: string) => Float32Array;
  nLayers: number;
}

/** Reads a GPT-2 folder's config.json and model.safetensors, unprocessed. */
export async function readReferenceGpt2(dir: string): Promise<ReferenceGpt2> {
  const cfg = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
  const file = await readSafetensors(`${dir}/model.safetensors`);
  return {
    d: cfg.n_embd,
    dMlp: cfg.n_inner ?? 4 * cfg.n_embd,
    nHeads: cfg.n_head,
    dVocab: cfg.vocab_size,
    eps: cfg.layer_norm_epsilon ?? 1e-5,
    nLayers: cfg.n_layer,
    tensor: (name) => toFloat32(file.tensors.get(name) ?? file.tensors.get(`transformer.${name}`)!, name),
  };
}

function layerNorm(x: Float64Array, w: Float32Array, b: Float32Array, eps: number): Float64Array {
  let mean = 0;
  for (const v of x) mean += v / x.length;
  let variance = 0;
  for (const v of x) variance += (v - mean) ** 2 / x.length;
  const s = Math.sqrt(variance + eps);
  return x.map((v, i) => (v - mean) / s * w[i] + b[i]);
}

function linear(x: Float64Array, w: Float32Array, b: Float32Array, out: number): Float64Array {
  const y = Float64Array.from(b);
  for (let i = 0; i < x.length; i++) {
    for (let j = 0; j < out; j++) y[j] += x[i] * w[i * out + j];
  }
  return y;
}

const gelu = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

/** Logits [pos, vocab] and the residual entering each block, for one sequence. */
export function referenceForward(
  model: ReferenceGpt2,
  tokens: number[],
): { logits: Float64Array; residPre: Float64Array[][] } {
  const { d, dMlp, nHeads, dVocab, eps, tensor } = model;
  const dHead = d / nHeads;
  const T = tokens.length;
  const wte = tensor("wte.weight"), wpe = tensor("wpe.weight");
  let resid = tokens.map((t, p) => Float64Array.from({ length: d }, (_, i) => wte[t * d + i] + wpe[p * d + i]));
  const residPre: Float64Array[][] = [];
  for (let l = 0; l < model.nLayers; l++) {
    const h = (name: string) => tensor(`h.${l}.${name}`);
    residPre.push(resid);
    const x = resid.map((r) => layerNorm(r, h("ln_1.weight"), h("ln_1.bias"), eps));
    const qkv = x.map((v) => linear(v, h("attn.c_attn.weight"), h("attn.c_attn.bias"), 3 * d));
    const q = qkv.map((r) => r.subarray(0, d));
    const k = qkv.map((r) => r.subarray(d, 2 * d));
    const v = qkv.map((r) => r.subarray(2 * d));
    const z = resid.map(() => new Float64Array(d));
    for (let h = 0; h < nHeads; h++) {
      for (let i = 0; i < T; i++) {
        const scores = Array.from({ length: i + 1 }, (_, j) => {
          let s = 0;
          for (let e = 0; e < dHead; e++) s += q[i][h * dHead + e] * k[j][h * dHead + e];
          return s / Math.sqrt(dHead);
        });
        const max = Math.max(...scores);
        const exps = scores.map((s) => Math.exp(s - max));
        const sum = exps.reduce((a, b) => a + b, 0);
        for (let j = 0; j <= i; j++) {
          for (let e = 0; e < dHead; e++) z[i][h * dHead + e] += exps[j] / sum * v[j][h * dHead + e];
        }
      }
    }
    resid = resid.map((r, p) => {
      const mid = linear(z[p], h("attn.c_proj.weight"), h("attn.c_proj.bias"), d).map((a, i) => a + r[i]);
      const hidden = linear(
        layerNorm(mid, h("ln_2.weight"), h("ln_2.bias"), eps),
        h("mlp.c_fc.weight"),
        h("mlp.c_fc.bias"),
        dMlp,
      )
        .map(gelu);
      return linear(hidden, h("mlp.c_proj.weight"), h("mlp.c_proj.bias"), d).map((o, i) => o + mid[i]);
    });
  }
  const logits = new Float64Array(T * dVocab);
  const lnW = tensor("ln_f.weight"), lnB = tensor("ln_f.bias");
  resid.forEach((r, p) => {
    const x = layerNorm(r, lnW, lnB, eps);
    for (let t = 0; t < dVocab; t++) {
      let s = 0;
      for (let i = 0; i < d; i++) s += x[i] * wte[t * d + i];
      logits[p * dVocab + t] = s;
    }
  });
  return { logits, residPre };
}

/** log_softmax over each row of [rows, n]. */
export function logSoftmax(x: ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length / n; r++) {
    let max = -Infinity;
    for (let i = 0; i < n; i++) max = Math.max(max, x[r * n + i]);
    let z = 0;
    for (let i = 0; i < n; i++) z += Math.exp(x[r * n + i] - max);
    const lse = max + Math.log(z);
    for (let i = 0; i < n; i++) out[r * n + i] = x[r * n + i] - lse;
  }
  return out;
}
