/**
 * Encode throughput (tokens/s) of the cpu device (onnxruntime-node's native kernels) next to PyTorch
 * CPU doing the same math in the same run: d_in 768, d_sae 24576, 4096 tokens, standard (ReLU) and
 * TopK (k = 32); `ratio` is sae / PyTorch (target >= 1.0).
 *
 * Run: `deno task bench:cpu` (needs Debian's python3-torch and libopenblas0-pthread for the baseline). Run it on a
 * quiet machine: the load average it prints includes whatever else runs.
 *
 * @module
 */

import { SAE } from "../core/sae/sae.ts";
import { parseSaeLensConfig } from "../core/sae/config.ts";
import type { CpuTensor } from "../core/cpu/cpu_tensor.ts";
import { PYTHON, torchBaseline } from "./_torch.ts";
import { random, randomSaeWeights } from "./_encode_inputs.ts";

const [D_IN, D_SAE, TOKENS, K] = [768, 24576, 4096, 32];

/** Best of three encodes after a warm-up, timed until the features are in host memory. */
async function saeRate(sae: SAE, x: Float32Array): Promise<number> {
  await sae.encode({ shape: [16, D_IN], data: x.subarray(0, 16 * D_IN) }).read(); // create the session
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const start = performance.now();
    // values(): the features as computed, without read()'s defensive copy (PyTorch's timing has none either)
    await (sae.encode({ shape: [TOKENS, D_IN], data: x }) as CpuTensor).values();
    best = Math.min(best, (performance.now() - start) / 1000);
  }
  return TOKENS / best;
}

const weights = randomSaeWeights(D_IN, D_SAE);
const x = random(TOKENS * D_IN, 1);
const ours: Record<string, number> = {};
let device = "";
for (const architecture of ["standard", "topk"] as const) {
  const cfg = parseSaeLensConfig({ architecture, d_in: D_IN, d_sae: D_SAE, k: K, metadata: {} }, "bench");
  const sae = await SAE.fromWeights(cfg, weights, { device: "cpu" });
  device = sae.deviceDescription;
  ours[architecture] = await saeRate(sae, x);
  sae.destroy();
}
const torch = await torchBaseline<{ standard: number; topk: number; threads: number }>("encode_torch.py", [
  D_IN,
  D_SAE,
  TOKENS,
  K,
]);
// Deno reads /proc only with --allow-all; the load average comes from --allow-sys=loadavg instead.
const load = Deno.permissions.querySync({ name: "sys", kind: "loadavg" }).state === "granted"
  ? Deno.loadavg()[0].toFixed(2)
  : "n/a (grant --allow-sys=loadavg)";
console.log(`encode d_in ${D_IN}, d_sae ${D_SAE}, ${TOKENS} tokens; sae on ${device}; load average ${load}`);
console.log("variant         sae cpu tokens/s   torch-cpu tokens/s   ratio");
for (const variant of ["standard", "topk"] as const) {
  const theirs = typeof torch === "string" ? undefined : torch[variant];
  console.log(
    [
      (variant === "topk" ? `topk (k=${K})` : variant).padEnd(14),
      ours[variant].toFixed(0).padStart(17),
      (theirs?.toFixed(0) ?? "n/a").padStart(20),
      `ratio ${theirs ? (ours[variant] / theirs).toFixed(2) : "n/a"}`.padStart(11),
    ].join(" "),
  );
}
if (typeof torch === "string") console.log(`PyTorch baseline unavailable (${PYTHON}): ${torch}`);
else console.log(`PyTorch ${torch.threads} threads, OpenBLAS; best of 3 after a warm-up, same process tree`);
