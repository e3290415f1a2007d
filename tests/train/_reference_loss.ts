// Plain float64 TypeScript of every training loss (SAE_FACTS.md "Training"), to check the WGSL
// backward kernels by finite differences. What the trainer detaches, and the piecewise choices (which
// latents fire, which are kept, which dead ones AuxK picks), are fixed at the base point: the
// finite-difference derivative of that function is the gradient the kernels must produce.
import { levelWidths, type SaeTrainingConfig, selectsByRank } from "../../core/train/sae_training_config.ts";

export type Params = Map<string, Float64Array>;

export interface Frozen {
  fires: Uint8Array; // [B, S]: f = pre (or π_mag) where set
  gate: Uint8Array; // [B, S]: gated π_gate > 0
  auxSelect: Uint8Array; // [B, S]: AuxK's chosen dead latents
  residual: Float64Array; // [B, d]: x − x̂
  ghostScale: Float64Array; // [B]
  ghostRatio: Float64Array; // [B, d]
  decoder: Float64Array; // gated: frozen W_dec
  bDec: Float64Array; // gated: frozen b_dec
}

export interface LossInput {
  cfg: SaeTrainingConfig;
  x: Float32Array;
  l1: number;
  dead: Uint8Array; // [S]
}

function kthLargest(values: number[], k: number): number {
  if (k >= values.length) return -Infinity;
  return [...values].sort((a, b) => b - a)[k - 1];
}

/** The loss at `params`; without `frozen`, also returns the choices to freeze. */
export function referenceLoss(params: Params, input: LossInput, frozen?: Frozen): { loss: number; frozen: Frozen } {
  const { cfg, x, l1, dead } = input;
  const { d_in: D, d_sae: S, architecture: arch } = cfg;
  const B = x.length / D;
  const W_enc = params.get("W_enc")!, W_dec = params.get("W_dec")!, b_dec = params.get("b_dec")!;
  const xin = new Float64Array(B * D);
  for (let i = 0; i < B * D; i++) xin[i] = x[i] - (cfg.apply_b_dec_to_input ? b_dec[i % D] : 0);
  const encode = (w: (d: number, j: number) => number, bias: Float64Array) => {
    const out = new Float64Array(B * S);
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < S; j++) {
        let s = bias[j];
        for (let d = 0; d < D; d++) s += xin[b * D + d] * w(d, j);
        out[b * S + j] = s;
      }
    }
    return out;
  };
  const pre = encode((d, j) => W_enc[d * S + j], params.get(arch === "gated" ? "b_gate" : "b_enc")!);
  const r = params.get("r_mag");
  const preMag = arch === "gated" ? encode((d, j) => W_enc[d * S + j] * Math.exp(r![j]), params.get("b_mag")!) : pre;
  const base = !frozen;
  const fz: Frozen = frozen ?? {
    fires: new Uint8Array(B * S),
    gate: new Uint8Array(B * S),
    auxSelect: new Uint8Array(B * S),
    residual: new Float64Array(B * D),
    ghostScale: new Float64Array(B),
    ghostRatio: new Float64Array(B * D),
    decoder: Float64Array.from(W_dec),
    bDec: Float64Array.from(b_dec),
  };
  if (base) {
    const theta = params.get("log_threshold");
    const batchT = arch === "batchtopk" || arch === "matryoshka_batchtopk" ? kthLargest([...pre], cfg.k * B) : 0;
    for (let b = 0; b < B; b++) {
      const row = [...pre.subarray(b * S, (b + 1) * S)];
      const t = arch === "topk" ? kthLargest(row, cfg.k) : batchT;
      for (let j = 0; j < S; j++) {
        const i = b * S + j, h = pre[i];
        fz.gate[i] = h > 0 ? 1 : 0;
        fz.fires[i] = arch === "jumprelu"
          ? (h > Math.exp(theta![j]) ? 1 : 0)
          : arch === "gated"
          ? (h > 0 && preMag[i] > 0 ? 1 : 0)
          : selectsByRank(arch)
          ? (h > 0 && h >= t ? 1 : 0)
          : (h > 0 ? 1 : 0);
      }
    }
  }
  const f = new Float64Array(B * S);
  for (let i = 0; i < B * S; i++) f[i] = fz.fires[i] ? preMag[i] : 0;
  const decode = (acts: Float64Array, width: number, w: Float64Array, bias: Float64Array | undefined) => {
    const out = new Float64Array(B * D);
    for (let b = 0; b < B; b++) {
      for (let d = 0; d < D; d++) {
        let s = bias ? bias[d] : 0;
        for (let j = 0; j < width; j++) s += acts[b * S + j] * w[j * D + d];
        out[b * D + d] = s;
      }
    }
    return out;
  };
  const sq = (a: Float64Array, target: Float64Array) => a.reduce((s, v, i) => s + (v - target[i]) ** 2, 0);
  const x64 = Float64Array.from(x);
  let loss = 0;
  const widths = levelWidths(cfg);
  let xhat = new Float64Array(0);
  for (const w of widths) {
    xhat = decode(f, w, W_dec, b_dec);
    loss += sq(xhat, x64) / B;
  }
  const norms = Array.from({ length: S }, (_, j) => Math.hypot(...W_dec.subarray(j * D, (j + 1) * D)));
  if (arch === "standard") {
    // SAELens's older scale_sparsity_penalty_by_decoder_norm false: a plain L1 on f
    const weight = (j: number) => cfg.scale_sparsity_penalty_by_decoder_norm ? norms[j] : 1;
    // lp_norm: each token's p-norm of the weighted features, summed directly (no rescaling, unlike the engines)
    for (let b = 0; b < B; b++) {
      let sum = 0;
      for (let j = 0; j < S; j++) sum += (f[b * S + j] * weight(j)) ** cfg.lp_norm;
      loss += l1 / B * sum ** (1 / cfg.lp_norm);
    }
  }
  if (arch === "jumprelu") loss += l1 / B * fz.fires.reduce((a, v) => a + v, 0);
  if (arch === "gated") {
    const gateActs = new Float64Array(B * S);
    for (let i = 0; i < B * S; i++) gateActs[i] = fz.gate[i] ? pre[i] : 0;
    for (let i = 0; i < B * S; i++) loss += l1 / B * gateActs[i] * norms[i % S];
    loss += sq(decode(gateActs, S, fz.decoder, fz.bDec), x64) / B;
  }
  if (base) { for (let i = 0; i < B * D; i++) fz.residual[i] = x[i] - xhat[i]; }
  const deadCount = dead.reduce((a, b) => a + b, 0);
  if (selectsByRank(arch) && deadCount > 0) {
    const kAux = Math.min(Math.floor(D / 2), deadCount);
    if (base) {
      for (let b = 0; b < B; b++) {
        const cand = [...pre.subarray(b * S, (b + 1) * S)].filter((_, j) => dead[j]);
        const t = kthLargest(cand, kAux);
        for (let j = 0; j < S; j++) fz.auxSelect[b * S + j] = dead[j] && pre[b * S + j] >= t ? 1 : 0;
      }
    }
    const auxActs = pre.map((h, i) => fz.auxSelect[i] ? h : 0);
    const scale = cfg.aux_loss_coefficient * Math.min(deadCount / Math.floor(D / 2), 1);
    loss += scale * sq(decode(auxActs, S, W_dec, undefined), fz.residual) / B;
  }
  if (arch === "standard" && cfg.use_ghost_grads && deadCount > 0) {
    const ghostActs = pre.map((h, i) => dead[i % S] ? Math.exp(h) : 0);
    const g0 = decode(ghostActs, S, W_dec, undefined);
    for (let b = 0; b < B; b++) {
      if (base) {
        let rr = 0, gg = 0;
        for (let d = 0; d < D; d++) rr += fz.residual[b * D + d] ** 2, gg += g0[b * D + d] ** 2;
        fz.ghostScale[b] = Math.sqrt(rr) / (2 * Math.sqrt(gg) + 1e-6);
      }
      for (let d = 0; d < D; d++) {
        const i = b * D + d;
        const e = (fz.ghostScale[b] * g0[i] - fz.residual[i]) ** 2;
        if (base) fz.ghostRatio[i] = fz.residual[i] ** 2 / (e + 1e-6);
        loss += fz.ghostRatio[i] * e / (B * D);
      }
    }
  }
  return { loss, frozen: fz };
}

