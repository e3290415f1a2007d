/**
 * Training-step throughput (tokens/s) of the WGSL trainer next to PyTorch CPU doing the same step in
 * the same run: forward, loss, backward, clipping and Adam for a standard (L1) and a TopK SAE, TopK both from
 * its kept latents (the default) and with the dense products, against PyTorch's dense TopK step.
 * Default sizes are the issue's: d_in 768, d_sae 24576, 4096 tokens per step, k = 32.
 *
 * Run: `deno task bench:train [d_in d_sae tokens steps]` (needs Debian's python3-torch and
 * libopenblas0-pthread for the baseline).
 *
 * @module
 */

import { getGpu } from "../core/gpu/device.ts";
import { mulberry32 } from "../core/util/mulberry32.ts";
import { BenchEnvironment } from "./_environment.ts";
import { stepFlopPerToken } from "./_flops.ts";
import { torchBaseline } from "./_torch.ts";
import { stepRate } from "./_step_rate.ts";

const [D_IN, D_SAE, TOKENS, STEPS] = Deno.args.length === 4 ? Deno.args.map(Number) : [768, 24576, 4096, 2];
const K = 32;

function trainerRate(architecture: "standard" | "topk", x: Float32Array, sparse = true): Promise<number> {
  return stepRate(gpu, { architecture, dIn: D_IN, dSae: D_SAE, k: K, x }, STEPS, { sparse });
}

const env = await BenchEnvironment.measure();
const gpu = await getGpu();
for (const line of env.describe(`WGSL trainer on ${gpu.adapter}`)) console.log(line);
const rng = mulberry32(1);
const x = Float32Array.from({ length: TOKENS * D_IN }, () => rng() * 2 - 1);
console.log(`training step d_in ${D_IN}, d_sae ${D_SAE}, ${TOKENS} tokens on ${gpu.adapter}`);
const ours = {
  standard: await trainerRate("standard", x),
  topk: await trainerRate("topk", x),
  "topk dense": await trainerRate("topk", x, false),
};
const torch = await torchBaseline<{ standard: number; topk: number; threads: number }>("train_torch.py", [
  D_IN,
  D_SAE,
  TOKENS,
  K,
  STEPS,
]);
const flops = stepFlopPerToken(D_IN, D_SAE);
console.log("variant               sae tokens/s   sae GFLOP/s   torch-cpu tokens/s   sae / torch   torch-cpu GFLOP/s");
for (const variant of ["standard", "topk", "topk dense"] as const) {
  const theirs = typeof torch === "string" ? undefined : torch[variant === "standard" ? "standard" : "topk"];
  console.log(
    [
      (variant === "standard" ? variant : `${variant} (k=${K})`).padEnd(20),
      ours[variant].toFixed(0).padStart(14),
      (ours[variant] * flops / 1e9).toFixed(1).padStart(13),
      (theirs?.toFixed(0) ?? "n/a").padStart(20),
      (theirs ? env.ratio(ours[variant], theirs) : "n/a").padStart(13),
      (theirs ? env.achieved(theirs * flops, 1) : "n/a").padStart(19),
    ].join(" "),
  );
}
console.log(`TopK from the kept latents / dense: ${(ours.topk / ours["topk dense"]).toFixed(2)}x`);
if (typeof torch === "string") console.log(`PyTorch baseline unavailable: ${torch}`);
else console.log(`best of ${STEPS} steps each, same run`);
console.log(env.end());
