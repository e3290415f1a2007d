/**
 * Pieces of the self-contained HTML reports: escaping, a page shell with inline style and script (no
 * network needed to view it), and histograms and scatter plots drawn as inline SVG.
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
  /** Drawing height in pixels. @default {150} */
  height?: number;
  /** Bar colour, or one per bar. @default {"#e8833a"} */
  color?: string | readonly string[];
  /** Caption under the x axis. */
  xLabel?: string;
  /** Caption along the y axis. @default {"count"} */
  yLabel?: string;
}

/**
 * Round tick positions covering [lo, hi]: steps of 1, 2 or 5 times a power of ten, about `count` of them.
 *
 * @example
 * ```ts
 * import { niceTicks } from "./html.ts";
 * console.log(niceTicks(-10, 0)); // [-10, -8, -6, -4, -2, 0]
 * console.log(niceTicks(0, 27915, 4)); // [0, 10000, 20000]
 * ```
 *
 * @param lo Low end.
 * @param hi High end.
 * @param count Ticks wanted, roughly. @default {5}
 * @returns The ticks, ascending, inside [lo, hi].
 */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo) || !Number.isFinite(lo) || !Number.isFinite(hi)) return [lo];
  const raw = (hi - lo) / count;
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const n = raw / power;
  const step = (n < 1.5 ? 1 : n < 3 ? 2 : n < 7 ? 5 : 10) * power;
  const ticks = [];
  // a little slack so that ends equal to a tick up to rounding keep it
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) {
    ticks.push(Number((k * step).toPrecision(12)));
  }
  return ticks;
}

/**
 * A tick label with as many decimals as the tick step needs.
 *
 * @example
 * ```ts
 * import { formatTick } from "./html.ts";
 * console.log(formatTick(0.25, 0.05), formatTick(20000, 10000)); // "0.25" "20000"
 * ```
 *
 * @param value The tick.
 * @param step The distance between ticks.
 * @returns The label.
 */
export function formatTick(value: number, step: number): string {
  const decimals = step > 0 && Number.isFinite(step) ? Math.max(0, -Math.floor(Math.log10(step) + 1e-9)) : 0;
  return (Object.is(value, -0) ? 0 : value).toFixed(Math.min(decimals, 6));
}

/**
 * An SVG text element of the reports' charts (10 px unless `extra` says otherwise), its label escaped.
 *
 * @example
 * ```ts
 * import { svgText } from "./html.ts";
 * console.log(svgText(10, 20, "middle", "a<b")); // <text x="10.0" y="20.0" font-size="10" text-anchor="middle">a&lt;b</text>
 * ```
 *
 * @param x Anchor x in pixels.
 * @param y Baseline y in pixels.
 * @param anchor The `text-anchor`: "start", "middle" or "end".
 * @param label The text.
 * @param extra Further attributes, with a leading space. @default {""}
 * @returns The markup.
 */
