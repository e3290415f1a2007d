/**
 * `sae steer --feature I --strength X TEXT`: generations with and without a feature's decoder
 * direction added at the SAE's hook, side by side.
 *
 * @module
 */

import { steer as steerText, STEER_POSITIONS, type SteerPositions } from "../core/analysis/steering.ts";
import { featureIndex, SAE_FLAGS, SAE_HELP, withSaeAndModel } from "./_sae.ts";
import { oneText } from "./_model.ts";
import { numberFlag, SAMPLING_FLAGS, SAMPLING_HELP, samplingOptions } from "./_sampling.ts";
import { parseFlags, positiveInt, UsageError, wholeNumber } from "./_usage.ts";

/** Help text of `sae steer`. */
export const STEER_HELP =
  `Usage: sae steer [--sae S] [--model M] --feature I --strength X [--positions all|prompt|last] [--samples N] [--seed S] [--json] TEXT

Generate from TEXT (BOS prepended) with X × W_dec[I] added to the activations at the SAE's hook, next to
the same generation (same seed) without it.

Options:
${SAE_HELP}
  --feature I         the feature whose decoder direction is added
  --strength X        its multiple, in the hook's units (negative steers away)
  --positions P       all (every position, generated ones too; default), prompt (the prompt's
                      positions) or last (the prompt's last position)
  --samples N         generations of each kind (default 3; sample i uses seed + i)
${SAMPLING_HELP}
  --json              print JSON: feature, strength, positions, seeds, baseline, steered
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
  const samples = positiveInt(values.samples, "--samples") ?? 3;
  const generation = samplingOptions(values);
  return await withSaeAndModel(values, async ({ sae, model, saeLabel }) => {
    const feature = featureIndex(values.feature, sae.cfg.d_sae);
    const result = await steerText(model, sae, text, { ...generation, feature, strength, positions, samples });
    if (values.json) {
      console.log(JSON.stringify({ feature, strength, positions, ...result }));
      return 0;
    }
    console.log(
      `${
        JSON.stringify(text)
      } steered by ${strength} × W_dec[${feature}] of ${saeLabel} at ${sae.cfg.metadata.hook_name} (${positions} positions)`,
    );
    result.seeds.forEach((seed, i) => {
      console.log(`\nseed ${seed}`);
      console.log(`  without: ${JSON.stringify(result.baseline[i])}`);
      console.log(`  steered: ${JSON.stringify(result.steered[i])}`);
    });
    return 0;
  });
}
