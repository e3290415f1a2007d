/**
 * `sae steer --feature I --strength X TEXT`: generations with and without a feature's decoder
 * direction added at the SAE's hook, side by side.
 *
 * @module
 */

import {
  steer as steerText,
  STEER_POSITIONS,
  type SteerPositions,
  STRENGTH_RELATIVE_TO,
  type StrengthRelativeTo,
} from "../core/analysis/steering.ts";
import { Progress } from "./_progress.ts";
import { featureIndex, SAE_FLAGS, SAE_HELP, withSaeAndModel } from "./_sae.ts";
import { oneText } from "./_model.ts";
import { numberFlag, SAMPLING_FLAGS, SAMPLING_HELP, samplingOptions } from "./_sampling.ts";
import { parseFlags, positiveInt, UsageError, wholeNumber } from "./_usage.ts";

/** Help text of `sae steer`. */
export const STEER_HELP =
  `Usage: sae steer [--sae S] [--model M] --feature I --strength X [--strength-relative-to R] [--positions all|prompt|last] [--samples N] [--seed S] [--json] TEXT

Generate from TEXT (BOS prepended) with X × W_dec[I] added to the activations at the SAE's hook, next to
the same generation (same seed) without it. First prints the scales to judge X by, over the prompt's
positions after BOS: ‖W_dec[I]‖, the mean residual norm ‖x‖ at the hook, and the feature's mean and
largest activation.

Options:
${SAE_HELP}
  --feature I         the feature whose decoder direction is added
  --strength X        its multiple, in the hook's units (negative steers away)
  --strength-relative-to R
                      absolute (default: X multiplies W_dec[I] as it is), max-act (X in units of the
                      feature's largest activation on the prompt: 1 adds what its peak adds) or
                      resid-norm (X in units of the mean residual norm: the added vector's length is
                      X × ‖x‖, e.g. 0.5 for half the residual)
  --positions P       all (every position, generated ones too; default), prompt (the prompt's
                      positions) or last (the prompt's last position)
  --samples N         generations of each kind (default 3; sample i uses seed + i)
${SAMPLING_HELP}
  --json              print JSON: feature, strength, strength_relative_to, applied_strength, direction_norm,
                      resid_norm, feature_mean_act, feature_max_act, positions, seeds, baseline, steered
  -h, --help          show this help`;

/**
 * Runs `sae steer`.
 *
 * @example
 * ```ts ignore
 * await steer(["--feature", "584", "--strength", "8", "--seed", "1", "The nation"]);
 * ```
 *
 * @param args Arguments after the verb.
 * @returns The exit code.
 */
export async function steer(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    ...SAE_FLAGS,
    ...SAMPLING_FLAGS,
    feature: { type: "string" },
    strength: { type: "string" },
    "strength-relative-to": { type: "string" },
    positions: { type: "string" },
    samples: { type: "string" },
    json: { type: "boolean" },
  });
  if (values.help) {
    console.log(STEER_HELP);
    return 0;
  }
  const text = oneText(positionals, "steer");
  if (values.feature === undefined) throw new UsageError("--feature is required: the feature index to steer with");
  wholeNumber(values.feature, "--feature"); // checked before the slow loads; its range after
  const strength = numberFlag(values.strength, "--strength");
  if (strength === undefined) throw new UsageError("--strength is required: the multiple of W_dec[feature] to add");
  const positions = (values.positions ?? "all") as SteerPositions;
  if (!STEER_POSITIONS.includes(positions)) {
    throw new UsageError(`--positions must be one of ${STEER_POSITIONS.join(", ")}: current value is ${positions}`);
  }
  const relativeTo = (values["strength-relative-to"] ?? "absolute") as StrengthRelativeTo;
  if (!STRENGTH_RELATIVE_TO.includes(relativeTo)) {
    throw new UsageError(
      `--strength-relative-to must be one of ${STRENGTH_RELATIVE_TO.join(", ")}: current value is ${relativeTo}`,
    );
  }
  const samples = positiveInt(values.samples, "--samples") ?? 3;
  const generation = samplingOptions(values);
  const start = { verb: "steer", inputs: { feature: values.feature, strength: String(strength) } };
  return await withSaeAndModel(values, async ({ sae, model, saeLabel }) => {
    const feature = featureIndex(values.feature, sae.cfg.d_sae);
    const progress = new Progress("steer", 2 * samples * (generation.maxNewTokens ?? 20), "tokens generated");
    const result = await steerText(model, sae, text, {
      ...generation,
      feature,
      strength,
      strengthRelativeTo: relativeTo,
      positions,
      samples,
      onProgress: (done) => progress.update(done, 0),
    });
    const { scale, appliedStrength } = result;
    progress.done(`applied strength ${appliedStrength.toPrecision(4)}, ${samples} samples of each kind`);
    if (values.json) {
      console.log(JSON.stringify({
        feature,
        strength,
        strength_relative_to: relativeTo,
        applied_strength: appliedStrength,
        direction_norm: scale.directionNorm,
        resid_norm: scale.residNorm,
        feature_mean_act: scale.meanAct,
        feature_max_act: scale.maxAct,
        positions,
        baseline: result.baseline,
        steered: result.steered,
        seeds: result.seeds,
      }));
      return 0;
    }
    const g = (v: number) => v.toPrecision(4);
    const given = relativeTo === "absolute" ? "" : ` (${strength} × ${relativeTo})`;
    console.log(
      `${JSON.stringify(text)} steered by ${
        g(appliedStrength)
      }${given} × W_dec[${feature}] of ${saeLabel} at ${sae.cfg.metadata.hook_name} (${positions} positions)`,
    );
    console.log(
      `  scale: ‖W_dec[${feature}]‖ ${g(scale.directionNorm)}, mean residual norm ${g(scale.residNorm)}, ` +
        `feature ${feature} mean ${g(scale.meanAct)} / max ${g(scale.maxAct)} on the prompt; the added vector is ` +
        `${g(Math.abs(appliedStrength) * scale.directionNorm)} long, ` +
        `${g(100 * Math.abs(appliedStrength) * scale.directionNorm / scale.residNorm)}% of the residual`,
    );
    result.seeds.forEach((seed, i) => {
      console.log(`\nseed ${seed}`);
      console.log(`  without: ${JSON.stringify(result.baseline[i])}`);
      console.log(`  steered: ${JSON.stringify(result.steered[i])}`);
    });
    return 0;
  }, start);
}
