/**
 * The `sae encode --html` report: one text's tokens with their L0 and strongest features, the reconstruction's
 * summary and the L0 histogram, in one HTML file.
 *
 * @module
 */

import type { TextFeatures } from "../analysis/encode_text.ts";
import { escapeHtml, htmlPage } from "./html.ts";
import { l0Histogram, l0HistogramFigure } from "./l0_histogram_figure.ts";

/** What was encoded, for the report's heading. */
export interface EncodeReportLabels {
  /** The SAE. */
  sae: string;
  /** The text. */
  text: string;
  /** Features of the SAE. */
  dSae: number;
}

/**
 * Renders the encode report.
 *
 * @example
 * ```ts ignore
 * const enc = await encodeText(model, sae, "The State of the Union", { top: 5 });
 * await Deno.writeTextFile("encode.html", encodeReportHtml(enc, { sae: "embedded", text: "...", dSae: 1024 }));
 * ```
 *
 * @param enc The encoded text.
 * @param labels What was encoded.
 * @returns The HTML page.
 */
export function encodeReportHtml(enc: TextFeatures, labels: EncodeReportLabels): string {
  const { summary } = enc;
  const ev = Number.isFinite(summary.explainedVariance)
    ? summary.explainedVariance.toFixed(4)
    : "n/a (it needs two tokens after BOS)";
  const rows = enc.strTokens.map((token, t) => {
    const features = enc.top[t].map((f) => `${f.index}:${f.activation.toFixed(3)}`).join("  ");
    const bos = t < enc.bosPositions ? ' class="muted" title="BOS: left out of the summary and the histogram"' : "";
    return `<tr${bos}><td class="num">${t}</td><td><code>${escapeHtml(JSON.stringify(token))}</code></td>` +
      `<td class="num" data-l0="${t}">${enc.l0[t]}</td><td><code>${escapeHtml(features)}</code></td></tr>`;
  }).join("\n");
  const body = `<h1>SAE features of a text: ${escapeHtml(labels.sae)}</h1>
<p class="muted">${escapeHtml(JSON.stringify(labels.text))} at ${escapeHtml(enc.site.hookName)} · ${enc.tokens.length}
tokens · ${labels.dSae} features</p>
<p id="summary">mean L0 <b>${summary.meanL0.toFixed(2)}</b> · MSE ${summary.mse.toPrecision(4)} · explained variance
<b>${escapeHtml(ev)}</b>${enc.bosPositions > 0 ? " (BOS left out)" : ""}</p>
<table><tr><th>pos</th><th>token</th><th>L0</th><th>top features (index:activation)</th></tr>
${rows}</table>
${l0HistogramFigure(l0Histogram(summary.l0), "of this text")}`;
  return htmlPage(`SAE features: ${labels.sae}`, body);
}
