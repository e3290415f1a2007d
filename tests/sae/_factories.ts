// Random SAEs of each architecture, and the SAELens math they must reproduce, in plain TypeScript.
import type { SaeWeights } from "../../core/sae/architecture.ts";
import { parseSaeLensConfig, type SaeConfig } from "../../core/sae/config.ts";
import { matmulRef, randomArray, topkRef } from "../_reference.ts";

export function makeConfig(overrides: Partial<SaeConfig> & { d_in: number; d_sae: number }): SaeConfig {
  return { ...parseSaeLensConfig({ architecture: "standard", metadata: {}, ...overrides }, "test cfg"), ...overrides };
}

export function makeWeights(cfg: SaeConfig, seed = 1): SaeWeights {
  const { d_in: dIn, d_sae: dSae } = cfg;
  const v = (n: number, s: number, scale: number) => ({ shape: [n], data: randomArray(n, seed * 100 + s, scale) });
  const w: SaeWeights = {
    W_enc: { shape: [dIn, dSae], data: randomArray(dIn * dSae, seed, 1 / Math.sqrt(dIn)) },
    W_dec: { shape: [dSae, dIn], data: randomArray(dIn * dSae, seed + 1, 0.3) },
    b_dec: v(dIn, 2, 0.2),
  };
  if (cfg.architecture === "gated") {
    Object.assign(w, { b_gate: v(dSae, 3, 0.3), r_mag: v(dSae, 4, 0.5), b_mag: v(dSae, 5, 0.3) });
  } else w.b_enc = v(dSae, 3, 0.3);
  if (cfg.architecture === "jumprelu") {
    w.threshold = { shape: [dSae], data: randomArray(dSae, seed + 6, 0.2).map(Math.abs) };
  }
  return w;
}

/** SAELens's hidden pre-activation (hook_sae_acts_pre; Gated: the magnitude path's), normalize none. */
export function hiddenPreRef(cfg: SaeConfig, w: SaeWeights, x: Float32Array): Float64Array {
  const rows = x.length / cfg.d_in, n = cfg.d_sae;
  const xIn = cfg.apply_b_dec_to_input ? x.map((v, i) => v - w.b_dec.data[i % cfg.d_in]) : x;
  if (cfg.architecture === "gated") {
    const scaled = w.W_enc.data.map((v, i) => v * Math.exp(w.r_mag.data[i % n]));
    return matmulRef(xIn, scaled, rows, cfg.d_in, n).map((v, i) => v + w.b_mag.data[i % n]);
  }
  const h = matmulRef(xIn, w.W_enc.data, rows, cfg.d_in, n);
  const norms = Array.from(
    { length: n },
    (_, i) =>
      cfg.rescale_acts_by_decoder_norm ? Math.hypot(...w.W_dec.data.slice(i * cfg.d_in, (i + 1) * cfg.d_in)) : 1,
  );
  return h.map((v, i) => (v + w.b_enc.data[i % n]) * norms[i % n]);
}

/** SAELens's activation of a hidden pre-activation (Gated's gate reads x), normalize none. */
export function activationRef(cfg: SaeConfig, w: SaeWeights, pre: ArrayLike<number>, x: Float32Array): Float64Array {
  const n = cfg.d_sae, rows = pre.length / n;
  const p = Float64Array.from(pre);
  switch (cfg.architecture) {
    case "standard":
      return p.map((v) => Math.max(v, 0));
    case "jumprelu":
      return p.map((v, i) => v > w.threshold.data[i % n] ? Math.max(v, 0) : 0);
    case "gated": {
      const xIn = cfg.apply_b_dec_to_input ? x.map((v, i) => v - w.b_dec.data[i % cfg.d_in]) : x;
      const gate = matmulRef(xIn, w.W_enc.data, rows, cfg.d_in, n);
      return p.map((v, i) => gate[i] + w.b_gate.data[i % n] > 0 ? Math.max(v, 0) : 0);
    }
    case "topk":
      return topkRef(p, rows, n, cfg.k!);
  }
  throw new Error(`no reference for ${cfg.architecture}`);
}

/** SAELens encode for the architectures here (normalize none). */
export function encodeRef(cfg: SaeConfig, w: SaeWeights, x: Float32Array): Float64Array {
  return activationRef(cfg, w, hiddenPreRef(cfg, w, x), x);
}

/** SAELens decode (normalize none). */
export function decodeRef(cfg: SaeConfig, w: SaeWeights, f: ArrayLike<number>): Float64Array {
  const rows = f.length / cfg.d_sae;
  let features = Float32Array.from(f);
  if (cfg.rescale_acts_by_decoder_norm) {
    const norms = Array.from(
      { length: cfg.d_sae },
      (_, i) => Math.hypot(...w.W_dec.data.slice(i * cfg.d_in, (i + 1) * cfg.d_in)),
    );
    features = features.map((v, i) => v / norms[i % cfg.d_sae]);
  }
  return matmulRef(features, w.W_dec.data, rows, cfg.d_sae, cfg.d_in).map((v, i) => v + w.b_dec.data[i % cfg.d_in]);
}

/** Architectures and options every device must agree on. */
export const ARCHITECTURE_CASES: (Partial<SaeConfig> & { d_in: number; d_sae: number })[] = [
  { architecture: "standard", d_in: 37, d_sae: 300 },
  { architecture: "standard", d_in: 1, d_sae: 8, apply_b_dec_to_input: false },
  { architecture: "topk", d_in: 64, d_sae: 1000, k: 7 },
  { architecture: "topk", d_in: 10, d_sae: 50, k: 5, rescale_acts_by_decoder_norm: true },
  { architecture: "jumprelu", d_in: 129, d_sae: 257 },
  { architecture: "gated", d_in: 31, d_sae: 96 },
];

/** Fails unless max |actual − expected| ≤ rel · max(1, max |expected|). */
export function assertRelativelyClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  rel: number,
  what: string,
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${what}: ${actual.length} values, expected ${expected.length}`);
  }
  let scale = 1, diff = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]));
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
  }
  if (!(diff <= rel * scale)) throw new Error(`${what}: max abs difference ${diff} exceeds ${rel} × ${scale}`);
}
