/**
 * Encode throughput (tokens/s) of the WGSL kernels next to PyTorch CPU doing the same math in the
 * same run: d_in 768, d_sae 24576, 4096 tokens, standard (ReLU) and TopK (k = 32).
 *
 * Run: `deno task bench` (needs Debian's python3-torch and libopenblas0-pthread for the baseline).
 *
 * @module
 */

import { SAE } from "../core/sae/sae.ts";
import { parseSaeLensConfig } from "../core/sae/config.ts";
import type { SaeWeights } from "../core/sae/architecture.ts";
import { getGpu } from "../core/gpu/device.ts";
import { PYTHON, torchBaseline } from "./_torch.ts";
import { random, randomSaeWeights } from "./_encode_inputs.ts";

const [D_IN, D_SAE, TOKENS, K] = [768, 24576, 4096, 32];

async function saeRate(architecture: "standard" | "topk", weights: SaeWeights, x: Float32Array): Promise<number> {
  const cfg = parseSaeLensConfig({ architecture, d_in: D_IN, d_sae: D_SAE, k: K, metadata: {} }, "bench");
  const sae = await SAE.fromWeights(cfg, weights, { gpu });
  await sae.encode({ shape: [16, D_IN], data: x.subarray(0, 16 * D_IN) }).read(); // compile kernels
  let best = Infinity;
  for (let i = 0; i < 2; i++) {
    const start = performance.now();
    const features = sae.encode({ shape: [TOKENS, D_IN], data: x });
    await sae.gpu.device.queue.onSubmittedWorkDone();
    best = Math.min(best, (performance.now() - start) / 1000);
    features.destroy();
  }
  sae.destroy();
  return TOKENS / best;
}

const gpu = await getGpu();
const weights = randomSaeWeights(D_IN, D_SAE);
const x = random(TOKENS * D_IN, 1);
console.log(`encode d_in ${D_IN}, d_sae ${D_SAE}, ${TOKENS} tokens on ${gpu.adapter}`);
const ours = { standard: await saeRate("standard", weights, x), topk: await saeRate("topk", weights, x) };
const torch = await torchBaseline<{ standard: number; topk: number; threads: number }>("encode_torch.py", [
  D_IN,
  D_SAE,
  TOKENS,
  K,
]);
const flops = 2 * D_IN * D_SAE;
console.log("variant         sae tokens/s   sae GFLOP/s   torch-cpu tokens/s   sae / torch");
for (const variant of ["standard", "topk"] as const) {
  const theirs = typeof torch === "string" ? undefined : torch[variant];
  console.log(
    [
      (variant === "topk" ? `topk (k=${K})` : variant).padEnd(14),
      ours[variant].toFixed(0).padStart(14),
      (ours[variant] * flops / 1e9).toFixed(1).padStart(13),
      (theirs?.toFixed(0) ?? "n/a").padStart(20),
      (theirs ? (ours[variant] / theirs).toFixed(3) : "n/a").padStart(13),
    ].join(" "),
  );
}
if (typeof torch === "string") console.log(`PyTorch baseline unavailable (${PYTHON}): ${torch}`);
else console.log(`PyTorch ${torch.threads} threads, OpenBLAS; best of runs, same process tree`);
