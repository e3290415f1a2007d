/**
 * What a plain pre-norm transformer's configuration holds whatever its family: no soft caps, every layer global, no
 * q/k or post norms, no embedding scale, attention then MLP; its architecture, BOS and EOS as config.json names them.
 * Each family spreads it and sets what differs.
 *
 * @module
 */

import type { HfConfig } from "../hf_config.ts";
import type { TransformerConfig } from "../transformer_config.ts";

/** The fields {@linkcode plainConfig} fills. */
export type PlainParts = Pick<
  TransformerConfig,
  | "architecture"
  | "attnSoftcap"
  | "finalSoftcap"
  | "attnTypes"
  | "windowSize"
  | "qkNorm"
  | "parallelAttnMlp"
  | "postNorms"
  | "embedScale"
  | "bosTokenId"
  | "eosTokenIds"
>;

/**
 * The plain parts of a config with `nLayers` layers.
 *
 * @example
 * ```ts
 * import { HfConfig } from "../hf_config.ts";
 * import { plainConfig } from "./_plain_config.ts";
 * const parts = plainConfig(new HfConfig({ architectures: ["LlamaForCausalLM"], eos_token_id: [1, 2] }, "config.json"), 2);
 * console.log(parts.architecture, parts.attnTypes, parts.eosTokenIds); // LlamaForCausalLM ["global", "global"] [1, 2]
 * ```
 *
 * @param hf The config.
 * @param nLayers Its layers.
 * @returns The parts.
 * @throws {TypeError} When `bos_token_id` or `eos_token_id` is not a token id or a list of them.
 */
export function plainConfig(hf: HfConfig, nLayers: number): PlainParts {
  const architectures = hf.get("architectures");
  return {
    architecture: Array.isArray(architectures) && typeof architectures[0] === "string" ? architectures[0] : "",
    attnSoftcap: 0,
    finalSoftcap: 0,
    attnTypes: Array(nLayers).fill("global"),
    windowSize: null,
    qkNorm: false,
    parallelAttnMlp: false,
    postNorms: false,
    embedScale: 1,
    bosTokenId: hf.has("bos_token_id") ? hf.ids("bos_token_id")[0] : null,
    eosTokenIds: hf.ids("eos_token_id"),
  };
}
