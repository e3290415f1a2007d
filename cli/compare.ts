/**
 * `sae compare TEXT...`: the features active in every prompt, ranked by mean peak activation.
 *
 * @module
 */

import { sharedFeatures } from "../core/analysis/compare_prompts.ts";
import { encodeText, type TextFeatures } from "../core/analysis/encode_text.ts";
import { neuronpediaQuickListUrl } from "../core/analysis/neuronpedia.ts";
import { nonEmptyTexts } from "./_model.ts";
import { Progress } from "./_progress.ts";
import { numberFlag } from "./_sampling.ts";
import { SAE_FLAGS, SAE_HELP, withSaeAndModel } from "./_sae.ts";
import { checkWritableFolder, parseFlags, positiveInt, UsageError } from "./_usage.ts";
import { writeFileAtomic } from "../core/io/atomic_write.ts";
import { compareReportHtml } from "../core/report/compare_report.ts";

/** Help text of `sae compare`. */
export const COMPARE_HELP =
  `Usage: sae compare [--sae S] [--model M] [--threshold T] [--top N] [--html FILE] [--json] TEXT...

The features whose peak (max over a prompt's tokens, BOS left out) exceeds T in every prompt, ranked by
the mean of their peaks. Where the SAE has a Neuronpedia id (release SAEs, or --neuronpedia-id), also a
quick-list URL of them. Then each prompt's sparsity and reconstruction: its tokens, mean L0 and explained
variance over the tokens after BOS (n/a with fewer than two).

Options:
${SAE_HELP}
  --threshold T    smallest peak that counts as active (default 0.5)
  --top N          features listed (default 20; --json lists all)
  --html FILE      write a report: mean L0 against explained variance, one point per prompt (the sparsity
                   against reconstruction plot), the histogram of L0 per token over all prompts (BOS left
                   out) and the shared features
  --json           print JSON: threshold, prompts, features [{"index", "mean", "peaks"}], quick_list_url,
                   prompt_stats [{"tokens", "mean_l0", "explained_variance" (null where undefined)}]
  -h, --help       show this help`;

/**
 * Runs `sae compare`.
 *
 * @example
 * ```ts ignore
 * await compare(["--threshold", "0.5", "The cat sat", "A cat ran"]);
 * ```
 *
 * @param args Arguments after the verb.
 * @returns The exit code.
 */
export async function compare(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    ...SAE_FLAGS,
    threshold: { type: "string" },
    top: { type: "string" },
    html: { type: "string" },
    json: { type: "boolean" },
  });
  if (values.help) {
    console.log(COMPARE_HELP);
    return 0;
  }
  if (positionals.length < 2) throw new UsageError("sae compare takes at least two TEXT arguments");
  nonEmptyTexts(positionals, "compare");
  const threshold = numberFlag(values.threshold, "--threshold") ?? 0.5;
  const top = positiveInt(values.top, "--top") ?? 20;
  if (values.html !== undefined) await checkWritableFolder(values.html, "--html");
  return await withSaeAndModel(values, async ({ sae, model, saeLabel }) => {
    const encoded: TextFeatures[] = [];
    const progress = new Progress("compare", positionals.length, "prompts");
    let tokens = 0;
    for (const text of positionals) {
      encoded.push(await encodeText(model, sae, text, { top: 1 }));
      tokens += encoded.at(-1)!.tokens.length;
      progress.update(encoded.length, tokens);
    }
    const shared = sharedFeatures(encoded, threshold);
    progress.done(`${shared.length} features peak above ${threshold} in every prompt`);
    const npId = sae.cfg.metadata.neuronpedia_id;
    const url = typeof npId === "string" && shared.length > 0
      ? neuronpediaQuickListUrl(npId, shared.slice(0, top).map((f) => f.index), "sae compare")
      : null;
    const stats = encoded.map(({ tokens, summary }) => ({
      tokens: tokens.length,
      mean_l0: summary.meanL0,
      explained_variance: Number.isFinite(summary.explainedVariance) ? summary.explainedVariance : null,
    }));
    if (values.html !== undefined) {
      await writeFileAtomic(
        values.html,
        compareReportHtml(encoded, shared, { sae: saeLabel, texts: positionals, threshold }),
      );
    }
    if (values.json) {
      console.log(JSON.stringify({
        threshold,
        prompts: positionals,
        features: shared,
        quick_list_url: url,
        prompt_stats: stats,
      }));
      return 0;
    }
    console.log(
      `${shared.length} features of ${saeLabel} peak above ${threshold} in all ${positionals.length} prompts`,
    );
    if (shared.length > 0) {
      console.log(`  feature      mean  ${positionals.map((_, p) => `prompt ${p + 1}`.padStart(9)).join(" ")}`);
    }
    for (const f of shared.slice(0, top)) {
      console.log(
        `${String(f.index).padStart(9)} ${f.mean.toFixed(3).padStart(9)}  ${
          f.peaks.map((v) => v.toFixed(3).padStart(9)).join(" ")
        }`,
      );
    }
    if (url) console.log(`Neuronpedia quick list: ${url}`);
    console.log("  prompt   tokens   mean L0   explained variance");
    stats.forEach((st, p) => {
      const ev = st.explained_variance === null ? "n/a" : st.explained_variance.toFixed(4);
      console.log(
        `${String(p + 1).padStart(8)} ${String(st.tokens).padStart(8)} ${st.mean_l0.toFixed(2).padStart(9)}   ${ev}`,
      );
    });
    if (values.html !== undefined) console.log(`Report written to ${values.html}`);
    return 0;
  }, { verb: "compare", inputs: { prompts: String(positionals.length) } });
}
