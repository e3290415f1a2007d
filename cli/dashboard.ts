/**
 * `sae dashboard`: SAEDashboard-style feature pages in one self-contained HTML file, or their data in
 * Neuronpedia's JSON fields.
 *
 * @module
 */

import { featureDashboards } from "../core/analysis/feature_dashboard.ts";
import { SOTU } from "../core/data/documents.ts";
import { writeFileAtomic } from "../core/io/atomic_write.ts";
import { dashboardHtml } from "../core/report/dashboard_html.ts";
import { DATASET_FLAGS, DATASET_HELP, openDataset } from "./_dataset.ts";
import { logLine, Progress } from "./_progress.ts";
import { featureList, SAE_FLAGS, SAE_HELP, withSaeAndModel } from "./_sae.ts";
import { checkWritableFolder, parseFlags, positiveInt, UsageError } from "./_usage.ts";

/** Help text of `sae dashboard`. */
export const DASHBOARD_HELP =
  `Usage: sae dashboard [--sae S] [--model M] [--dataset D] --features LIST [--tokens N] (--out FILE.html | --json)

Runs the model and SAE over a dataset and, for each feature in LIST (e.g. 0-9,14057), shows its top 20
activating examples and examples from 10 equal-width activation intervals (±5 tokens of context, shaded
by activation, values on hover), the histogram of its non-zero activations (50 bins) with its density,
the top and bottom 10 tokens of W_dec[f] · W_U with their histogram, and its Neuronpedia link.

Options:
${SAE_HELP}
${DATASET_HELP}
  --features LIST  feature indices and ranges, e.g. 0-9,14057 (required)
  --tokens N       tokens to read (default 65536)
  --batch-size B   rows per forward pass (default 8)
  --out FILE.html  write the dashboard page (one self-contained file with a feature picker)
  --json           print the data as JSON in Neuronpedia's field names
  -h, --help       show this help`;

/**
 * Runs `sae dashboard`.
 *
 * @example
 * ```ts ignore
 * await dashboard(["--features", "0-9", "--out", "dash.html"]);
 * ```
 *
 * @param args Arguments after the verb.
 * @returns The exit code.
 */
export async function dashboard(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    ...SAE_FLAGS,
    ...DATASET_FLAGS,
    features: { type: "string" },
    tokens: { type: "string" },
    "batch-size": { type: "string" },
    out: { type: "string" },
    json: { type: "boolean" },
  });
  if (values.help) {
    console.log(DASHBOARD_HELP);
    return 0;
  }
  if (positionals.length > 0) {
    throw new UsageError(`sae dashboard takes no positional arguments: got ${positionals[0]}`);
  }
  if (values.features === undefined) throw new UsageError("--features is required, e.g. --features 0-9,14057");
  const featureSpec = values.features; // narrowed, for the callback below
  if (values.out === undefined && !values.json) throw new UsageError("pass --out FILE.html, --json or both");
  const maxTokens = positiveInt(values.tokens, "--tokens") ?? 65536;
  const batchSize = positiveInt(values["batch-size"], "--batch-size") ?? 8;
  if (values.out !== undefined) await checkWritableFolder(values.out, "--out");
  const start = {
    verb: "dashboard",
    inputs: { dataset: values.dataset ?? SOTU, features: featureSpec, tokens: String(maxTokens) },
  };
  return await withSaeAndModel(values, async ({ sae, model, saeLabel }) => {
    const features = featureList(featureSpec, sae.cfg.d_sae);
    const dataset = await openDataset(values, model, sae);
    logLine(`sae dashboard: dataset ${dataset.label} opened, rows of ${dataset.contextSize} tokens; reading`);
    const progress = new Progress("dashboard", Math.ceil(maxTokens / dataset.contextSize));
    const dash = await featureDashboards(model, sae, dataset.rows(), features, {
      batchSize,
      maxTokens,
      dataset: dataset.label,
      onProgress: (rows, tokens) => progress.update(rows, tokens),
    });
    const dead = dash.features.filter((f) => f.frac_nonzero === 0).length;
    progress.done(`${features.length} features, ${dead} never fired in ${dash.n_tokens} tokens`);
    if (values.out !== undefined) {
      await writeFileAtomic(values.out, dashboardHtml(dash, { sae: saeLabel, dataset: dataset.label }));
    }
    if (values.json) console.log(JSON.stringify(dash));
    else {console.log(
        `Dashboards of ${features.length} features (${dash.n_tokens} tokens read) written to ${values.out}`,
      );}
    return 0;
  }, start);
}
