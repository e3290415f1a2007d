// The floating-point work the benchmarks divide by their times to report FLOP/s against the machine's peak.
import type { TransformerConfig } from "../core/lm/transformer_config.ts";

/** The sizes a transformer's forward work depends on. */
export type TransformerSize = Pick<
  TransformerConfig,
  "nLayers" | "dModel" | "nHeads" | "nKvHeads" | "dHead" | "dMlp" | "dVocab" | "gatedMlp"
>;

/**
 * FLOPs per token of a forward of rows of `pos` tokens through `layers` blocks (all by default), with the logits
 * when `logits`: every block's projections (q, k, v, o, the MLP's two or three matrices) and attention's scores and
 * weighted values over the causal half of the row, two FLOPs a multiply-add.
 */
export function forwardFlopPerToken(cfg: TransformerSize, pos: number, layers = cfg.nLayers, logits = true): number {
  const attention = cfg.dModel * cfg.dHead * (2 * cfg.nHeads + 2 * cfg.nKvHeads);
  const mlp = cfg.dModel * cfg.dMlp * (cfg.gatedMlp ? 3 : 2);
  const mixing = 2 * cfg.nHeads * cfg.dHead * (pos + 1) / 2;
  return 2 * (layers * (attention + mlp + mixing) + (logits ? cfg.dModel * cfg.dVocab : 0));
}

/** FLOPs per token of an SAE encode: x' W_enc (the bias, activation and any selection are a rounding error). */
export const encodeFlopPerToken = (dIn: number, dSae: number): number => 2 * dIn * dSae;

/**
 * FLOPs per token of a dense training step: five products of d_in x d_sae (encode, decode, and the gradients of
 * W_dec, the features and W_enc). For a step from TopK's kept latents, the dense work it stands for.
 */
export const stepFlopPerToken = (dIn: number, dSae: number): number => 10 * dIn * dSae;
