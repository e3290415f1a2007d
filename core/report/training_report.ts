/**
 * The HTML report at the end of a training run: loss, L0, explained-variance and dead-latent curves
 * over the steps, and each SAE's log feature-density histogram. One self-contained page.
 *
 * @module
 */

import { histogram } from "../eval/histogram.ts";
import { escapeHtml, histogramSvg, htmlPage } from "./html.ts";

/** One SAE of the report. */
export interface TrainingReportSae {
  /** Title, e.g. "standard 1024 on blocks.2.hook_resid_pre". */
  label: string;
  /** Metric lines of this SAE, in step order. */
  metrics: Record<string, number>[];
  /** log10 feature densities at the end. */
  logDensity: Float32Array;
}

const CURVES: [string, string][] = [
  ["losses/overall_loss", "loss"],
  ["metrics/l0", "L0"],
  ["metrics/explained_variance", "explained variance"],
  ["sparsity/dead_features", "dead latents"],
];

function curveSvg(points: [number, number][], title: string, width = 360, height = 160): string {
  const pad = { left: 48, right: 8, top: 18, bottom: 22 };
  const w = width - pad.left - pad.right, h = height - pad.top - pad.bottom;
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)], [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const sx = (x: number) => pad.left + (x1 > x0 ? (x - x0) / (x1 - x0) : 0.5) * w;
  const sy = (y: number) => pad.top + h - (y1 > y0 ? (y - y0) / (y1 - y0) : 0.5) * h;
  const path = points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" ");
  const fmt = (v: number) => Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(2) : v.toFixed(3);
  return `<svg class="curve" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(title)}">
<text x="${pad.left}" y="12" font-size="12">${escapeHtml(title)}</text>
<polyline fill="none" stroke="#3a6ee8" stroke-width="1.5" points="${path}"/>
<text x="2" y="${pad.top + 8}" font-size="10">${fmt(y1)}</text><text x="2" y="${pad.top + h}" font-size="10">${
    fmt(y0)
  }</text>
<text x="${pad.left}" y="${height - 6}" font-size="10">step ${x0}</text><text x="${width - pad.right}" y="${
    height - 6
  }" font-size="10" text-anchor="end">${x1}</text></svg>`;
}

/**
 * Renders the report.
 *
 * @example
 * ```ts
 * import { trainingReportHtml } from "./training_report.ts";
 * const html = trainingReportHtml("run", [{ label: "sae", metrics: [{ step: 1, "metrics/l0": 3 }, { step: 2, "metrics/l0": 2 }], logDensity: new Float32Array([-2, -3]) }]);
 * console.log(html.includes("<polyline")); // true
 * ```
 *
 * @param title Page title.
 * @param saes Each SAE's metrics and densities.
 * @returns The HTML page.
 */
export function trainingReportHtml(title: string, saes: TrainingReportSae[]): string {
  const sections = saes.map((sae) => {
    const curves = CURVES.map(([key, name]) => {
      const points = sae.metrics.filter((m) => Number.isFinite(m[key])).map((m) =>
        [m.step, m[key]] as [number, number]
      );
      return points.length > 0 ? curveSvg(points, name) : "";
    }).join("\n");
    const last = sae.metrics.at(-1) ?? {};
    const rows = Object.entries(last).map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td>${v}</td></tr>`).join("");
    const densities = sae.logDensity.filter((v) => v > -10);
    const dead = sae.logDensity.length - densities.length;
    const hist = densities.length > 0
      ? histogramSvg(histogram(densities, 40), { xLabel: "log10 feature density" })
      : "<p>No latent fired.</p>";
    return `<section><h2>${escapeHtml(sae.label)}</h2><div class="curves">${curves}</div>
<h3>Feature density (${dead} latents never fired)</h3>${hist}
<h3>Last metrics</h3><table>${rows}</table></section>`;
  }).join("\n");
  return htmlPage(title, `<h1>${escapeHtml(title)}</h1>${sections}`, {
    css: ".curves{display:flex;flex-wrap:wrap;gap:12px} td{padding:2px 8px;font-family:monospace}",
  });
}
