/**
 * Text → model activations at the SAE's hook → features per token → reconstruction quality
 * (SAELens tutorial 1).
 *
 * @module
 */

import { type ReconstructionStats, reconstructionStats } from "../eval/reconstruction.ts";
import type { HostTensor } from "../gpu/tensor.ts";
import type { HookedTransformer } from "../lm/hooked_transformer.ts";
import type { SAE } from "../sae/sae.ts";
import { type FeatureActivation, topFeatures } from "../sae/top_features.ts";
import { saeInput, type SaeSite, saeSite } from "../sae/sae_on_model.ts";

/** What an SAE makes of a text. */
export interface TextFeatures {
  /** Where the SAE sits. */
  site: SaeSite;
  /** Token ids, BOS first when the SAE was trained with it. */
  tokens: number[];
  /** Each token as text. */
  strTokens: string[];
  /** SAE inputs [pos, d_in]. */
  acts: HostTensor;
  /** Feature activations [pos, d_sae]. */
  features: HostTensor;
  /** Reconstructions [pos, d_in]. */
  recon: HostTensor;
  /** Strongest features of each token. */
  top: FeatureActivation[][];
  /** Leading BOS positions (0 or 1), left out of `summary`. */
  bosPositions: number;
  /** Active features of each token (BOS included). */
  l0: number[];
  /** L0, MSE and explained variance over the positions after BOS, as SAELens's evals count them. */
  summary: ReconstructionStats;
}

/**
 * Runs the model to the SAE's hook on a text and encodes the activations.
 *
 * @example
 * ```ts ignore
 * const enc = await encodeText(model, sae, "The capital of France is Paris", { top: 5 });
 * console.log(enc.strTokens[1], enc.top[1][0]); // "The" { index: 796, activation: 6.9 }
 * ```
 *
 * @param model The model.
 * @param sae The SAE.
 * @param text The text.
 * @param options `top`: features listed per token. @default {5}
 * @returns Tokens, activations, features and statistics.
 * @throws {TypeError} When the SAE does not fit the model.
 * @throws {RangeError} When the text is longer than the model's context.
 */
export async function encodeText(
  model: HookedTransformer,
  sae: SAE,
  text: string,
  options: { top?: number } = {},
): Promise<TextFeatures> {
  const site = saeSite(model, sae);
  const tokens = model.toTokens(text, { prependBos: site.prependBos });
  return await encodeTokens(model, sae, tokens, options);
}

/**
 * {@linkcode encodeText} for token ids.
 *
 * @example
 * ```ts ignore
 * const enc = await encodeTokens(model, sae, [50256, 464, 3139], { top: 3 });
 * ```
 *
 * @param model The model.
 * @param sae The SAE.
 * @param tokens One sequence of token ids.
 * @param options `top`: features listed per token. @default {5}
 * @returns Tokens, activations, features and statistics.
 */
export async function encodeTokens(
  model: HookedTransformer,
  sae: SAE,
  tokens: number[],
  options: { top?: number } = {},
): Promise<TextFeatures> {
  const site = saeSite(model, sae);
  const { cache } = await model.runWithCache([tokens], {
    names: [site.hookName],
    stopAtLayer: site.stopAtLayer,
    returnType: "none",
  });
  const acts = saeInput(site, cache.get(site.hookName)!, sae.cfg.d_in);
  const { features, recon } = sae.encodeDecode(acts);
  try {
    const [f, r] = await Promise.all([features.read(), recon.read()]);
    const top = await topFeatures(features, options.top ?? 5);
    const { d_in: dIn, d_sae: dSae } = sae.cfg;
    const all = reconstructionStats(acts.data, r, f, dIn, dSae);
    const skip = site.prependBos && tokens.length > 1 && tokens[0] === model.tokenizer.bosTokenId ? 1 : 0;
    const summary = skip === 0
      ? all
      : reconstructionStats(acts.data.subarray(dIn), r.subarray(dIn), f.subarray(dSae), dIn, dSae);
    return {
      site,
      tokens,
      strTokens: model.toStrTokens(tokens),
      acts,
      features: { shape: [tokens.length, dSae], data: f },
      recon: { shape: [tokens.length, dIn], data: r },
      top,
      bosPositions: skip,
      l0: all.l0,
      summary,
    };
  } finally {
    features.destroy();
    recon.destroy();
  }
}
