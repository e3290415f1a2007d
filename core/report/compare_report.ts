/**
 * The `sae compare --html` report: sparsity against reconstruction over several texts (each text's mean L0 and
 * explained variance, one point each), the L0 histogram over all their tokens, and the features active in every
 * text.
 *
 * @module
 */

import type { SharedFeature } from "../analysis/compare_prompts.ts";
import type { TextFeatures } from "../analysis/encode_text.ts";
import { escapeHtml, htmlPage, scatterSvg } from "./html.ts";
import { l0Histogram, l0HistogramFigure } from "./l0_histogram_figure.ts";

/** What was compared, for the report's heading. */
export interface CompareReportLabels {
  /** The SAE. */
  sae: string;
  /** The texts, in order. */
  texts: readonly string[];
  /** The peak a shared feature exceeds in every text. */
  threshold: number;
}

/**
 * Renders the compare report.
 *
 * @example
 * ```ts ignore
 * const encoded = await Promise.all(texts.map((t) => encodeText(model, sae, t)));
 * const html = compareReportHtml(encoded, sharedFeatures(encoded, 0.5), { sae: "embedded", texts, threshold: 0.5 });
 * ```
 *
 * @param encoded Each text encoded.
 * @param shared The features active in every text.
 * @param labels What was compared.
 * @returns The HTML page.
 */
export function compareReportHtml(
  encoded: readonly TextFeatures[],
  shared: readonly SharedFeature[],
  labels: CompareReportLabels,
): string {
  const points = encoded.map((e, i) => ({
    x: e.summary.meanL0,
    y: e.summary.explainedVariance,
    label: `text ${i + 1}: ${JSON.stringify(labels.texts[i]).slice(0, 60)}`,
  }));
  const undefinedEv = points.filter((p) => !Number.isFinite(p.y)).length;
  const rows = encoded.map((e, i) => {
    const ev = Number.isFinite(e.summary.explainedVariance) ? e.summary.explainedVariance.toFixed(4) : "n/a";
    return `<tr><td class="num">${
      i + 1
    }</td><td class="num">${e.tokens.length}</td><td class="num" data-mean-l0="${i}">${
      e.summary.meanL0.toFixed(2)
    }</td><td class="num">${ev}</td><td>${escapeHtml(JSON.stringify(labels.texts[i]))}</td></tr>`;
  }).join("\n");
  const features = shared.slice(0, 50).map((f) =>
    `<tr><td class="num">${f.index}</td><td class="num">${f.mean.toFixed(3)}</td><td class="muted">${
      f.peaks.map((p) => p.toFixed(3)).join(" ")
    }</td></tr>`
  ).join("\n");
  const body = `<h1>SAE over ${encoded.length} texts: ${escapeHtml(labels.sae)}</h1>
<figure id="sparsity-reconstruction">
<h2>Sparsity against reconstruction</h2>
<p class="muted">Each text's mean L0 and explained variance over its tokens after BOS, one point per text${
    undefinedEv > 0
      ? `; ${undefinedEv} text${
        undefinedEv === 1 ? "" : "s"
      } with fewer than two tokens after BOS left out (no variance)`
      : ""
  }.</p>
${
    scatterSvg(points, {
      width: 640,
      height: 320,
      xLabel: "mean L0 (active features per token)",
      yLabel: "explained variance",
    })
  }
</figure>
<table><tr><th>text</th><th>tokens</th><th>mean L0</th><th>explained variance</th><th></th></tr>
${rows}</table>
${l0HistogramFigure(l0Histogram(encoded.flatMap((e) => e.summary.l0)), `of ${encoded.length} texts`)}
<h2>Features above ${labels.threshold} in every text</h2>
${
    shared.length === 0
      ? `<p id="no-shared">No feature peaks above ${labels.threshold} in every text.</p>`
      : `<table><tr><th>feature</th><th>mean peak</th><th>peak per text</th></tr>
${features}</table>${shared.length > 50 ? `<p class="muted">${shared.length - 50} more in --json.</p>` : ""}`
  }`;
  return htmlPage(`SAE over ${encoded.length} texts: ${labels.sae}`, body);
}
