/**
 * The HTML report at the end of a training run, per SAE: a verdict on its sparsity against the ranges
 * SAELens users aim for, the run's settings, curves of each loss term, L0, explained variance and dead
 * latents with ticked, labelled axes, and the feature-density histogram. A run of several SAEs (a sweep)
 * opens with their comparison: L0 against explained variance and against the CE loss score, one labelled
 * point per SAE, and each SAE's verdict. One self-contained page.
 *
 * @module
 */

import { histogram } from "../eval/histogram.ts";
import { type SparsityVerdict, sparsityVerdict } from "../eval/sparsity_verdict.ts";
import { escapeHtml, formatTick, histogramSvg, htmlPage, niceTicks, svgAxes, svgText } from "./html.ts";

/** One SAE of the report. */
export interface TrainingReportSae {
  /** Title, e.g. "standard 1024 on blocks.2.hook_resid_pre". */
  label: string;
  /** Metric lines of this SAE, in step order. */
  metrics: Record<string, number>[];
  /** log10(density + 1e-10) of each latent over the last density window. */
  logDensity: Float32Array;
  /** The SAE's training settings, shown as a table; `d_sae`, `dead_feature_window`, `feature_sampling_window` and
   * `train_batch_size_tokens` also name the windows. */
  settings: Record<string, unknown>;
}

/** Charts: title, y caption, and the metrics drawn (each a line). */
const CHARTS: [string, string, string[]][] = [
  ["Loss terms", "loss", [
    "losses/overall_loss",
    "losses/mse_loss",
    "losses/l1_loss",
    "losses/l0_loss",
    "losses/auxiliary_reconstruction_loss",
    "losses/ghost_grad_loss",
  ]],
  ["L0 (latents firing per token)", "L0", ["metrics/l0"]],
  ["Explained variance", "explained variance", ["metrics/explained_variance"]],
];
const COLORS = ["#333333", "#3a6ee8", "#e8833a", "#e8833a", "#2a9d5c", "#9b4dca"];
/** One colour per SAE of a sweep. */
const POINT_COLORS = ["#3a6ee8", "#e8833a", "#2a9d5c", "#9b4dca", "#d64545", "#8a6d3b", "#333333"];