export function svgText(x: number, y: number, anchor: string, label: string, extra = ""): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-size="10" text-anchor="${anchor}"${extra}>${
    escapeHtml(label)
  }</text>`;
}

/** What {@linkcode svgAxes} draws: the drawing's size, the plot's padding, its scales, ticks and captions. */
export interface SvgAxesSpec {
  /** Drawing width in pixels. */
  width: number;
  /** Drawing height in pixels. */
  height: number;
  /** Room around the plot in pixels; the axes run along its left and bottom edges. */
  pad: { left: number; right: number; top: number; bottom: number };
  /** Pixel x of a value on the x axis. */
  xAt: (value: number) => number;
  /** Pixel y of a value on the y axis. */
  yAt: (value: number) => number;
  /** Values ticked on the x axis. */
  xTicks: readonly number[];
  /** Distance between x ticks, for their labels' decimals ({@linkcode formatTick}). */
  xStep: number;
  /** Values ticked on the y axis. */
  yTicks: readonly number[];
  /** Distance between y ticks, for their labels' decimals. */
  yStep: number;
  /** Caption under the x axis, bold; none when absent or empty. */
  xLabel?: string;
  /** Caption along the y axis, rotated; none when absent or empty. */
  yLabel?: string;
  /** Title above the plot, bold 12 px; none when absent or empty. */
  title?: string;
}

/**
 * The axes of the reports' charts as SVG markup: the frame's left and bottom lines, x ticks with labels (class
 * `x-tick`), y ticks with labels (class `y-tick`), the rotated y caption, the x caption and a title. Charts draw
 * their marks and put this beside them in one `<svg>`.
 *
 * @example Axes of a 0-10 by 0-1 plot
 * ```ts
 * import { svgAxes } from "./html.ts";
 * const pad = { left: 40, right: 10, top: 10, bottom: 36 };
 * const axes = svgAxes({
 *   width: 300,
 *   height: 200,
 *   pad,
 *   xAt: (v) => pad.left + v / 10 * 250,
 *   yAt: (v) => pad.top + 154 - v * 154,
 *   xTicks: [0, 5, 10],
 *   xStep: 5,
 *   yTicks: [0, 0.5, 1],
 *   yStep: 0.5,
 *   xLabel: "step",
 *   yLabel: "loss",
 * });
 * console.log(axes.match(/class="x-tick"/g)?.length, axes.includes(">0.5</text>")); // 3 true
 * ```
 *
 * @param spec Size, padding, scales, ticks and captions.
 * @returns The markup, without the enclosing `<svg>`.
 */
export function svgAxes(spec: SvgAxesSpec): string {
  const { width, height, pad, xAt, yAt, xTicks, xStep, yTicks, yStep, xLabel, yLabel, title } = spec;
  const plotW = width - pad.left - pad.right, plotH = height - pad.top - pad.bottom;
  const base = pad.top + plotH, middle = pad.top + plotH / 2;
  return `<line x1="${pad.left}" y1="${base}" x2="${width - pad.right}" y2="${base}" stroke="#888"/>` +
    `<line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${base}" stroke="#888"/>` +
    xTicks.map((t) =>
      `<line x1="${xAt(t).toFixed(1)}" y1="${base}" x2="${xAt(t).toFixed(1)}" y2="${base + 4}" stroke="#888"/>` +
      svgText(xAt(t), base + 14, "middle", formatTick(t, xStep), ' class="x-tick"')
    ).join("") +
    yTicks.map((t) =>
      `<line x1="${pad.left - 4}" y1="${yAt(t).toFixed(1)}" x2="${pad.left}" y2="${
        yAt(t).toFixed(1)
      }" stroke="#888"/>` +
      svgText(pad.left - 6, yAt(t) + 3.5, "end", formatTick(t, yStep), ' class="y-tick"')
    ).join("") +
    (yLabel ? svgText(11, middle, "middle", yLabel, ` transform="rotate(-90 11 ${middle.toFixed(1)})"`) : "") +
    (xLabel ? svgText(pad.left + plotW / 2, height - 4, "middle", xLabel, ' font-weight="600"') : "") +
    (title ? svgText(pad.left, 14, "start", title, ' font-size="12" font-weight="600"') : "");
}

/**
 * A histogram as an inline SVG bar chart with labelled, ticked axes; each bar's `<title>` gives its
 * range and count on hover. It uses only {@linkcode niceTicks}, {@linkcode formatTick}, {@linkcode escapeHtml},
 * {@linkcode svgText} and {@linkcode svgAxes}, so pages can carry these functions' source
 * ({@linkcode HISTOGRAM_SVG_SOURCE}) and draw charts in the browser.
 *
 * @example
 * ```ts
 * import { histogramSvg } from "./html.ts";
 * import { histogram } from "../eval/histogram.ts";
 * const svg = histogramSvg(histogram([1, 2, 2, 3], 3), { xLabel: "activation" });
 * console.log(svg.startsWith("<svg")); // true
 * ```
 *
 * @param hist The histogram: `counts` and the `edges` of its bins.
 * @param options Size, colours, axis captions.
 * @returns The SVG markup.
 */
export function histogramSvg(
  hist: Pick<Histogram, "counts" | "edges">,
  options: HistogramSvgOptions = {},
): string {
  const { width = 360, height = 150, color = "#e8833a", xLabel, yLabel = "count" } = options;
  const top = Math.max(1, ...hist.counts);
  const yTicks = niceTicks(0, top, Math.min(4, top)); // counts are whole: no ticks between 0 and 1
  const yStep = yTicks.length > 1 ? yTicks[1] - yTicks[0] : 1;
  const yLabels = yTicks.map((t) => formatTick(t, yStep));
  // room for the widest count label (about 6 px a character at 10 px) and the rotated caption
  const pad = {
    left: 18 + 6 * Math.max(...yLabels.map((l) => l.length)) + 6,
    right: 14,
    top: 8,
    bottom: xLabel ? 36 : 22,
  };
  const plotW = width - pad.left - pad.right, plotH = height - pad.top - pad.bottom;
  const lo = hist.edges[0], hi = hist.edges[hist.edges.length - 1];
  const xAt = (v: number) => pad.left + ((v - lo) / (hi - lo)) * plotW;
  const yAt = (c: number) => pad.top + plotH - (c / top) * plotH;
  const barW = plotW / hist.counts.length;
  const bars = hist.counts.map((count, i) => {
    const fill = typeof color === "string" ? color : color[i];
    const range = `${hist.edges[i].toPrecision(4)} to ${hist.edges[i + 1].toPrecision(4)}`;
    return `<rect x="${(pad.left + i * barW).toFixed(2)}" y="${yAt(count).toFixed(2)}" width="${
      Math.max(barW - 1, 0.5).toFixed(2)
    }" height="${(plotH - yAt(count) + pad.top).toFixed(2)}" fill="${fill}"><title>${range}: ${count}</title></rect>`;
  }).join("");
  const xTicks = niceTicks(lo, hi, Math.max(2, Math.floor(plotW / 60)));
  const xStep = xTicks.length > 1 ? xTicks[1] - xTicks[0] : hi - lo;
  const axes = svgAxes({ width, height, pad, xAt, yAt, xTicks, xStep, yTicks, yStep, xLabel, yLabel });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img">${bars}${axes}</svg>`;
}

