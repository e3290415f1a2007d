/**
 * `sae ablate --target TOKEN TEXT`: P(target) at the last position with each chosen feature zeroed.
 *
 * @module
 */

import { ablateFeatures } from "../core/analysis/ablation.ts";
import { encodeText } from "../core/analysis/encode_text.ts";
import { featureIndex, SAE_FLAGS, SAE_HELP, targetToken, withSaeAndModel } from "./_sae.ts";
import { oneText } from "./_model.ts";
import { Progress } from "./_progress.ts";
import { listItems, parseFlags, positiveInt, UsageError, wholeNumber } from "./_usage.ts";

/** Help text of `sae ablate`. */
export const ABLATE_HELP =
  `Usage: sae ablate [--sae S] [--model M] --target TOKEN [--features I,J,...|--top N] [--together] [--no-error-term] [--json] TEXT

Splice the SAE in at its hook with one feature zeroed at every position, for each chosen feature, and
report P(TOKEN) at the last position and its change. With the error term (default) the spliced output is
x̂_ablated + (x − x̂), so only the feature's effect shows, against the clean model's P. With
--no-error-term it is x̂_ablated (as SAELens tutorial 4's splice does): the change is then measured
against the spliced model's P with nothing ablated (the feature's own effect), and also shown against
the clean model's P (which mixes in the reconstruction error's effect).

Options:
${SAE_HELP}
  --target TOKEN      the token whose probability is measured, e.g. " Mary" (one token)
  --features I,J      features to ablate
  --top N             ablate the N features most active at the last position (default 5)
  --error-term        add the reconstruction error x − x̂ back (the default)
  --no-error-term     leave the reconstruction error out
  --together          also zero all the chosen features at once, and list the 10 likeliest next tokens then
  --json              print JSON: target, baseline, spliced, error_term, features [{"index", "activation",
                      "probability", "change" (vs clean), "change_from_spliced"}], with --together
                      "together" {"features", "probability", "change", "change_from_spliced", "top" [{"id",
                      "token", "prob"}]}
  -h, --help          show this help`;

/**
 * Runs `sae ablate`.
 *
 * @example
 * ```ts ignore
 * await ablate(["--target", " Mary", "--top", "3", "When John and Mary went to the shops, John gave the bag to"]);
 * ```
 *
 * @param args Arguments after the verb.
 * @returns The exit code.
 */
export async function ablate(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    ...SAE_FLAGS,
    target: { type: "string" },
    features: { type: "string" },
    top: { type: "string" },
    "error-term": { type: "boolean" },
    "no-error-term": { type: "boolean" },
    together: { type: "boolean" },
    json: { type: "boolean" },
  });
  if (values.help) {
    console.log(ABLATE_HELP);
    return 0;
  }
  const text = oneText(positionals, "ablate");
  if (values.features !== undefined && values.top !== undefined) {
    throw new UsageError("Give --features or --top, not both");
  }
  if (values["error-term"] && values["no-error-term"]) {
    throw new UsageError("Give --error-term or --no-error-term, not both");
  }
  const top = positiveInt(values.top, "--top") ?? 5;
  const items = values.features === undefined ? undefined : listItems(values.features, "--features");
  const indices = items?.map((item) => wholeNumber(item, "--features index"));
  indices?.forEach((n, i) => {
    if (indices.indexOf(n) !== i) throw new UsageError(`--features lists feature ${n} twice`);
  });
  if (values.target === undefined) throw new UsageError(`--target is required: one token, e.g. " Mary"`);
  const targetText = values.target; // narrowed, for the callback below
  const p = (x: number) => x >= 1e-3 ? x.toFixed(5) : x.toExponential(3);
  const pct = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(2)}%`;
  const start = { verb: "ablate", inputs: { target: JSON.stringify(targetText) } };
  return await withSaeAndModel(values, async ({ sae, model, saeLabel }) => {
    const target = targetToken(model, targetText);
    const chosen = items?.map((s) => featureIndex(s, sae.cfg.d_sae, "--features index"));
    const encoded = await encodeText(model, sae, text, { top: chosen ? 1 : top });
    const last = encoded.tokens.length - 1;
    const features = chosen ?? encoded.top[last].map((f) => f.index);
    if (features.length === 0) throw new UsageError("No feature is active at the last position: give --features");
    const errorTerm = !values["no-error-term"];
    const progress = new Progress("ablate", features.length, "features");
    const result = await ablateFeatures(model, sae, encoded.tokens, target, features, {
      errorTerm,
      together: values.together,
      onProgress: (done) => progress.update(done, 0),
    });
    const together = result.together && {
      ...result.together,
      top: result.together.top.map((t) => ({ ...t, token: model.toString([t.id]) })),
    };
    const strongest = [...result.features].sort((a, b) => a.changeFromSpliced - b.changeFromSpliced)[0];
    progress.done(
      `P clean ${p(result.baseline)}, spliced ${p(result.spliced)}; largest drop: feature ${strongest.index} ${
        pct(strongest.changeFromSpliced)
      } vs spliced`,
    );
    const d = sae.cfg.d_sae;
    const activation = (i: number) => encoded.features.data[last * d + i];
    if (values.json) {
      console.log(JSON.stringify({
        ...result,
        together: together && (({ changeFromSpliced, ...t }) => ({ ...t, change_from_spliced: changeFromSpliced }))(
          together,
        ),
        error_term: errorTerm,
        features: result.features.map(({ changeFromSpliced, ...f }) => ({
          ...f,
          change_from_spliced: changeFromSpliced,
          activation: activation(f.index),
        })),
      }));
      return 0;
    }
    console.log(
      `P(${JSON.stringify(targetText)}) after ${JSON.stringify(encoded.strTokens[last])}: clean ${
        p(result.baseline)
      }, with ${saeLabel} spliced in ${p(result.spliced)} (${errorTerm ? "with" : "without"} the error term)`,
    );
    if (errorTerm) {
      console.log("  feature  activation  P(target)    change");
      for (const f of result.features) {
        console.log(
          `${String(f.index).padStart(9)} ${activation(f.index).toFixed(3).padStart(11)} ${
            p(f.probability).padStart(10)
          } ${pct(f.change)}`,
        );
      }
    } else {
      console.log("  feature  activation  P(target)  vs spliced  vs clean");
      for (const f of result.features) {
        console.log(
          `${String(f.index).padStart(9)} ${activation(f.index).toFixed(3).padStart(11)} ${
            p(f.probability).padStart(10)
          } ${pct(f.changeFromSpliced).padStart(11)} ${pct(f.change).padStart(9)}`,
        );
      }
      console.log(
        "  vs spliced: the feature's own effect; vs clean also counts the reconstruction error left out",
      );
    }
    if (together) {
      console.log(
        `all ${together.features.length} at once: P(target) ${p(together.probability)} (${
          pct(together.change)
        } vs clean, ${pct(together.changeFromSpliced)} vs spliced); next tokens ${
          together.top.map((t) => `${JSON.stringify(t.token)} ${p(t.prob)}`).join(", ")
        }`,
      );
    }
    return 0;
  }, start);
}
