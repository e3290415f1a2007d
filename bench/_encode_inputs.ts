// What the encode benchmarks (bench/encode.ts on WebGPU, bench/cpu.ts on the CPU engine) encode: random weights at
// the scale of a trained SAE and random activations, the same shapes as encode_torch.py's.
import type { SaeWeights } from "../core/sae/architecture.ts";

/** n values uniform in [-scale, scale). */
export function random(n: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (Math.random() * 2 - 1) * scale;
  return out;
}

/** Weights of a d_in × d_sae SAE (standard and TopK read the same tensors). */
export function randomSaeWeights(dIn: number, dSae: number): SaeWeights {
  return {
    W_enc: { shape: [dIn, dSae], data: random(dIn * dSae, 1 / Math.sqrt(dIn)) },
    W_dec: { shape: [dSae, dIn], data: random(dIn * dSae, 0.05) },
    b_enc: { shape: [dSae], data: random(dSae, 0.1) },
    b_dec: { shape: [dIn], data: random(dIn, 0.1) },
  };
}
