/**
 * Standard SAE: f = ReLU(x' W_enc + b_enc).
 *
 * @module
 */

import type { Architecture } from "./architecture.ts";
import encodeRelu from "../../shaders/encode_relu.wgsl" with { type: "text" };
import epilogueBias from "../../shaders/epilogue_bias.wgsl" with { type: "text" };
import activationRelu from "../../shaders/activation_relu.wgsl" with { type: "text" };

/** The standard (ReLU) architecture. */
export const standard: Architecture = {
  name: "standard",
  latentVectors: ["b_enc"],
  encodeEpilogue: { name: "encode_relu", code: encodeRelu },
  epilogueVectors: (w) => [w.b_enc.data],
  hiddenPre: { source: { name: "epilogue_bias", code: epilogueBias }, vectors: [0] },
  activation: { source: { name: "activation_relu", code: activationRelu }, vectors: [] },
  topK: () => undefined,
  checkConfig: () => {},
  kernelWeights: (_cfg, w) => w,
  cpu: {
    vectors: (w) => ({ b_enc: w.b_enc.data }),
    hiddenPre: (g, xw) => g.node("Add", [xw, g.input("b_enc", ["d_sae"])]),
    activation: (g, pre) => g.node("Relu", [pre]),
  },
};
