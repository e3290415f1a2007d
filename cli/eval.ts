/**
 * `sae eval`: SAELens's evals (sparsity, reconstruction, CE and KL with the SAE spliced in) on a dataset.
 *
 * @module
 */

import { evaluateSae } from "../core/eval/evaluate_sae.ts";
import { writeFileAtomic } from "../core/io/atomic_write.ts";
import { SOTU } from "../core/data/documents.ts";
import { densitySampleWarning, evalReportHtml } from "../core/report/eval_report.ts";
import { DATASET_FLAGS, DATASET_HELP, openDataset } from "./_dataset.ts";
import { logLine, Progress } from "./_progress.ts";
import { SAE_FLAGS, SAE_HELP, withSaeAndModel } from "./_sae.ts";
import { checkWritableFolder, parseFlags, positiveInt, UsageError } from "./_usage.ts";

/** Help text of `sae eval`. */
export const EVAL_HELP =
  `Usage: sae eval [--sae S] [--model M] [--dataset D] [--batches N|all] [--batch-size B] [--context-size C] [--json] [--html FILE]

SAELens's evals of an SAE on rows of a dataset: L0, L1, MSE, cosine similarity, l2 ratio and explained
variance at the hook (each row's opening BOS left out); the model's CE loss alone, with the SAE spliced in
and with the hook zero-ablated, ce_loss_score, KL divergences and kl_div_score (every position); dead and
dense feature counts and the log feature-density histogram.

Options:
${SAE_HELP}
${DATASET_HELP}
  --batches N      batches to evaluate, or "all" (default 10, SAELens's n_eval_batches)
  --batch-size B   rows per batch (default 8)
  --json           print the metrics as JSON (with feature_density and log_density_histogram)
  --html FILE      also write an HTML report with the metrics and the density histogram
  -h, --help       show this help`;

/**
 * Runs `sae eval`.
 *
 * @example
 * ```ts ignore
 * await evalVerb(["--sae", "sae-standard", "--dataset", "reference-dev.safetensors", "--json"]);
 * ```
 *
 * @param args Arguments after the verb.
 * @returns The exit code.
 */
export async function evalVerb(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    ...SAE_FLAGS,
    ...DATASET_FLAGS,
    batches: { type: "string" },
    "batch-size": { type: "string" },
    json: { type: "boolean" },
    html: { type: "string" },
  });
  if (values.help) {
    console.log(EVAL_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`sae eval takes no positional arguments: got ${positionals[0]}`);
  const maxBatches = values.batches === "all" ? Infinity : positiveInt(values.batches, "--batches") ?? 10;
  const batchSize = positiveInt(values["batch-size"], "--batch-size") ?? 8;
  if (values.html !== undefined) await checkWritableFolder(values.html, "--html");
  const start = { verb: "eval", inputs: { dataset: values.dataset ?? SOTU } };
  return await withSaeAndModel(values, async ({ sae, model, saeLabel }) => {
    const dataset = await openDataset(values, model, sae);
    logLine(`sae eval: dataset ${dataset.label} opened, rows of ${dataset.contextSize} tokens; reading`);
    const progress = new Progress("eval", Number.isFinite(maxBatches) ? maxBatches * batchSize : undefined);
    const m = await evaluateSae(model, sae, dataset.rows(), {
      batchSize,
      maxBatches,
      onProgress: (rows, tokens, sofar) =>
        progress.update(
          rows,
          tokens,
          `L0 ${sofar.l0.toFixed(2)}, explained variance ${sofar.explained_variance.toFixed(4)}, ce_loss_score ${
            sofar.ce_loss_score.toFixed(4)
          }`,
        ),
    });
    progress.done(
      `L0 ${m.l0.toFixed(2)}, explained variance ${m.explained_variance.toFixed(4)}, ce_loss_score ${
        m.ce_loss_score.toFixed(4)
      }, dead ${m.dead_features} of ${m.d_sae}`,
    );
    const warning = densitySampleWarning(m);
    if (values.html !== undefined) {
      const labels = {
        sae: saeLabel,
        model: values.model ?? String(sae.cfg.metadata.model_name),
        dataset: dataset.label,
      };
      await writeFileAtomic(values.html, evalReportHtml(m, labels));
    }
    if (values.json) {
      console.log(JSON.stringify({
        sae: saeLabel,
        dataset: dataset.label,
        context_size: dataset.contextSize,
        ...m,
        warnings: warning ? [warning] : [],
      }));
      return 0;
    }
    const f = (v: number) => v.toFixed(4);
    console.log(`${saeLabel} on ${dataset.label}: ${m.rows} rows of ${dataset.contextSize} tokens`);
    console.log(`  L0 ${f(m.l0)}   L1 ${f(m.l1)}   MSE ${f(m.mse)}   cos ${f(m.cossim)}   l2 ratio ${f(m.l2_ratio)}`);
    console.log(`  explained variance ${f(m.explained_variance)}`);
    console.log(`  CE orig ${f(m.ce_orig)}   with SAE ${f(m.ce_sae)}   zero-ablated ${f(m.ce_zero_ablation)}`);
    console.log(
      `  ce_loss_score ${f(m.ce_loss_score)}   KL with SAE ${f(m.kl_div_sae)}   kl_div_score ${f(m.kl_div_score)}`,
    );
    console.log(`  dead features ${m.dead_features}   dense (>10%) ${m.dense_features}   of ${m.d_sae}`);
    if (warning) console.log(`  warning: ${warning}`);
    if (values.html !== undefined) console.log(`Report written to ${values.html}`);
    return 0;
  }, start);
}
