/**
 * Steering (SAELens tutorial 3, hands-on notebook 6): generate with a feature's decoder direction,
 * times a strength, added at the SAE's hook, next to the same generation without it.
 *
 * The direction is the raw decoder row W_dec[feature], as the tutorials use it; the strength is in the
 * units of the hook's activations.
 *
 * @module
 */

import type { GenerateOptions, HookedGpt2, HookFn } from "../lm/gpt2.ts";
import type { SAE } from "../sae/sae.ts";
import { checkFeatureIndex } from "./index_checks.ts";
import { type SaeSite, saeSite } from "./sae_on_model.ts";

/** Which positions get the direction: every one, the prompt's, or the prompt's last. */
export type SteerPositions = "all" | "prompt" | "last";

/** The positions {@linkcode SteerPositions} allows. */
export const STEER_POSITIONS: readonly SteerPositions[] = ["all", "prompt", "last"];

/** Options of {@linkcode steer}. */
export interface SteerOptions extends Omit<GenerateOptions, "fwdHooks" | "onToken"> {
  /** Feature whose direction is added. */
  feature: number;
  /** Multiple of W_dec[feature] added. */
  strength: number;
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
export async function steer(model: HookedGpt2, sae: SAE, text: string, options: SteerOptions): Promise<Steering> {
  const { feature, strength, positions = "all", samples = 1, ...generation } = options;
  const { d_in: dIn, d_sae: dSae } = sae.cfg;
  checkFeatureIndex(feature, dSae);
  if (!STEER_POSITIONS.includes(positions)) {
    throw new RangeError(`positions must be one of ${STEER_POSITIONS.join(", ")}: got ${positions}`);
  }
  if (!(Number.isInteger(samples) && samples >= 1)) throw new RangeError(`samples must be >= 1: got ${samples}`);
  const site = saeSite(model, sae);
  const tokens = model.toTokens(text, { prependBos: site.prependBos });
  const direction = sae.W_dec.data.slice(feature * dIn, (feature + 1) * dIn);
  const hook = steeringHook(site, direction, strength, positions, tokens.length);
  const first = generation.seed ?? crypto.getRandomValues(new Uint32Array(1))[0];
  const seeds = Array.from({ length: samples }, (_, i) => (first + i) >>> 0);
  const result: Steering = { baseline: [], steered: [], seeds };
  for (const seed of seeds) {
    const plain = await model.generate([tokens], { ...generation, seed });
    const steered = await model.generate([tokens], { ...generation, seed, fwdHooks: [[site.hookName, hook]] });
    result.baseline.push(model.toString(plain.tokens[0].slice(tokens.length)));
    result.steered.push(model.toString(steered.tokens[0].slice(tokens.length)));
  }
  return result;
}
