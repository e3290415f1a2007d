/**
 * Feature ablation (SAELens tutorial 4): splice the SAE in at its hook with one feature zeroed at
 * every position and see how the probability of a target token at the last position changes; or with
 * a set of features zeroed together, since features that share a job show little one at a time.
 *
 * With the error term (the default) the spliced output is x̂_ablated + (x − x̂): exactly x minus the
 * feature's decoded contribution, so only the ablated feature's effect shows. Without it the output is
 * x̂_ablated, so the reconstruction error's effect is included, as the tutorial's plain splice does;
 * then the spliced model's P(target) is the baseline the feature's own effect shows against
 * (`changeFromSpliced`), while `change` compares with the clean model and so mixes in the error's effect.
 *
 * @module
 */

import type { HookedTransformer } from "../lm/hooked_transformer.ts";
import type { SAE } from "../sae/sae.ts";
import { checkFeatureIndex, checkTokenId } from "./index_checks.ts";
import { saeInput, saeSite, writeSaeOutput } from "../sae/sae_on_model.ts";
import { largestIndices } from "../util/largest_indices.ts";

/** One ablated feature's effect. */
export interface FeatureAblation {
  /** Feature index. */
  index: number;
  /** P(target) at the last position with the feature zeroed. */
  probability: number;
  /** Change relative to the clean model's P(target), in percent. */
  change: number;
  /**
   * Change relative to P(target) with the SAE spliced in and nothing ablated, in percent: the feature's
   * own effect (equal to `change` up to rounding with the error term).
   */
  changeFromSpliced: number;
}

/** Options of {@linkcode ablateFeatures}. */
export interface AblateOptions {
  /** Add the reconstruction error x − x̂ to the spliced output. @default {true} */
  errorTerm?: boolean;
  /** Called after each ablated feature with the features done and their number. */
  onProgress?: (done: number, total: number) => void;
  /** Also ablate all of `features` at once (`together` in the result). @default {false} */
  together?: boolean;
  /** Next tokens `together` lists. @default {10} */
  topK?: number;
}

/** The features ablated at once: P(target) and the most likely next tokens at the last position. */
export interface SetAblation {
  /** Feature indices, as given. */
  features: number[];
  /** P(target) at the last position with all of them zeroed. */
  probability: number;
  /** Change relative to the clean model's P(target), in percent. */
  change: number;
  /** Change relative to P(target) with the SAE spliced in and nothing ablated, in percent. */
  changeFromSpliced: number;
  /** The `topK` most likely next tokens (id and probability), most likely first. */
  top: { id: number; prob: number }[];
}

/** Result of {@linkcode ablateFeatures}. */
export interface Ablation {
  /** Target token id. */
  target: number;
  /** P(target) at the last position, clean model. */
  baseline: number;
  /** P(target) with the SAE spliced in and nothing ablated (equal to `baseline` with the error term). */
  spliced: number;
  /** Per feature, in the order given. */
  features: FeatureAblation[];
  /** All of them at once, where `together` was asked for. */
  together?: SetAblation;
}

/** Softmax of the logits at `position`. */
function probabilities(logits: Float32Array, position: number, vocab: number): Float64Array {
  const row = logits.subarray(position * vocab, (position + 1) * vocab);
  let max = -Infinity;
  for (const v of row) if (v > max) max = v;
  const p = Float64Array.from(row, (v) => Math.exp(v - max));
  let sum = 0;
  for (const v of p) sum += v;
  for (let i = 0; i < p.length; i++) p[i] /= sum;
  return p;
}

/**
 * P(target) at the last position with each of `features` ablated in turn and, with `together`, all at once.
 *
 * @example
 * ```ts ignore
 * const tokens = model.toTokens("When John and Mary went to the shops, John gave the bag to");
 * const result = await ablateFeatures(model, sae, tokens, model.toSingleToken(" Mary"), [584, 810]);
 * ```
 *
 * @example Two features at once, and the next tokens without them
 * ```ts ignore
 * const { together } = await ablateFeatures(model, sae, tokens, target, [584, 810], { together: true, topK: 5 });
 * console.log(together!.probability, together!.top.map((t) => model.toString([t.id])));
 * ```
 *
 * @param model The model.
 * @param sae The SAE.
 * @param tokens One sequence.
 * @param target Token id whose probability is measured.
 * @param features Feature indices to ablate, one at a time (and together with `together`).
 * @param options `errorTerm` (add x − x̂ to the spliced output, default true), `together`, `topK` and progress.
 * @returns Baseline and per-feature probabilities, and the set's where asked.
 * @throws {RangeError} When a feature index, the target or `topK` is out of range.
 */
export async function ablateFeatures(
  model: HookedTransformer,
  sae: SAE,
  tokens: readonly number[],
  target: number,
  features: readonly number[],
  options: AblateOptions = {},
): Promise<Ablation> {
  const { errorTerm = true, onProgress, together = false, topK = 10 } = options;
  const site = saeSite(model, sae);
  const { d_in: dIn, d_sae: dSae } = sae.cfg;
  const vocab = model.cfg.dVocab;
  for (const i of features) checkFeatureIndex(i, dSae);
  checkTokenId(target, vocab);
  if (!(Number.isSafeInteger(topK) && topK >= 1)) {
    throw new RangeError(`Cannot list the next tokens as topK must be a positive integer: current value is ${topK}`);
  }
  const last = tokens.length - 1;
  const probabilitiesWith = async (ablate: readonly number[]): Promise<Float64Array> => {
    const { logits } = await model.runWithHooks([tokens], {
      fwdHooks: [[site.hookName, async (activation) => {
        const x = saeInput(site, activation, dIn);
        const encoded = sae.encode(x);
        const f = await encoded.read();
        encoded.destroy();
        for (const i of ablate) for (let r = 0; r < x.shape[0]; r++) f[r * dSae + i] = 0;
        const edited = { shape: [x.shape[0], dSae], data: f };
        const out = errorTerm ? sae.splice(x, edited) : sae.decode(edited);
        writeSaeOutput(site, activation, await out.read());
        out.destroy();
      }]],
    });
    return probabilities(logits!.data, last, vocab);
  };
  const { logits } = await model.run([tokens]);
  const baseline = probabilities(logits!.data, last, vocab)[target];
  const spliced = (await probabilitiesWith([]))[target];
  const results: FeatureAblation[] = [];
  for (const index of features) {
    const p = (await probabilitiesWith([index]))[target];
    results.push({
      index,
      probability: p,
      change: 100 * (p - baseline) / baseline,
      changeFromSpliced: 100 * (p - spliced) / spliced,
    });
    onProgress?.(results.length, features.length);
  }
  if (!together) return { target, baseline, spliced, features: results };
  const all = await probabilitiesWith(features);
  const p = all[target];
  return {
    target,
    baseline,
    spliced,
    features: results,
    together: {
      features: [...features],
      probability: p,
      change: 100 * (p - baseline) / baseline,
      changeFromSpliced: 100 * (p - spliced) / spliced,
      top: largestIndices(all, topK).map((id) => ({ id, prob: all[id] })),
    },
  };
}
