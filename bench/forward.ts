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
import { writeRandomGpt2 } from "./_random_gpt2.ts";
import { PYTHON, torchBaseline } from "./_torch.ts";

const CFG = { nLayers: 12, nHeads: 12, dModel: 768, nCtx: 1024, dVocab: 50257 };
const [BATCH, POS] = [4, 128];
const BACKENDS = (Deno.env.get("SAE_BENCH_BACKENDS") ?? "node,web,webgpu").split(",") as Backend[];

const dir = await Deno.makeTempDir({ prefix: "sae-bench-forward-" });
await writeRandomGpt2(dir, {
  nLayer: CFG.nLayers,
  dModel: CFG.dModel,
  nHead: CFG.nHeads,
  vocab: CFG.dVocab,
  nCtx: CFG.nCtx,
});
const tokens = Array.from(
  { length: BATCH },
  () => Array.from({ length: POS }, () => Math.floor(Math.random() * 50000)),
);
console.log(`GPT-2 small shapes (random weights), ${BATCH} × ${POS} tokens, logits [${BATCH}, ${POS}, ${CFG.dVocab}]`);
const ours: [string, number][] = [];
for (const backend of BACKENDS) {
  const model = await HookedTransformer.load(dir, { backend, processing: false });
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

await Deno.remove(dir, { recursive: true });
