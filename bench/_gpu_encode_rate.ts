// The WGSL encode's tokens/s as bench/encode.ts and bench/device.ts time it: best of `runs` after a warm-up that
// compiles the kernels, each timed until the GPU has finished the features (left on the GPU, as PyTorch CUDA's are).
import type { SaeWeights } from "../core/sae/architecture.ts";
import { parseSaeLensConfig } from "../core/sae/config.ts";
import type { Gpu } from "../core/gpu/device.ts";
import { SAE } from "../core/sae/sae.ts";

/** Tokens per second of `architecture`'s encode of x [tokens, dIn] on `gpu`. */
export async function gpuEncodeRate(
  gpu: Gpu,
  architecture: "standard" | "topk",
  weights: SaeWeights,
  x: Float32Array,
  { dIn, dSae, k, runs }: { dIn: number; dSae: number; k: number; runs: number },
): Promise<number> {
  const cfg = parseSaeLensConfig({ architecture, d_in: dIn, d_sae: dSae, k, metadata: {} }, "bench");
  const sae = await SAE.fromWeights(cfg, weights, { gpu });
  try {
    await sae.encode({ shape: [16, dIn], data: x.subarray(0, 16 * dIn) }).read(); // compile kernels
    const tokens = x.length / dIn;
    let best = Infinity;
    for (let i = 0; i < runs; i++) {
      const start = performance.now();
      const features = sae.encode({ shape: [tokens, dIn], data: x });
      await gpu.device.queue.onSubmittedWorkDone();
      best = Math.min(best, (performance.now() - start) / 1000);
      features.destroy();
    }
    return tokens / best;
  } finally {
    sae.destroy();
  }
}