/** A line chart over the steps with ticked axes and a legend. */
function lineChartSvg(title: string, yLabel: string, series: { name: string; points: [number, number][] }[]): string {
  const width = 420, height = 220;
  const all = series.flatMap((s) => s.points);
  const xs = all.map((p) => p[0]), ys = all.map((p) => p[1]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (y1 === y0) [y0, y1] = y0 === 0 ? [0, 1] : [y0 - Math.abs(y0) / 2, y1 + Math.abs(y1) / 2];
  const yTicks = niceTicks(y0, y1, 4), xTicks = niceTicks(x0, Math.max(x1, x0 + 1), 5);
  const yStep = yTicks.length > 1 ? yTicks[1] - yTicks[0] : y1 - y0;
  const xStep = xTicks.length > 1 ? xTicks[1] - xTicks[0] : 1;
  const yLabels = yTicks.map((t) => formatTick(t, yStep));
  const pad = { left: 20 + 6 * Math.max(...yLabels.map((l) => l.length)) + 6, right: 12, top: 24, bottom: 36 };
  const w = width - pad.left - pad.right, h = height - pad.top - pad.bottom;
  const sx = (x: number) => pad.left + (x1 > x0 ? (x - x0) / (x1 - x0) : 0.5) * w;
  const sy = (y: number) => pad.top + h - (y - y0) / (y1 - y0) * h;
  const lines = series.map((s, i) =>
    `<polyline fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="1.5" points="${
      s.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" ")
    }"><title>${escapeHtml(s.name)}</title></polyline>`
  ).join("");
  const legend = series.length > 1
    ? series.map((s, i) =>
      svgText(width - pad.right, pad.top + 10 + 12 * i, "end", s.name, ` fill="${COLORS[i % COLORS.length]}"`)
    ).join("")
    : "";
  const axes = svgAxes({
    width,
    height,
    pad,
    xAt: sx,
    yAt: sy,
    xTicks: xTicks.filter((t) => t >= x0 && t <= x1),
    xStep,
    yTicks,
    yStep,
    xLabel: "step",
    yLabel,
    title,
  });
  return `<svg class="curve" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="${
    escapeHtml(title)
  }">${lines}${axes}${legend}</svg>`;
}

/** A number for people: 4 significant digits, integers as they are. */
function formatValue(v: unknown): string {
  if (typeof v !== "number") return JSON.stringify(v);
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : String(Number(v.toPrecision(4)));
}

function table(rows: [string, unknown][]): string {
  return `<table>${
    rows.map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td>${escapeHtml(formatValue(v))}</td></tr>`).join("")
  }</table>`;
}

/** A scatter plot with ticked axes and one labelled point per SAE (coloured by SAE, the same in every plot). */
function scatterSvg(
  title: string,
  axes: [string, string],
  points: { x: number; y: number; label: string; sae: number }[],
): string {
  const width = 460, height = 260;
  const span = (values: number[]): [number, number] => {
    let [lo, hi] = [Math.min(...values), Math.max(...values)];
    if (hi === lo) [lo, hi] = [lo - (Math.abs(lo) || 1) / 10, hi + (Math.abs(hi) || 1) / 10];
    const margin = (hi - lo) / 8;
    return [lo - margin, hi + margin];
  };
  const [x0, x1] = span(points.map((p) => p.x)), [y0, y1] = span(points.map((p) => p.y));
  const xTicks = niceTicks(x0, x1, 5), yTicks = niceTicks(y0, y1, 4);
  const xStep = xTicks.length > 1 ? xTicks[1] - xTicks[0] : x1 - x0;
  const yStep = yTicks.length > 1 ? yTicks[1] - yTicks[0] : y1 - y0;
  const yLabels = yTicks.map((t) => formatTick(t, yStep));
  const pad = { left: 20 + 6 * Math.max(...yLabels.map((l) => l.length)) + 6, right: 16, top: 24, bottom: 36 };
  const w = width - pad.left - pad.right, h = height - pad.top - pad.bottom;
  const sx = (x: number) => pad.left + (x - x0) / (x1 - x0) * w;
  const sy = (y: number) => pad.top + h - (y - y0) / (y1 - y0) * h;
  const dots = points.map((p) => {
    const [cx, cy] = [sx(p.x), sy(p.y)];
    // labels go left of points in the right half, so they stay inside the plot
    const right = cx < pad.left + w / 2;
    return `<g class="point"><circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="4" fill="${
      POINT_COLORS[p.sae % POINT_COLORS.length]
    }"><title>${
      escapeHtml(`${p.label}: ${axes[0]} ${formatValue(p.x)}, ${axes[1]} ${formatValue(p.y)}`)
    }</title></circle>${
      svgText(cx + (right ? 7 : -7), cy - 6, right ? "start" : "end", p.label, ' class="point-label"')
    }</g>`;
  }).join("");
  const frame = svgAxes({
    width,
    height,
    pad,
    xAt: sx,
    yAt: sy,
    xTicks,
    xStep,
    yTicks,
    yStep,
    xLabel: axes[0],
    yLabel: axes[1],
    title,
  });
  return `<svg class="scatter" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="${
    escapeHtml(title)
  }">${frame}${dots}</svg>`;
}

/** The SAE's verdict from its last metrics line, when it has L0 and explained variance. */
function verdictOf(sae: TrainingReportSae): SparsityVerdict | undefined {
  const last = sae.metrics.at(-1) ?? {};
  if (!Number.isFinite(last["metrics/l0"]) || !Number.isFinite(last["metrics/explained_variance"])) return undefined;
  return sparsityVerdict({
    l0: last["metrics/l0"],
    dSae: Number(sae.settings.d_sae),
    dead: last["sparsity/dead_features"] ?? 0,
    deadWindow: Number(sae.settings.dead_feature_window),
    explainedVariance: last["metrics/explained_variance"],
  });
}

