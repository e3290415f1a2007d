/**
 * Standard SAE: f = ReLU(x' W_enc + b_enc).
 *
 * @module
 */

import type { Architecture } from "./architecture.ts";
import encodeRelu from "../../shaders/encode_relu.wgsl" with { type: "text" };

/** The standard (ReLU) architecture. */
export const standard: Architecture = {
  name: "standard",
  latentVectors: ["b_enc"],
  encodeEpilogue: { name: "encode_relu", code: encodeRelu },
  epilogueVectors: (w) => [w.b_enc.data],
  topK: () => undefined,
  checkConfig: () => {},
  kernelWeights: (_cfg, w) => w,
};
