/**
 * `sae attribute --target TOKEN TEXT`: the features whose decoder directions push the target token's
 * logit up the most at the last position (direct logit attribution through ln_final).
 *
 * @module
 */

import { encodeText } from "../core/analysis/encode_text.ts";
import { logitAttribution } from "../core/analysis/logit_attribution.ts";
import { SAE_FLAGS, SAE_HELP, targetToken, withSaeAndModel } from "./_sae.ts";
import { oneText } from "./_model.ts";
import { parseFlags, positiveInt, UsageError } from "./_usage.ts";

/** Help text of `sae attribute`. */
export const ATTRIBUTE_HELP = `Usage: sae attribute [--sae S] [--model M] --target TOKEN [--top N] [--json] TEXT

At the last position of TEXT, each active feature's direct contribution to the logit of TOKEN:
activation × (W_dec[f] · W_U[:, TOKEN]) through ln_final, linearised at that position (its scale from
the same forward pass held fixed, its centring applied; TransformerLens's apply_ln_to_stack). Features,
b_dec and the reconstruction error add up to the SAE input's direct contribution. Later blocks also read
the features: "sae ablate" measures that total effect.

Options:
${SAE_HELP}
  --target TOKEN   the token whose logit is attributed, e.g. " Paris" (one token)
  --top N          features listed, largest contribution first (default 10; --json lists all active)
  --json           print JSON: target, position, logit, scale, features [{"index", "activation",
                   "contribution"}], bias, error, total
  -h, --help       show this help`;

/**
 * Runs `sae attribute`.
 *
 * @example
 * ```ts ignore
 * await attribute(["--sae", "gpt2-small-res-jb/blocks.8.hook_resid_pre", "--target", " Paris", "The capital of France is"]);
 * ```
 *
 * @param args Arguments after the verb.
 * @returns The exit code.
 */
export async function attribute(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    ...SAE_FLAGS,
    target: { type: "string" },
    top: { type: "string" },
    json: { type: "boolean" },
  });
  if (values.help) {
    console.log(ATTRIBUTE_HELP);
    return 0;
  }
  const text = oneText(positionals, "attribute");
  const top = positiveInt(values.top, "--top") ?? 10;
  if (values.target === undefined) throw new UsageError(`--target is required: one token, e.g. " Paris"`);
  const targetText = values.target; // narrowed, for the callback below
  return await withSaeAndModel(values, async ({ sae, model, saeLabel }) => {
    const target = targetToken(model, targetText);
    const encoded = await encodeText(model, sae, text, { top: 1 });
    const a = await logitAttribution(model, sae, encoded, target);
    if (values.json) {
      console.log(JSON.stringify({ ...a, target_str: targetText, str_token: encoded.strTokens[a.position] }));
      return 0;
    }
    console.log(
      `logit of ${JSON.stringify(targetText)} (${target}) after ${JSON.stringify(encoded.strTokens[a.position])} ` +
        `(position ${a.position}): ${a.logit.toFixed(3)}; ln_final scale ${a.scale.toFixed(4)}`,
    );
    console.log(`direct contributions through ${saeLabel} at ${encoded.site.hookName}:`);
    console.log("  feature  activation  contribution");
    for (const f of a.features.slice(0, top)) {
      console.log(
        `${String(f.index).padStart(9)} ${f.activation.toFixed(3).padStart(11)} ${
          f.contribution.toFixed(4).padStart(13)
        }`,
      );
    }
    const sum = a.features.reduce((s, f) => s + f.contribution, 0);
    console.log(
      `all ${a.features.length} active features ${sum.toFixed(4)}, b_dec ${a.bias.toFixed(4)}, error ${
        a.error.toFixed(4)
      }: total direct contribution of ${encoded.site.hookName} ${a.total.toFixed(4)}`,
    );
    return 0;
  }, { verb: "attribute" });
}
