/**
 * TopK SAE: keep the k largest of h = x' W_enc + b_enc per token, ReLU them, zero the rest.
 *
 * @module
 */

import type { Architecture, SaeWeights } from "./architecture.ts";
import epilogueBias from "../../shaders/epilogue_bias.wgsl" with { type: "text" };

/**
 * With `rescale_acts_by_decoder_norm`, selection runs on h · ‖W_dec,i‖ and decoding divides by it:
 * the same as W_enc and b_enc scaled by the norms and a unit-norm decoder (SAELens's fold).
 */
function foldDecoderNorms(w: SaeWeights): SaeWeights {
  const [dSae, dIn] = w.W_dec.shape;
  const norms = new Float32Array(dSae);
  const wDec = new Float32Array(w.W_dec.data);
  for (let i = 0; i < dSae; i++) {
    let sq = 0;
    for (let j = 0; j < dIn; j++) sq += wDec[i * dIn + j] ** 2;
    norms[i] = Math.sqrt(sq);
    for (let j = 0; j < dIn; j++) wDec[i * dIn + j] /= norms[i];
  }
  const wEnc = new Float32Array(w.W_enc.data);
  for (let r = 0; r < dIn; r++) for (let i = 0; i < dSae; i++) wEnc[r * dSae + i] *= norms[i];
  const bEnc = w.b_enc.data.map((b, i) => b * norms[i]);
  return {
    ...w,
    W_enc: { shape: w.W_enc.shape, data: wEnc },
    W_dec: { shape: w.W_dec.shape, data: wDec },
    b_enc: { shape: w.b_enc.shape, data: bEnc },
  };
}

/** The TopK architecture. */
export const topk: Architecture = {
  name: "topk",
  latentVectors: ["b_enc"],
  encodeEpilogue: { name: "epilogue_bias", code: epilogueBias },
  epilogueVectors: (w) => [w.b_enc.data],
  hiddenPre: { source: { name: "epilogue_bias", code: epilogueBias }, vectors: [0] },
  topK: (cfg) => cfg.k,
  checkConfig(cfg, path) {
    if (cfg.k === undefined) {
      throw new TypeError(`${path}: field k is missing: expected a positive integer for a topk SAE`);
    }
    if (cfg.k > cfg.d_sae) throw new RangeError(`${path}: field k is ${cfg.k}: expected at most d_sae (${cfg.d_sae})`);
  },
  kernelWeights: (cfg, w) => cfg.rescale_acts_by_decoder_norm ? foldDecoderNorms(w) : w,
  cpu: {
    vectors: (w) => ({ b_enc: w.b_enc.data }),
    hiddenPre: (g, xw) => g.node("Add", [xw, g.input("b_enc", ["d_sae"])]),
  },
};
