/**
 * Steering (SAELens tutorial 3, hands-on notebook 6): generate with a feature's decoder direction,
 * times a strength, added at the SAE's hook, next to the same generation without it.
 *
 * The direction is the raw decoder row W_dec[feature], as the tutorials use it; the strength is in the
 * units of the hook's activations, or relative to the feature's largest activation on the prompt
 * (`max-act`: strength 1 adds what the feature's own peak adds) or to the residual's norm at the hook
 * (`resid-norm`: strength 1 adds a vector as long as the mean ‖x‖). {@linkcode steer} reports those
 * scales, so a strength can be judged.
 *
 * @module
 */

import type { HookedTransformer } from "../lm/hooked_transformer.ts";
import type { HookFn } from "../lm/hook_fn.ts";
import type { GenerateOptions } from "../lm/run_options.ts";
import type { SAE } from "../sae/sae.ts";
import { encodeText } from "./encode_text.ts";
import { checkFeatureIndex } from "./index_checks.ts";
import { type SaeSite, saeSite } from "../sae/sae_on_model.ts";

/** Which positions get the direction: every one, the prompt's, or the prompt's last. */
export type SteerPositions = "all" | "prompt" | "last";

/** The positions {@linkcode SteerPositions} allows. */
export const STEER_POSITIONS: readonly SteerPositions[] = ["all", "prompt", "last"];

/** What a steering strength is measured against: nothing (the hook's units) or a scale of the prompt. */
export type StrengthRelativeTo = "absolute" | "max-act" | "resid-norm";

/** The choices {@linkcode StrengthRelativeTo} allows. */
export const STRENGTH_RELATIVE_TO: readonly StrengthRelativeTo[] = ["absolute", "max-act", "resid-norm"];

/** Sizes that make a steering strength meaningful, measured on the prompt (BOS left out). */
export interface SteeringScale {
  /** ‖W_dec[feature]‖: the length one unit of strength adds. */
  directionNorm: number;
  /** Mean ‖x‖ of the SAE's input at the hook over the prompt's positions. */
  residNorm: number;
  /** The feature's mean activation over the prompt's positions. */
  meanAct: number;
  /** The feature's largest activation over the prompt's positions. */
  maxAct: number;
}

/** Generations of each kind a steering run makes at most: each is a whole generation, and all are held at once. */
const MAX_SAMPLES = 1000;

/** Options of {@linkcode steer}. */
export interface SteerOptions extends Omit<GenerateOptions, "fwdHooks" | "onToken"> {
  /** Feature whose direction is added. */
  feature: number;
  /** Multiple of W_dec[feature] added, in the units `strengthRelativeTo` names. */
  strength: number;
  /**
   * `absolute`: the strength multiplies W_dec[feature] as it is; `max-act`: it is in units of the
   * feature's largest activation on the prompt; `resid-norm`: in units of the mean residual norm at the
   * hook (the added vector's length is strength × that norm). @default {"absolute"}
   */
  strengthRelativeTo?: StrengthRelativeTo;
  /** Called after each generated token with the tokens done and the tokens asked for in all. */
  onProgress?: (done: number, total: number) => void;
  /** Where it is added. @default {"all"} */
  positions?: SteerPositions;
  /** Generations of each kind; sample i of both uses seed + i. @default {1} */
  samples?: number;
}

/** Side-by-side generations. */
export interface Steering {
  /** Without steering. */
  baseline: string[];
  /** With steering. */
  steered: string[];
  /** The seeds used, one per sample. */
  seeds: number[];
  /** The prompt's scales. */
  scale: SteeringScale;
  /** The multiple of W_dec[feature] actually added (the strength resolved against its scale). */
  appliedStrength: number;
}

/**
 * The scales of steering `feature` on `text`: ‖W_dec[feature]‖, the mean residual norm at the hook, and
 * the feature's mean and largest activation, over the prompt's positions after BOS.
 *
 * @example
 * ```ts ignore
 * const { directionNorm, residNorm, maxAct } = await steeringScale(model, sae, "The nation", 340);
 * ```
 *
 * @param model The model.
 * @param sae The SAE.
 * @param text The prompt (BOS prepended as the SAE was trained).
 * @param feature The feature.
 * @returns The scales.
 * @throws {RangeError} When the feature is outside the SAE.
 */
export async function steeringScale(
  model: HookedTransformer,
  sae: SAE,
  text: string,
  feature: number,
): Promise<SteeringScale> {
  const { d_in: dIn, d_sae: dSae } = sae.cfg;
  checkFeatureIndex(feature, dSae);
  const enc = await encodeText(model, sae, text, { top: 1 });
  let directionNorm = 0;
  for (let j = 0; j < dIn; j++) directionNorm += sae.W_dec.data[feature * dIn + j] ** 2;
  // BOS's residual is an outlier many times the others' norm; a one-token prompt keeps it
  const from = enc.tokens.length > enc.bosPositions ? enc.bosPositions : 0;
  let norms = 0, acts = 0, maxAct = 0;
  for (let p = from; p < enc.tokens.length; p++) {
    let sq = 0;
    for (let j = 0; j < dIn; j++) sq += enc.acts.data[p * dIn + j] ** 2;
    norms += Math.sqrt(sq);
    const a = enc.features.data[p * dSae + feature];
    acts += a;
    maxAct = Math.max(maxAct, a);
  }
  const n = enc.tokens.length - from;
  return { directionNorm: Math.sqrt(directionNorm), residNorm: norms / n, meanAct: acts / n, maxAct };
}

