/**
 * The `sae eval --html` report: the metrics, the feature-density histogram and the L0 histogram in one HTML file.
 *
 * @module
 */

import type { SaeEvaluation } from "../eval/evaluate_sae.ts";
import { escapeHtml, histogramSvg, htmlPage } from "./html.ts";
import { l0HistogramFigure } from "./l0_histogram_figure.ts";

/** What was evaluated, for the report's heading. */
export interface EvalReportLabels {
  /** The SAE. */
  sae: string;
  /** The model. */
  model: string;
  /** The dataset. */
  dataset: string;
}

/** Below this many tokens, dead and dense counts get a warning: densities under 1e-5 cannot show. */
export const SMALL_SAMPLE_TOKENS = 100_000;

/**
 * The warning that dead and dense counts come from few tokens, or undefined when there are enough.
 *
 * @example
 * ```ts
 * import { densitySampleWarning } from "./eval_report.ts";
 * console.log(densitySampleWarning({ tokens: 1024 })?.startsWith("dead and dense counts come from only 1024 tokens")); // true
 * console.log(densitySampleWarning({ tokens: 1e6 })); // undefined
 * ```
 *
 * @param m The evaluation (its token count).
 * @returns The warning, if any.
 */
export function densitySampleWarning(m: Pick<SaeEvaluation, "tokens">): string | undefined {
  if (m.tokens >= SMALL_SAMPLE_TOKENS) return undefined;
  return `dead and dense counts come from only ${m.tokens} tokens: a feature firing on fewer than 1 in ${m.tokens} ` +
    `tokens counts as dead; evaluate ${SMALL_SAMPLE_TOKENS} tokens or more (--batches) for counts to trust`;
}

const ROWS: [keyof SaeEvaluation, string][] = [
  ["l0", "L0 (mean active features per token)"],
  ["l1", "L1 (mean Σ f)"],
  ["mse", "MSE per element"],
  ["cossim", "cosine similarity of x and x̂"],
  ["l2_ratio", "‖x̂‖ / ‖x‖"],
  ["explained_variance", "explained variance"],
  ["ce_orig", "CE loss, model alone"],
  ["ce_sae", "CE loss, SAE spliced in"],
  ["ce_zero_ablation", "CE loss, hook zero-ablated"],
  ["ce_loss_score", "CE loss score"],
  ["kl_div_sae", "KL(orig ‖ SAE)"],
  ["kl_div_zero_ablation", "KL(orig ‖ zero-ablated)"],
  ["kl_div_score", "KL divergence score"],
  ["dead_features", "dead features (never fired)"],
  ["dense_features", "dense features (density > 0.1)"],
];

/**
 * Renders the eval report.
 *
 * @example
 * ```ts ignore
 * await Deno.writeTextFile("eval.html", evalReportHtml(metrics, { sae: "sae-standard", model: "gpt2", dataset: "sotu" }));
 * ```
 *
 * @param m The metrics.
 * @param labels What was evaluated.
 * @returns The HTML page.
 */
export function evalReportHtml(m: SaeEvaluation, labels: EvalReportLabels): string {
  const warning = densitySampleWarning(m);
  const rows = ROWS.map(([key, name]) => {
    const v = m[key] as number;
    const shown = Number.isInteger(v) ? String(v) : v.toFixed(5);
    return `<tr><td>${
      escapeHtml(name)
    }</td><td class="num" data-metric="${key}">${shown}</td><td class="muted">${key}</td></tr>`;
  }).join("\n");
  const body = `<h1>SAE evaluation: ${escapeHtml(labels.sae)}</h1>
<p class="muted">model ${escapeHtml(labels.model)} · dataset ${
    escapeHtml(labels.dataset)
  } · ${m.rows} rows, ${m.tokens} tokens ·
${m.d_sae} features. Reconstruction metrics leave out each row's opening BOS; CE and KL count every position.</p>
<table>${rows}</table>
${warning ? `<p class="warning" id="sample-warning">Warning: ${escapeHtml(warning)}.</p>` : ""}
<figure id="density-histogram">
<h2>Feature density</h2>
<p class="muted">log10(fraction of tokens where the feature fires + 1e-10), ${m.d_sae} features; dead ones sit at −10,
and no density below 1 in ${m.tokens} tokens (${Math.log10(1 / m.tokens).toFixed(1)}) can show.</p>
${
    histogramSvg(m.log_density_histogram, {
      width: 640,
      height: 240,
      color: "#4a7fb5",
      xLabel: "log10 feature density",
      yLabel: "features",
    })
  }
</figure>
${l0HistogramFigure(m.l0_histogram, `${m.rows} rows of ${labels.dataset}`)}`;
  return htmlPage(`SAE evaluation: ${labels.sae}`, body, { css: ".warning { color: #8a4b00; }" });
}
