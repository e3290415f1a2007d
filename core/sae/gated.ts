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
  cpu: {
    vectors: (w) => ({ b_gate: w.b_gate.data, r_mag_exp: w.r_mag.data.map(Math.exp), b_mag: w.b_mag.data }),
    hiddenPre: (g, xw) =>
      g.node("Add", [g.node("Mul", [xw, g.input("r_mag_exp", ["d_sae"])]), g.input("b_mag", ["d_sae"])]),
    activation: (g, pre, xw) =>
      g.node("Where", [
        g.node("Greater", [g.node("Add", [xw(), g.input("b_gate", ["d_sae"])]), g.scalar(0)]),
        g.node("Relu", [pre]),
        g.scalar(0),
      ]),
  },
};
