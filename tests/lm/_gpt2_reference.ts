// A plain TypeScript GPT-2 forward straight from Hugging Face's modeling_gpt2 (unprocessed weights,
// LayerNorm with scale and shift, c_attn biases, gelu_new, tied unembedding): the independent reference
// the ONNX graph is checked against.
import type { Gpt2Config } from "../../core/lm/gpt2_config.ts";
import type { Gpt2Weights } from "../../core/lm/gpt2_weights.ts";

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
  cfg: Gpt2Config,
  w: Gpt2Weights,
  tokens: number[],
): { logits: Float64Array; residPre: Float64Array[][] } {
  const { dModel: d, dMlp, nHeads, dHead, dVocab, eps } = cfg;
  const T = tokens.length;
  let resid = tokens.map((t, p) => Float64Array.from({ length: d }, (_, i) => w.W_E[t * d + i] + w.W_pos[p * d + i]));
  const residPre: Float64Array[][] = [];
  for (const block of w.blocks) {
    residPre.push(resid);
    const x = resid.map((r) => layerNorm(r, block.ln1!.w, block.ln1!.b, eps));
    const q = x.map((v) => linear(v, block.W_Q, block.b_Q, d));
    const k = x.map((v) => linear(v, block.W_K, block.b_K, d));
    const v = x.map((u) => linear(u, block.W_V, block.b_V, d));
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
      const mid = linear(z[p], block.W_O, block.b_O, d).map((a, i) => a + r[i]);
      const hidden = linear(layerNorm(mid, block.ln2!.w, block.ln2!.b, eps), block.W_in, block.b_in, dMlp).map(gelu);
      return linear(hidden, block.W_out, block.b_out, d).map((o, i) => o + mid[i]);
    });
  }
  const logits = new Float64Array(T * dVocab);
  resid.forEach((r, p) => {
    const x = layerNorm(r, w.lnFinal!.w, w.lnFinal!.b, eps);
    for (let t = 0; t < dVocab; t++) {
      let s = 0;
      for (let i = 0; i < d; i++) s += x[i] * w.W_E[t * d + i];
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
