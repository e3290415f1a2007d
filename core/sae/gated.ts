/**
 * Gated SAE: f = 1[x' W_enc + b_gate > 0] · ReLU(x' (W_enc ⊙ exp(r_mag)) + b_mag).
 *
 * @module
 */

import type { Architecture } from "./architecture.ts";
import encodeGated from "../../shaders/encode_gated.wgsl" with { type: "text" };
import epilogueBias from "../../shaders/epilogue_bias.wgsl" with { type: "text" };
import epilogueScaleBias from "../../shaders/epilogue_scale_bias.wgsl" with { type: "text" };
import activationGated from "../../shaders/activation_gated.wgsl" with { type: "text" };

/** The Gated architecture. */
export const gated: Architecture = {
  name: "gated",
  latentVectors: ["b_gate", "r_mag", "b_mag"],
  encodeEpilogue: { name: "encode_gated", code: encodeGated },
  epilogueVectors: (w) => [w.b_gate.data, w.r_mag.data.map(Math.exp), w.b_mag.data],
  hiddenPre: { source: { name: "epilogue_scale_bias", code: epilogueScaleBias }, vectors: [1, 2] },
  activation: {
    source: { name: "activation_gated", code: activationGated },
    vectors: [],
    aux: { source: { name: "epilogue_bias", code: epilogueBias }, vectors: [0] },
  },
  topK: () => undefined,
  checkConfig: () => {},
  kernelWeights: (_cfg, w) => w,
};