/** One point of {@linkcode scatterSvg}. */
export interface ScatterPoint {
  /** Position along the x axis. */
  x: number;
  /** Position along the y axis. */
  y: number;
  /** What the point is, shown on hover. */
  label: string;
}

/** Options of {@linkcode scatterSvg}. */
export interface ScatterSvgOptions {
  /** Drawing width in pixels. @default {480} */
  width?: number;
  /** Drawing height in pixels. @default {300} */
  height?: number;
  /** Point colour. @default {"#4a7fb5"} */
  color?: string;
  /** Caption under the x axis. */
  xLabel?: string;
  /** Caption along the y axis. */
  yLabel?: string;
}

/**
 * Points as an inline SVG scatter plot with ticked axes (ranges padded so no point sits on an axis); each point's
 * `<title>` gives its label and coordinates on hover. Ticks come from {@linkcode niceTicks} and the axes from
 * {@linkcode svgAxes}, as {@linkcode histogramSvg}'s do.
 *
 * @example
 * ```ts
 * import { scatterSvg } from "./html.ts";
 * const svg = scatterSvg([{ x: 12, y: 0.8, label: "text 1" }, { x: 30, y: 0.9, label: "text 2" }], {
 *   xLabel: "L0",
 *   yLabel: "explained variance",
 * });
 * console.log(svg.match(/<circle/g)?.length); // 2
 * ```
 *
 * @param points The points; those with a non-finite coordinate are left out.
 * @param options Size, colour, axis captions.
 * @returns The SVG markup.
 */
export function scatterSvg(points: readonly ScatterPoint[], options: ScatterSvgOptions = {}): string {
  const { width = 480, height = 300, color = "#4a7fb5", xLabel, yLabel } = options;
  const shown = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const range = (values: number[]): [number, number] => {
    if (values.length === 0) return [0, 1];
    const lo = Math.min(...values), hi = Math.max(...values);
    const margin = hi > lo ? (hi - lo) * 0.08 : Math.max(Math.abs(lo) * 0.1, 0.5);
    return [lo - margin, hi + margin];
  };
  const [xLo, xHi] = range(shown.map((p) => p.x)), [yLo, yHi] = range(shown.map((p) => p.y));
  const yTicks = niceTicks(yLo, yHi, 4);
  const yStep = yTicks.length > 1 ? yTicks[1] - yTicks[0] : yHi - yLo;
  const yLabels = yTicks.map((t) => formatTick(t, yStep));
  const pad = {
    left: (yLabel ? 18 : 4) + 6 * Math.max(...yLabels.map((l) => l.length)) + 6,
    right: 14,
    top: 8,
    bottom: xLabel ? 36 : 22,
  };
  const plotW = width - pad.left - pad.right, plotH = height - pad.top - pad.bottom;
  const xAt = (v: number) => pad.left + ((v - xLo) / (xHi - xLo)) * plotW;
  const yAt = (v: number) => pad.top + plotH - ((v - yLo) / (yHi - yLo)) * plotH;
  const xTicks = niceTicks(xLo, xHi, Math.max(2, Math.floor(plotW / 60)));
  const xStep = xTicks.length > 1 ? xTicks[1] - xTicks[0] : xHi - xLo;
  const dots = shown.map((p) =>
    `<circle class="point" cx="${xAt(p.x).toFixed(2)}" cy="${yAt(p.y).toFixed(2)}" r="4" fill="${color}" ` +
    `fill-opacity="0.75"><title>${escapeHtml(p.label)}: ${p.x.toPrecision(4)}, ${p.y.toPrecision(4)}</title></circle>`
  ).join("");
  const axes = svgAxes({ width, height, pad, xAt, yAt, xTicks, xStep, yTicks, yStep, xLabel, yLabel });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img">${axes}${dots}</svg>`;
}

/** The source of {@linkcode histogramSvg} and what it calls, for pages that draw charts in the browser. */
export const HISTOGRAM_SVG_SOURCE: string = [escapeHtml, niceTicks, formatTick, svgText, svgAxes, histogramSvg]
  .map((f) => f.toString()).join("\n");

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
figure { margin: 0; }
${extra.css ?? ""}
</style></head>
<body>
${body}
${extra.script ? `<script>\n${extra.script}\n</script>` : ""}
</body></html>
`;
}