/**
 * The multiple of W_dec[feature] that `strength` in units of `relativeTo` stands for.
 *
 * @example
 * ```ts
 * import { appliedStrength } from "./steering.ts";
 * const scale = { directionNorm: 2, residNorm: 10, meanAct: 1, maxAct: 4 };
 * console.log(appliedStrength(3, "max-act", scale)); // 12
 * console.log(appliedStrength(0.5, "resid-norm", scale)); // 2.5: a vector of length 5, half the residual
 * ```
 *
 * @param strength The strength given.
 * @param relativeTo What it is relative to.
 * @param scale The prompt's scales.
 * @returns The multiple of W_dec[feature] to add.
 * @throws {RangeError} When the scale it is relative to is 0 (the feature never fires on the prompt, or
 * its decoder row is zero).
 */
export function appliedStrength(strength: number, relativeTo: StrengthRelativeTo, scale: SteeringScale): number {
  if (relativeTo === "absolute") return strength;
  if (relativeTo === "max-act") {
    if (!(scale.maxAct > 0)) {
      throw new RangeError(
        "Cannot steer relative to max-act as the feature does not fire on the prompt: use resid-norm or an absolute strength",
      );
    }
    return strength * scale.maxAct;
  }
  if (!(scale.directionNorm > 0)) {
    throw new RangeError("Cannot steer relative to resid-norm as the feature's decoder row is zero");
  }
  return strength * scale.residNorm / scale.directionNorm;
}

/**
 * A hook adding `strength × direction` to the SAE's slice of the activation at the chosen positions.
 *
 * @example
 * ```ts ignore
 * const hook = steeringHook(site, sae.W_dec.data.subarray(584 * 128, 585 * 128), 8, "all", 15);
 * await model.generate(tokens, { fwdHooks: [[site.hookName, hook]] });
 * ```
 *
 * @param site Where the SAE sits.
 * @param direction A vector of the SAE's input width.
 * @param strength Its multiple.
 * @param positions Which positions.
 * @param promptLength Tokens of the prompt (BOS included).
 * @returns The hook.
 */
export function steeringHook(
  site: SaeSite,
  direction: Float32Array,
  strength: number,
  positions: SteerPositions,
  promptLength: number,
): HookFn {
  const chosen = (p: number) =>
    positions === "all" || (positions === "prompt" ? p < promptLength : p === promptLength - 1);
  return (activation, { positions: at }) => {
    const rows = activation.shape[0] * activation.shape[1];
    const width = activation.data.length / rows;
    const offset = site.head === undefined ? 0 : site.head * direction.length;
    for (let r = 0; r < rows; r++) {
      if (!chosen(at[r % at.length])) continue;
      for (let j = 0; j < direction.length; j++) activation.data[r * width + offset + j] += strength * direction[j];
    }
  };
}

/**
 * Generates from `text` with and without the feature's direction added.
 *
 * @example
 * ```ts ignore
 * const { baseline, steered } = await steer(model, sae, "The nation", { feature: 584, strength: 8, seed: 1 });
 * ```
 *
 * @param model The model.
 * @param sae The SAE whose decoder gives the direction.
 * @param text The prompt (BOS prepended).
 * @param options Feature, strength, positions, samples and generation settings.
 * @returns The generations.
 * @throws {RangeError} When the feature or an option is out of range.
 */
export async function steer(
  model: HookedTransformer,
  sae: SAE,
  text: string,
  options: SteerOptions,
): Promise<Steering> {
  const {
    feature,
    strength,
    strengthRelativeTo = "absolute",
    positions = "all",
    samples = 1,
    onProgress,
    ...generation
  } = options;
  const { d_in: dIn, d_sae: dSae } = sae.cfg;
  checkFeatureIndex(feature, dSae);
  if (!STEER_POSITIONS.includes(positions)) {
    throw new RangeError(`positions must be one of ${STEER_POSITIONS.join(", ")}: got ${positions}`);
  }
  if (!STRENGTH_RELATIVE_TO.includes(strengthRelativeTo)) {
    throw new RangeError(
      `strengthRelativeTo must be one of ${STRENGTH_RELATIVE_TO.join(", ")}: got ${strengthRelativeTo}`,
    );
  }
  if (!(Number.isInteger(samples) && samples >= 1 && samples <= MAX_SAMPLES)) {
    throw new RangeError(`samples must be an integer in 1..${MAX_SAMPLES}: got ${samples}`);
  }
  const site = saeSite(model, sae);
  const tokens = model.toTokens(text, { prependBos: site.prependBos });
  const scale = await steeringScale(model, sae, text, feature);
  const applied = appliedStrength(strength, strengthRelativeTo, scale);
  const direction = sae.W_dec.data.slice(feature * dIn, (feature + 1) * dIn);
  const hook = steeringHook(site, direction, applied, positions, tokens.length);
  const first = generation.seed ?? crypto.getRandomValues(new Uint32Array(1))[0];
  const seeds = Array.from({ length: samples }, (_, i) => (first + i) >>> 0);
  const result: Steering = { baseline: [], steered: [], seeds, scale, appliedStrength: applied };
  const total = 2 * samples * (generation.maxNewTokens ?? 10);
  let done = 0;
  const onToken = onProgress ? () => onProgress(++done, total) : undefined;
  for (const seed of seeds) {
    const plain = await model.generate([tokens], { ...generation, seed, onToken });
    const steered = await model.generate([tokens], {
      ...generation,
      seed,
      onToken,
      fwdHooks: [[site.hookName, hook]],
    });
    result.baseline.push(model.toString(plain.tokens[0].slice(tokens.length)));
    result.steered.push(model.toString(steered.tokens[0].slice(tokens.length)));
  }
  return result;
}