/**
 * JumpReLU's straight-through ∂loss/∂log θ (not a derivative of the loss itself):
 * Σ_b K·θ·(−(θ/ε)·∂loss/∂f − λ/(ε·B)), K = 1[|pre − θ| < ε/2].
 */
export function jumpReluThresholdGrad(params: Params, input: LossInput): Float64Array {
  const { cfg, x, l1 } = input;
  const { d_in: D, d_sae: S, jumprelu_bandwidth: eps } = cfg;
  const B = x.length / D;
  const W_enc = params.get("W_enc")!, W_dec = params.get("W_dec")!, b_dec = params.get("b_dec")!;
  const b_enc = params.get("b_enc")!, logT = params.get("log_threshold")!;
  const out = new Float64Array(S);
  for (let b = 0; b < B; b++) {
    const xin = Array.from({ length: D }, (_, d) => x[b * D + d] - (cfg.apply_b_dec_to_input ? b_dec[d] : 0));
    const pre = Array.from({ length: S }, (_, j) => xin.reduce((s, v, d) => s + v * W_enc[d * S + j], b_enc[j]));
    const f = pre.map((h, j) => h > Math.exp(logT[j]) ? h : 0);
    const dx = Array.from(
      { length: D },
      (_, d) => 2 / B * (f.reduce((s, v, j) => s + v * W_dec[j * D + d], b_dec[d]) - x[b * D + d]),
    );
    for (let j = 0; j < S; j++) {
      const theta = Math.exp(logT[j]);
      if (Math.abs(pre[j] - theta) >= eps / 2) continue;
      const df = dx.reduce((s, v, d) => s + v * W_dec[j * D + d], 0);
      out[j] += theta * (-(theta / eps) * df - l1 / (eps * B));
    }
  }
  return out;
}
