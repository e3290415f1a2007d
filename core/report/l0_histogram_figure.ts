/**
 * The L0 histogram of the reports (`sae eval --html`, `sae encode --html`, `sae compare --html`): how many features
 * are active per token, BOS left out, the first plot of SAELens's basic-loading notebook.
 *
 * @module
 */

import { type Histogram, integerHistogram } from "../eval/histogram.ts";
import { escapeHtml, histogramSvg } from "./html.ts";

/**
 * The L0 histogram of a list of per-token L0s (whole numbers).
 *
 * @example
 * ```ts
 * import { l0Histogram } from "./l0_histogram_figure.ts";
 * console.log(l0Histogram([3, 3, 5]).counts); // [2, 0, 1]
 * ```
 *
 * @param l0 Active features of each token.
 * @returns As {@linkcode integerHistogram} bins it.
 */
export function l0Histogram(l0: readonly number[]): Histogram {
  const counts: number[] = [];
  for (const v of l0) counts[v] = (counts[v] ?? 0) + 1;
  return integerHistogram(Array.from(counts, (c) => c ?? 0));
}

/**
 * A titled figure with the L0 histogram, its id `l0-histogram`.
 *
 * @example
 * ```ts
 * import { l0HistogramFigure } from "./l0_histogram_figure.ts";
 * import { integerHistogram } from "../eval/histogram.ts";
 * const html = l0HistogramFigure(integerHistogram([0, 1, 3, 2]), "6 tokens");
 * console.log(html.includes('id="l0-histogram"')); // true
 * ```
 *
 * @param hist L0 per token, as {@linkcode integerHistogram} bins it.
 * @param what What the tokens are, e.g. "512 tokens of sotu".
 * @returns The markup.
 */
export function l0HistogramFigure(hist: Histogram, what: string): string {
  const total = hist.counts.reduce((a, b) => a + b, 0);
  const width = hist.edges[1] - hist.edges[0];
  return `<figure id="l0-histogram">
<h2>L0 per token</h2>
<p class="muted">Active features of each of ${total} tokens (${escapeHtml(what)}), each sequence's opening BOS left
out; each bar ${width === 1 ? "one L0 value" : `${width} L0 values`} wide.</p>
${
    histogramSvg(hist, {
      width: 640,
      height: 240,
      color: "#5a9e6f",
      xLabel: "L0 (active features per token)",
      yLabel: "tokens",
    })
  }
</figure>`;
}
