/**
 * Encode throughput (tokens/s) of the WGSL kernels next to PyTorch CPU doing the same math in the
 * same run: d_in 768, d_sae 24576, 4096 tokens, standard (ReLU) and TopK (k = 32).
 *
 * Run: `deno task bench` (needs Debian's python3-torch and libopenblas0-pthread for the baseline).
 *
 * @module
 */

import { getGpu } from "../core/gpu/device.ts";
import { BenchEnvironment } from "./_environment.ts";
import { encodeFlopPerToken } from "./_flops.ts";
import { torchBaseline } from "./_torch.ts";
import { random, randomSaeWeights } from "./_encode_inputs.ts";
import { gpuEncodeRate } from "./_gpu_encode_rate.ts";

const [D_IN, D_SAE, TOKENS, K] = [768, 24576, 4096, 32];

const env = await BenchEnvironment.measure();
const gpu = await getGpu();
for (const line of env.describe(`WGSL kernels on ${gpu.adapter}`)) console.log(line);
const weights = randomSaeWeights(D_IN, D_SAE);
const x = random(TOKENS * D_IN, 1);
console.log(`encode d_in ${D_IN}, d_sae ${D_SAE}, ${TOKENS} tokens on ${gpu.adapter}`);
const sizes = { dIn: D_IN, dSae: D_SAE, k: K, runs: 2 };
const ours = {
  standard: await gpuEncodeRate(gpu, "standard", weights, x, sizes),
  topk: await gpuEncodeRate(gpu, "topk", weights, x, sizes),
};
const torch = await torchBaseline<{ standard: number; topk: number; threads: number }>("encode_torch.py", [
  D_IN,
  D_SAE,
  TOKENS,
  K,
]);
const flops = encodeFlopPerToken(D_IN, D_SAE);
console.log("variant         sae tokens/s   sae GFLOP/s   torch-cpu tokens/s   sae / torch   torch-cpu GFLOP/s");
for (const variant of ["standard", "topk"] as const) {
  const theirs = typeof torch === "string" ? undefined : torch[variant];
  console.log(
    [
      (variant === "topk" ? `topk (k=${K})` : variant).padEnd(14),
      ours[variant].toFixed(0).padStart(14),
      (ours[variant] * flops / 1e9).toFixed(1).padStart(13),
      (theirs?.toFixed(0) ?? "n/a").padStart(20),
      (theirs ? env.ratio(ours[variant], theirs) : "n/a").padStart(13),
      (theirs ? env.achieved(theirs * flops, 1) : "n/a").padStart(19),
    ].join(" "),
  );
}
if (typeof torch === "string") console.log(`PyTorch baseline unavailable: ${torch}`);
console.log(env.end());
