/**
 * `sae feature INDEX TEXT...`: how strongly one feature fires on each text, and where it peaks.
 *
 * @module
 */

import { encodeText } from "../core/analysis/encode_text.ts";
import { type FeaturePeak, featurePeak } from "../core/analysis/feature_probe.ts";
import { neuronpediaFeatureUrl } from "../core/analysis/neuronpedia.ts";
import { nonEmptyTexts } from "./_model.ts";
import { Progress } from "./_progress.ts";
import { featureIndex, SAE_FLAGS, SAE_HELP, withSaeAndModel } from "./_sae.ts";
import { parseFlags, UsageError, wholeNumber } from "./_usage.ts";

/** Help text of `sae feature`. */
export const FEATURE_HELP = `Usage: sae feature [--sae S] [--model M] [--neuronpedia] [--json] INDEX TEXT...

For each TEXT, the largest activation of feature INDEX over its tokens (drawn as a bar) and the token
where it peaks.

Options:
${SAE_HELP}
  --neuronpedia    also print the feature's Neuronpedia URL (SAEs from a release, or with --neuronpedia-id)
  --json           print JSON: index, per text its max, position, token (null where the feature never fires
                   after BOS) and activations, neuronpedia_url
  -h, --help       show this help`;

function bar(value: number, max: number, width = 30): string {
  const n = max > 0 ? Math.round(width * Math.max(value, 0) / max) : 0;
  return "█".repeat(n).padEnd(width, "·");
}

/**
 * Runs `sae feature`.
 *
 * @example
 * ```ts ignore
 * await feature(["--sae", "gpt2-small-res-jb/blocks.8.hook_resid_pre", "1234", "The cat sat"]);
 * ```
 *
 * @param args Arguments after the verb.
 * @returns The exit code.
 */
export async function feature(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    ...SAE_FLAGS,
    neuronpedia: { type: "boolean" },
    json: { type: "boolean" },
  });
  if (values.help) {
    console.log(FEATURE_HELP);
    return 0;
  }
  const [index, ...texts] = positionals;
  if (index === undefined || texts.length === 0) {
    throw new UsageError("sae feature takes a feature INDEX and at least one TEXT");
  }
  wholeNumber(index, "The feature index"); // checked before the slow loads; its range after
  nonEmptyTexts(texts, "feature");
  return await withSaeAndModel(values, async ({ sae, model, saeLabel }) => {
    const i = featureIndex(index, sae.cfg.d_sae);
    const npId = sae.cfg.metadata.neuronpedia_id;
    if (values.neuronpedia && typeof npId !== "string") {
      throw new UsageError(
        `The SAE ${saeLabel} has no Neuronpedia id (metadata.neuronpedia_id): SAEs loaded from a release have one; for a local SAE pass --neuronpedia-id MODEL/SET`,
      );
    }
    const url = typeof npId === "string" ? neuronpediaFeatureUrl(npId, i) : null;
    const peaks: FeaturePeak[] = [];
    const progress = new Progress("feature", texts.length, "texts");
    let tokens = 0;
    for (const text of texts) {
      const encoded = await encodeText(model, sae, text, { top: 1 });
      peaks.push(featurePeak(encoded, i));
      tokens += encoded.tokens.length;
      progress.update(peaks.length, tokens);
    }
    const best = peaks.reduce((b, p, t) => p.max > peaks[b].max ? t : b, 0);
    progress.done(
      peaks[best].position === null
        ? `feature ${i} never fires after BOS in these texts`
        : `feature ${i} peaks at ${peaks[best].max.toFixed(3)} in text ${best + 1}`,
    );
    if (values.json) {
      console.log(JSON.stringify({
        index: i,
        neuronpedia_url: url,
        texts: texts.map((text, t) => ({ text, ...peaks[t] })),
      }));
      return 0;
    }
    const top = Math.max(...peaks.map((p) => p.max));
    console.log(`feature ${i} of ${saeLabel} (${sae.cfg.metadata.hook_name})`);
    texts.forEach((text, t) => {
      const p = peaks[t];
      const where = p.position === null ? "never fires after BOS" : `peak at ${p.position} ${JSON.stringify(p.token)}`;
      console.log(`${p.max.toFixed(3).padStart(9)} ${bar(p.max, top)}  ${where}  ${JSON.stringify(text)}`);
    });
    if (values.neuronpedia && url) console.log(url);
    return 0;
  }, { verb: "feature", inputs: { feature: index, texts: String(texts.length) } });
}
