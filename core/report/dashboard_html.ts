/**
 * The `sae dashboard` page: one self-contained HTML file (no network needed to view it) holding the
 * dashboards of many features as JSON; a picker shows one at a time, so pages with hundreds of
 * features open fast. Tokens are shaded by the feature's activation and show their value on hover.
 *
 * @module
 */

import type { FeatureDashboards } from "../analysis/feature_dashboard.ts";
import { SMALL_SAMPLE_TOKENS } from "./eval_report.ts";
import { escapeHtml, HISTOGRAM_SVG_SOURCE, htmlPage } from "./html.ts";

/** What the dashboards were built from, for the page's heading. */
export interface DashboardLabels {
  /** The SAE. */
  sae: string;
  /** The dataset. */
  dataset: string;
}

const CSS = `
#picker { display: flex; gap: 0.6em; align-items: center; margin-bottom: 1em; }
.columns { display: flex; gap: 2em; flex-wrap: wrap; }
.tok { white-space: pre; border-radius: 2px; padding: 0 1px; cursor: default; }
.tok.qual { outline: 1px solid #b85c00; }
.example { font-family: ui-monospace, monospace; font-size: 0.85em; margin: 2px 0; }
.example .val { display: inline-block; width: 4.5em; color: #777; }
table.logits td { padding: 1px 8px; font-family: ui-monospace, monospace; font-size: 0.85em; }
td.pos { color: #1f5fa8; } td.neg { color: #b0302a; }
#tooltip { position: fixed; display: none; background: #222; color: #fff; padding: 3px 6px;
  font-size: 12px; border-radius: 3px; pointer-events: none; white-space: pre; z-index: 10; }
.group { margin: 0.8em 0 0.2em; font-weight: 600; font-size: 0.9em; }
.dead { width: 340px; padding: 0.8em; background: #f6f1ea; border-left: 3px solid #b85c00; font-size: 0.9em; }
.warning { color: #8a4b00; }
`;