/** Settings that tell the SAEs of a sweep apart (not where they are saved). */
function pointLabels(saes: TrainingReportSae[]): string[] {
  const keys = [...new Set(saes.flatMap((s) => Object.keys(s.settings)))].filter((k) =>
    !["output_path", "checkpoint_path", "saes"].includes(k) &&
    saes.some((s) => JSON.stringify(s.settings[k]) !== JSON.stringify(saes[0].settings[k]))
  );
  return saes.map((s, i) =>
    keys.length > 0 && keys.length <= 3 ? keys.map((k) => `${k} ${formatValue(s.settings[k])}`).join(", ") : `SAE ${i}`
  );
}

/** The comparison of a sweep's SAEs: L0 against explained variance and against CE loss score, and each verdict. */
function sweepSection(saes: TrainingReportSae[]): string {
  const labels = pointLabels(saes);
  const lastWith = (sae: TrainingReportSae, key: string) => sae.metrics.findLast((m) => Number.isFinite(m[key]));
  const trained = saes.flatMap((sae, i) => {
    const m = lastWith(sae, "metrics/explained_variance");
    return m && Number.isFinite(m["metrics/l0"])
      ? [{ x: m["metrics/l0"], y: m["metrics/explained_variance"], label: labels[i], sae: i }]
      : [];
  });
  const CE = "model_performance_preservation/ce_loss_score";
  const evaluated = saes.flatMap((sae, i) => {
    const m = lastWith(sae, CE);
    return m && Number.isFinite(m["sparsity/l0"]) ? [{ x: m["sparsity/l0"], y: m[CE], label: labels[i], sae: i }] : [];
  });
  const rows = saes.map((sae, i) => {
    const last = sae.metrics.at(-1) ?? {};
    const ce = lastWith(sae, CE)?.[CE];
    const verdict = verdictOf(sae);
    const dead = Number.isFinite(last["sparsity/dead_features"])
      ? `${(100 * last["sparsity/dead_features"] / Number(sae.settings.d_sae)).toFixed(1)}%`
      : "-";
    const cells = [
      labels[i],
      formatValue(last["metrics/l0"]),
      formatValue(last["metrics/explained_variance"]),
      ce === undefined ? "-" : formatValue(ce),
      dead,
    ].map((c) => `<td>${escapeHtml(String(c))}</td>`).join("");
    const judged = verdict
      ? `<td class="${verdict.ok ? "ok" : "bad"}">${escapeHtml(verdict.ok ? "healthy" : verdict.summary)}</td>`
      : "<td>-</td>";
    return `<tr>${cells}${judged}<td>${escapeHtml(String(sae.settings.output_path ?? ""))}</td></tr>`;
  }).join("");
  const ceNote = evaluated.length > 0
    ? ""
    : `<p class="note" id="no-ce">No evaluation with the SAEs spliced into the model ran (eval_every_n_wandb_logs 0,
or cached activations): no CE loss score to compare.</p>`;
  return `<section id="sweep"><h2>Sweep: ${saes.length} SAEs compared</h2>
<div class="curves">${
    trained.length > 0
      ? scatterSvg("L0 against explained variance (last metrics line)", ["L0", "explained variance"], trained)
      : ""
  }${
    evaluated.length > 0
      ? scatterSvg("L0 against CE loss score (last evaluation)", ["L0 (evaluation)", "CE loss score"], evaluated)
      : ""
  }</div>${ceNote}
<table class="sweep"><tr><th>SAE</th><th>L0</th><th>explained variance</th><th>CE loss score</th><th>dead</th>
<th>verdict</th><th>folder</th></tr>${rows}</table></section>`;
}

