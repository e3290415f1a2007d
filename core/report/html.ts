/**
 * Pieces of the self-contained HTML reports: escaping, a page shell with inline style and script (no
 * network needed to view it), and histograms drawn as inline SVG.
 *
 * @module
 */

import type { Histogram } from "../eval/histogram.ts";

/**
 * Escapes text for HTML content and attribute values.
 *
 * @example
 * ```ts
 * import { escapeHtml } from "./html.ts";
 * console.log(escapeHtml(`<b a="1">&`)); // "&lt;b a=&quot;1&quot;&gt;&amp;"
 * ```
 *
 * @param text Any text.
 * @returns The escaped text.
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** Options of {@linkcode histogramSvg}. */
export interface HistogramSvgOptions {
  /** Drawing width in pixels. @default {360} */
  width?: number;
  /** Drawing height in pixels. @default {140} */
  height?: number;
  /** Bar colour, or one per bar. @default {"#e8833a"} */
  color?: string | readonly string[];
  /** Caption under the x axis. */
  xLabel?: string;
}

function formatTick(v: number): string {
  return Math.abs(v) >= 100 || v === 0 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(1) : v.toPrecision(2);
}

/**
 * A histogram as an inline SVG bar chart; each bar's `<title>` gives its range and count on hover.
 *
 * @example
 * ```ts
 * import { histogramSvg } from "./html.ts";
 * import { histogram } from "../eval/histogram.ts";
 * const svg = histogramSvg(histogram([1, 2, 2, 3], 3), { xLabel: "activation" });
 * console.log(svg.startsWith("<svg")); // true
 * ```
 *
 * @param hist The histogram.
 * @param options Size, colours, axis caption.
 * @returns The SVG markup.
 */
export function histogramSvg(hist: Histogram, options: HistogramSvgOptions = {}): string {
  const { width = 360, height = 140, color = "#e8833a", xLabel } = options;
  const pad = { left: 36, right: 8, top: 6, bottom: xLabel ? 34 : 20 };
  const plotW = width - pad.left - pad.right, plotH = height - pad.top - pad.bottom;
  const top = Math.max(1, ...hist.counts);
  const barW = plotW / hist.counts.length;
  const bars = hist.counts.map((count, i) => {
    const h = (count / top) * plotH;
    const fill = typeof color === "string" ? color : color[i];
    const range = `${hist.edges[i].toPrecision(4)} to ${hist.edges[i + 1].toPrecision(4)}`;
    return `<rect x="${(pad.left + i * barW).toFixed(2)}" y="${(pad.top + plotH - h).toFixed(2)}" width="${
      Math.max(barW - 1, 0.5).toFixed(2)
    }" height="${h.toFixed(2)}" fill="${fill}"><title>${range}: ${count}</title></rect>`;
  }).join("");
  const first = hist.edges[0], last = hist.edges[hist.edges.length - 1];
  const axis =
    `<line x1="${pad.left}" y1="${pad.top + plotH}" x2="${width - pad.right}" y2="${pad.top + plotH}" stroke="#888"/>` +
    `<text x="${pad.left}" y="${pad.top + plotH + 13}" font-size="10">${formatTick(first)}</text>` +
    `<text x="${width - pad.right}" y="${pad.top + plotH + 13}" font-size="10" text-anchor="end">${
      formatTick(last)
    }</text>` +
    `<text x="${pad.left - 4}" y="${pad.top + 9}" font-size="10" text-anchor="end">${top}</text>` +
    (xLabel
      ? `<text x="${pad.left + plotW / 2}" y="${height - 4}" font-size="11" text-anchor="middle">${
        escapeHtml(xLabel)
      }</text>`
      : "");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img">${bars}${axis}</svg>`;
}

/**
 * A complete HTML page with inline style and script.
 *
 * @example
 * ```ts
 * import { htmlPage } from "./html.ts";
 * console.log(htmlPage("Title", "<p>hi</p>").includes("<title>Title</title>")); // true
 * ```
 *
 * @param title Page title.
 * @param body Body markup.
 * @param extra Extra CSS and a script (placed at the end of the body).
 * @returns The page.
 */
export function htmlPage(title: string, body: string, extra: { css?: string; script?: string } = {}): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 1.2em; }
table { border-collapse: collapse; } td, th { padding: 2px 10px; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: #777; font-size: 0.9em; }
${extra.css ?? ""}
</style></head>
<body>
${body}
${extra.script ? `<script>\n${extra.script}\n</script>` : ""}
</body></html>
`;
}
