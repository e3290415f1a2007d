/**
 * JumpReLU SAE: f = ReLU(h) · 1[h > θ] with h = x' W_enc + b_enc. BatchTopK and Matryoshka SAEs are
 * saved as this architecture with their learned threshold.
 *
 * @module
 */

import type { Architecture } from "./architecture.ts";
import encodeJumpRelu from "../../shaders/encode_jumprelu.wgsl" with { type: "text" };
import epilogueBias from "../../shaders/epilogue_bias.wgsl" with { type: "text" };
import activationJumpRelu from "../../shaders/activation_jumprelu.wgsl" with { type: "text" };

/** The JumpReLU architecture. */
export const jumprelu: Architecture = {
  name: "jumprelu",
  latentVectors: ["b_enc", "threshold"],
  encodeEpilogue: { name: "encode_jumprelu", code: encodeJumpRelu },
  epilogueVectors: (w) => [w.b_enc.data, w.threshold.data],
  hiddenPre: { source: { name: "epilogue_bias", code: epilogueBias }, vectors: [0] },
  activation: { source: { name: "activation_jumprelu", code: activationJumpRelu }, vectors: [1] },
  topK: () => undefined,
  checkConfig: () => {},
  kernelWeights: (_cfg, w) => w,
  cpu: {
    vectors: (w) => ({ b_enc: w.b_enc.data, threshold: w.threshold.data }),
    hiddenPre: (g, xw) => g.node("Add", [xw, g.input("b_enc", ["d_sae"])]),
    activation: (g, pre) =>
      g.node("Where", [
        g.node("Greater", [pre, g.input("threshold", ["d_sae"])]),
        g.node("Relu", [pre]),
        g.scalar(0),
      ]),
  },
};
