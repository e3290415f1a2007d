/**
 * Gated SAE: f = 1[x' W_enc + b_gate > 0] · ReLU(x' (W_enc ⊙ exp(r_mag)) + b_mag).
 *
 * @module
 */

import type { Architecture } from "./architecture.ts";
import encodeGated from "../../shaders/encode_gated.wgsl" with { type: "text" };

/** The Gated architecture. */
export const gated: Architecture = {
  name: "gated",
  latentVectors: ["b_gate", "r_mag", "b_mag"],
  encodeEpilogue: { name: "encode_gated", code: encodeGated },
  epilogueVectors: (w) => [w.b_gate.data, w.r_mag.data.map(Math.exp), w.b_mag.data],
  topK: () => undefined,
  checkConfig: () => {},
  kernelWeights: (_cfg, w) => w,
};