function section(sae: TrainingReportSae): string {
  const { settings, metrics } = sae;
  const last = metrics.at(-1) ?? {};
  const deadWindow = Number(settings.dead_feature_window);
  const deadSeries: [number, number][] = metrics.filter((m) => Number.isFinite(m["sparsity/dead_features"]))
    .map((m) => [m.step, m["sparsity/dead_features"]]);
  const charts = [
    ...CHARTS.map(([title, yLabel, keys]) => {
      const series = keys.map((key) => ({
        name: key.replace(/^[a-z]+\//, ""),
        points: metrics.filter((m) => Number.isFinite(m[key])).map((m) => [m.step, m[key]] as [number, number]),
      })).filter((s) => s.points.length > 0);
      return series.length > 0 ? lineChartSvg(title, yLabel, series) : "";
    }),
    deadSeries.length > 0
      ? lineChartSvg(`Dead latents (no firing in the last ${deadWindow} steps)`, "latents", [{
        name: "dead",
        points: deadSeries,
      }])
      : "",
  ].join("\n");
  const verdict = verdictOf(sae);
  const verdictHtml = verdict
    ? `<div class="verdict ${verdict.ok ? "ok" : "bad"}" id="verdict"><strong>${
      escapeHtml(verdict.ok ? "Healthy" : "Needs attention")
    }</strong><ul>${
      verdict.checks.map((c) => `<li class="${c.ok ? "ok" : "bad"}">${c.ok ? "✓" : "✗"} ${escapeHtml(c.text)}</li>`)
        .join("")
    }</ul><p class="note">Ranges SAELens users aim for: L0 10-100, dead latents under 5%, explained variance above
0.8; the figures are the last metrics line's, on one training batch.</p></div>`
    : "";
  // never-fired latents sit at log10(1e-10) = -10, in the histogram's first bin
  const window = Number(settings.feature_sampling_window), batch = Number(settings.train_batch_size_tokens);
  const never = sae.logDensity.filter((v) => v <= -10 + 1e-6).length;
  const hist = histogramSvg(histogram(sae.logDensity, 50, [-10, 0]), {
    width: 520,
    xLabel: "log10 feature density (never fired: -10)",
    yLabel: "latents",
  });
  return `<section><h2>${escapeHtml(sae.label)}</h2>${verdictHtml}
<div class="curves">${charts}</div>
<h3>Feature density over the last density window (up to ${window} steps, ${window * batch} tokens)</h3>
<p id="never-fired">${never} of ${sae.logDensity.length} latents never fired in that window (shown at -10).</p>${hist}
<div class="tables"><div><h3>Last metrics (step ${last.step ?? "-"})</h3>${
    table(Object.entries(last).filter(([k]) => k !== "step"))
  }</div><div><h3>Settings</h3>${table(Object.entries(settings))}</div></div></section>`;
}

/**
 * Renders the report.
 *
 * @example
 * ```ts
 * import { trainingReportHtml } from "./training_report.ts";
 * const html = trainingReportHtml("run", [{
 *   label: "sae",
 *   metrics: [{ step: 1, "metrics/l0": 3 }, { step: 2, "metrics/l0": 2 }],
 *   logDensity: new Float32Array([-2, -3]),
 *   settings: { d_sae: 2, dead_feature_window: 1000, feature_sampling_window: 2000, train_batch_size_tokens: 4096 },
 * }]);
 * console.log(html.includes("<polyline")); // true
 * ```
 *
 * @param title Page title.
 * @param saes Each SAE's metrics, densities and settings (several: compared first).
 * @returns The HTML page.
 */
export function trainingReportHtml(title: string, saes: TrainingReportSae[]): string {
  const sweep = saes.length > 1 ? sweepSection(saes) : "";
  return htmlPage(title, `<h1>${escapeHtml(title)}</h1>${sweep}${saes.map(section).join("\n")}`, {
    css: ".curves{display:flex;flex-wrap:wrap;gap:12px} td{padding:2px 8px;font-family:monospace}" +
      ".tables{display:flex;flex-wrap:wrap;gap:32px;align-items:flex-start}" +
      ".verdict{border:1px solid #ccc;border-radius:6px;padding:8px 12px;margin:8px 0;max-width:760px}" +
      ".verdict.ok{background:#eefaf1;border-color:#7cc48f}.verdict.bad{background:#fff3e8;border-color:#e8a35c}" +
      ".verdict ul{margin:4px 0;padding-left:18px;list-style:none}.verdict li.bad{color:#a04a00}" +
      ".note{color:#666;font-size:12px;margin:4px 0}" +
      "table.sweep td.ok{color:#1d7a3a}table.sweep td.bad{color:#a04a00}table.sweep th{border-bottom:1px solid #ccc}",
  });
}