// Runs in the browser: renders the picked feature from the embedded JSON.
const SCRIPT = `
const DATA = JSON.parse(document.getElementById("dashboard-data").textContent);
const byIndex = new Map(DATA.features.map((f) => [f.feature_index, f]));
const picker = document.getElementById("feature-picker");
const tooltip = document.getElementById("tooltip");
const esc = (s) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
const shown = (t) => t.replace(/\\n/g, "\\u21b5").replace(/\\t/g, "\\u21e5");

${HISTOGRAM_SVG_SOURCE}

// Neuronpedia's fields give bar centres; the bins are of equal width
function bars(heights, centers, color, label) {
  const w = centers.length > 1 ? centers[1] - centers[0] : 1;
  const edges = centers.map((c) => c - w / 2).concat(centers.length ? [centers[centers.length - 1] + w / 2] : [0, 1]);
  return histogramSvg({ counts: heights, edges }, { width: 380, height: 160, color, xLabel: label, yLabel: "tokens" });
}

function example(a, max) {
  const toks = a.tokens.map((t, i) => {
    const v = a.values[i], alpha = max > 0 ? Math.min(v / max, 1) : 0;
    return '<span class="tok' + (i === a.qualifying_token_index ? " qual" : "") + '" data-act="' + v +
      '" data-token="' + esc(JSON.stringify(t)) + '" style="background: rgba(232,131,58,' + alpha.toFixed(3) + ')">' +
      esc(shown(t)) + '</span>';
  }).join("");
  return '<div class="example"><span class="val">' + a.values[a.qualifying_token_index].toFixed(3) + '</span>' + toks + '</div>';
}

function render(index) {
  const f = byIndex.get(index);
  if (!f) return;
  tooltip.style.display = "none"; // its token is gone with the old feature
  picker.value = String(index);
  history.replaceState(null, "", "#feature-" + index);
  const max = f.maxActApprox;
  const top = f.activations.filter((a) => a.bin_min === -1);
  const groups = [];
  for (const a of f.activations.filter((a) => a.bin_min !== -1)) {
    const last = groups[groups.length - 1];
    if (last && last.min === a.bin_min) last.items.push(a); else groups.push({ min: a.bin_min, max: a.bin_max, contains: a.bin_contains, items: [a] });
  }
  const logitRows = (strs, vals, cls) => strs.map((s, i) =>
    '<tr><td class="' + cls + '">' + esc(JSON.stringify(s)) + '</td><td class="num">' + vals[i].toFixed(3) + '</td></tr>').join("");
  document.getElementById("feature").innerHTML =
    '<h2 id="feature-title">Feature ' + f.feature_index + '</h2>' +
    '<p class="muted" id="feature-stats">density ' + (100 * f.frac_nonzero).toFixed(4) + '% of tokens · max activation ' +
      max.toFixed(3) + ' · ' + f.n_prompts_total + ' rows of ' + f.n_tokens_in_prompt + ' tokens' +
      (f.neuronpedia_url ? ' · <a id="neuronpedia-link" href="' + esc(f.neuronpedia_url) + '">Neuronpedia</a>' : '') + '</p>' +
    '<div class="columns"><div><div class="group">Activation density (non-zero values)</div>' +
      (f.frac_nonzero > 0
        ? bars(f.freq_hist_data_bar_heights, f.freq_hist_data_bar_values, "#e8833a", "activation")
        : '<p class="dead" id="dead-feature">Feature ' + f.feature_index + ' never fired on the ' + DATA.n_tokens +
          ' tokens read (BOS left out): no activations to draw. It may be dead, or fire on text this sample lacks. ' +
          'Its logits below come from its decoder direction alone.</p>') + '</div>' +
    '<div><div class="group">Logits of W_dec · W_U</div>' +
      bars(f.logits_hist_data_bar_heights, f.logits_hist_data_bar_values, "#7a9cc6", "logit (W_dec[f] · W_U)") + '</div>' +
    '<div><table class="logits" id="logit-table"><tr><th>negative</th><th></th><th>positive</th><th></th></tr>' +
      f.pos_str.map((s, i) => '<tr><td class="neg">' + esc(JSON.stringify(f.neg_str[i])) + '</td><td class="num">' +
        f.neg_values[i].toFixed(3) + '</td><td class="pos">' + esc(JSON.stringify(s)) + '</td><td class="num">' +
        f.pos_values[i].toFixed(3) + '</td></tr>').join("") + '</table></div></div>' +
    '<div class="group">Top activations</div><div id="top-examples">' +
      (top.length ? top.map((a) => example(a, max)).join("") : '<p class="muted">The feature never fired.</p>') + '</div>' +
    '<div id="intervals">' + groups.map((g) => '<div class="group">Interval ' + g.min.toFixed(3) + ' – ' + g.max.toFixed(3) +
      ' · contains ' + (100 * g.contains).toFixed(2) + '%</div>' + g.items.map((a) => example(a, max)).join("")).join("") + '</div>';
}

picker.addEventListener("change", () => render(Number(picker.value)));
document.getElementById("feature").addEventListener("mouseover", (e) => {
  const t = e.target.closest(".tok");
  if (!t) return;
  tooltip.textContent = "token " + t.dataset.token + "\\nactivation " + Number(t.dataset.act).toFixed(3);
  tooltip.style.display = "block";
});
document.getElementById("feature").addEventListener("mousemove", (e) => {
  tooltip.style.left = e.clientX + 12 + "px";
  tooltip.style.top = e.clientY + 12 + "px";
});
document.getElementById("feature").addEventListener("mouseout", (e) => {
  if (e.target.closest(".tok")) tooltip.style.display = "none";
});
const fromHash = /^#feature-(\\d+)$/.exec(location.hash);
render(fromHash && byIndex.has(Number(fromHash[1])) ? Number(fromHash[1]) : DATA.features[0].feature_index);
`;

/**
 * Renders the dashboard page.
 *
 * @example
 * ```ts ignore
 * await Deno.writeTextFile("dash.html", dashboardHtml(dashboards, { sae: "sae-standard", dataset: "sotu" }));
 * ```
 *
 * @param dash The dashboards.
 * @param labels What they were built from.
 * @returns The HTML page.
 */
export function dashboardHtml(dash: FeatureDashboards, labels: DashboardLabels): string {
  // "</" would end the script element early
  const json = JSON.stringify(dash).replace(/<\//g, "<\\/");
  const options = dash.features.map((f) =>
    `<option value="${f.feature_index}">Feature ${f.feature_index} · ${(100 * f.frac_nonzero).toFixed(3)}%</option>`
  ).join("");
  const body = `<h1>Feature dashboards: ${escapeHtml(labels.sae)}</h1>
<p class="muted">${escapeHtml(dash.hook_name)} · dataset ${escapeHtml(labels.dataset)} · ${dash.n_tokens} tokens ·
${dash.features.length} features. Each row's opening BOS is left out.</p>
${
    dash.n_tokens < SMALL_SAMPLE_TOKENS
      ? `<p class="warning" id="sample-warning">Densities come from only ${dash.n_tokens} tokens: a feature firing on fewer than 1 in ${dash.n_tokens} tokens shows as never firing. Read more with --tokens.</p>`
      : ""
  }
<div id="picker"><label for="feature-picker">Feature</label><select id="feature-picker">${options}</select></div>
<div id="feature"></div>
<div id="tooltip"></div>
<script type="application/json" id="dashboard-data">${json}</script>`;
  return htmlPage(`Feature dashboards: ${labels.sae}`, body, { css: CSS, script: SCRIPT });
}
