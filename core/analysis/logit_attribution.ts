/**
 * Which features push up a target token's logit (SAELens tutorial 3): each active feature's direct
 * contribution, activation × (W_dec · W_U)[:, target], taken through the final layer norm.
 *
 * The final layer norm is linearised at the position attributed: its scale (ln_final.hook_scale from the
 * same forward pass) is held fixed and its centring applied, as TransformerLens's `apply_ln_to_stack`
 * does. Then the contributions of the features, of b_dec and of the reconstruction error add up exactly to
 * the SAE input's own direct contribution. Only the direct path is counted: later blocks also read the
 * features, which ablation (not attribution) measures.
 *
 * @module
 */

import type { HookedTransformer } from "../lm/hooked_transformer.ts";
import type { SAE } from "../sae/sae.ts";
import type { TextFeatures } from "./encode_text.ts";
import { pullBack } from "./hook_to_residual.ts";
import { checkTokenId } from "./index_checks.ts";

/** One feature's share of the target logit. */
export interface FeatureContribution {
  /** Feature index. */
  index: number;
  /** Its activation at the position. */
  activation: number;
  /** activation × (direction · centred unembedding column) / ln_final scale. */
  contribution: number;
}

/** The attribution of one token's logit. */
export interface LogitAttribution {
  /** Target token id. */
  target: number;
  /** Position attributed. */
  position: number;
  /** The target's logit there. */
  logit: number;
  /** ln_final's scale at that position. */
  scale: number;
  /** Active features, largest contribution first. */
  features: FeatureContribution[];
  /** Contribution of b_dec. */
  bias: number;
  /** Contribution of the reconstruction error x − x̂. */
  error: number;
  /** Direct contribution of the SAE's input x (= Σ features + bias + error). */
  total: number;
}

/**
 * Attributes the target token's logit at `position` to the SAE's active features.
 *
 * @example
 * ```ts ignore
 * const enc = await encodeText(model, sae, "The capital of France is");
 * const attribution = await logitAttribution(model, sae, enc, model.toSingleToken(" Paris"));
 * console.log(attribution.features.slice(0, 5));
 * ```
 *
 * @param model The model.
 * @param sae The SAE the text was encoded with.
 * @param encoded The text's features.
 * @param target Token id.
 * @param position Position. @default {the last}
 * @returns Contributions.
 * @throws {RangeError} When target or position is out of range.
 * @throws {TypeError} When the SAE's hook does not write linearly into the residual stream.
 */
export async function logitAttribution(
  model: HookedTransformer,
  sae: SAE,
  encoded: TextFeatures,
  target: number,
  position = encoded.tokens.length - 1,
): Promise<LogitAttribution> {
  const { dModel: d, dVocab } = model.cfg;
  checkTokenId(target, dVocab);
  if (!(Number.isInteger(position) && position >= 0 && position < encoded.tokens.length)) {
    throw new RangeError(`Position ${position} is outside the text's ${encoded.tokens.length} tokens`);
  }
  const { logits, cache } = await model.runWithCache([encoded.tokens], {
    names: ["ln_final.hook_scale"],
    returnType: "logits",
  });
  const scale = cache.get("ln_final.hook_scale")!.data[position];
  // the target's unembedding column through ln_final's weight, centred over d_model where ln_final is a LayerNorm
  const u = model.logitDirection(target);
  if (model.cfg.normalization === "LN") {
    const mean = u.reduce((a, b) => a + b, 0) / d;
    for (let j = 0; j < d; j++) u[j] -= mean;
  }
  const g = pullBack(model, encoded.site.hookName, encoded.site.head, u);

  const { d_in: dIn, d_sae: dSae, normalize_activations: norm } = sae.cfg;
  if (norm !== "none" && norm !== "expected_average_only_in") {
    throw new TypeError(
      `Logit attribution needs a decoder that is linear in the features: this SAE's normalize_activations is ${norm}`,
    );
  }
  // decoded outputs are divided by the input scaling factor on the way back
  const outScale = norm === "none" ? 1 : 1 / (sae.cfg.norm_scaling_factor ?? 1);
  const dot = (v: Float32Array, offset: number) => {
    let s = 0;
    for (let j = 0; j < dIn; j++) s += v[offset + j] * g[j];
    return s / scale;
  };
  const wDec = sae.W_dec.data;
  const features: FeatureContribution[] = [];
  const f = encoded.features.data.subarray(position * dSae, (position + 1) * dSae);
  for (let i = 0; i < dSae; i++) {
    if (f[i] !== 0) features.push({ index: i, activation: f[i], contribution: f[i] * outScale * dot(wDec, i * dIn) });
  }
  features.sort((a, b) => b.contribution - a.contribution || a.index - b.index);
  const x = encoded.acts.data.subarray(position * dIn, (position + 1) * dIn);
  const xHat = encoded.recon.data.subarray(position * dIn, (position + 1) * dIn);
  const error = dot(x.map((v, j) => v - xHat[j]), 0);
  return {
    target,
    position,
    logit: logits!.data[position * dVocab + target],
    scale,
    features,
    bias: outScale * dot(sae.b_dec.data, 0),
    error,
    total: dot(x, 0),
  };
}
