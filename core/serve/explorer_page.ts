/**
 * The explorer's page: one self-contained HTML document (inline style and script, nothing fetched but
 * the server's own API) where a researcher types a text and sees each token's strongest features as
 * they type, opens a feature's dashboard, steers, ablates, attributes a logit and compares prompts.
 *
 * @module
 */

import { escapeHtml, htmlPage } from "../report/html.ts";

/** Milliseconds the page waits after a keystroke before encoding: short, so features follow the typing. */
export const ENCODE_DEBOUNCE_MS = 40;

const CSS = `
section { margin: 1.2em 0; padding-top: 0.4em; border-top: 1px solid #ddd; }
textarea { width: 100%; box-sizing: border-box; font: 14px ui-monospace, monospace; }
#tokens { display: flex; flex-wrap: wrap; gap: 4px; margin-top: 0.6em; }
.token { border: 1px solid #ddd; border-radius: 4px; padding: 2px 4px; min-width: 3em; font-size: 12px; }
.token.bos { opacity: 0.55; }
.token .t { font: 14px ui-monospace, monospace; white-space: pre; font-weight: 600; }
.token .l0 { color: #777; }
.feat { display: block; border: 0; border-radius: 3px; margin: 1px 0; padding: 0 4px; cursor: pointer;
  font: 11px ui-monospace, monospace; text-align: left; width: 100%; }
.feat:hover { outline: 1px solid #b85c00; }
label { margin-right: 0.8em; font-size: 0.9em; }
input[type=number] { width: 6em; }
.row { display: flex; flex-wrap: wrap; gap: 0.4em; align-items: center; margin: 0.3em 0; }
.side { display: flex; gap: 1.5em; } .side > div { flex: 1; }
.gen { font: 13px ui-monospace, monospace; white-space: pre-wrap; background: #f6f6f6; padding: 4px; margin: 2px 0; }
#registry-results { width: 100%; font: 12px ui-monospace, monospace; }
#dashboard { width: 100%; height: 720px; border: 1px solid #ddd; display: none; }
#error { color: #b0302a; min-height: 1.2em; }
#tooltip { position: fixed; display: none; background: #222; color: #fff; padding: 3px 6px; font-size: 12px;
  border-radius: 3px; pointer-events: none; white-space: pre; z-index: 10; }
table.data td, table.data th { font-size: 0.85em; padding: 1px 8px; }
`;

// Runs in the browser. Every answer goes through api(), which sends the token where the URL carries one.
const SCRIPT = `
const TOKEN = new URLSearchParams(location.search).get("token");
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const shown = (t) => JSON.stringify(t).slice(1, -1);
const fmt = (v, d = 3) => v === null ? "n/a" : v.toFixed(d);
const pct = (p) => p >= 1e-3 ? p.toFixed(4) : p.toExponential(2);
let lastInput = 0;

async function api(path, body) {
  const headers = {};
  if (TOKEN) headers["x-sae-token"] = TOKEN;
  const init = { headers };
  if (body !== undefined) {
    init.method = "POST";
    headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const data = await res.json();
  if (!res.ok) throw new Error(data.error || res.statusText);
  $("error").textContent = "";
  return data;
}
function fail(e) { $("error").textContent = String(e.message || e); }

function showInfo(i) {
  $("title").textContent = "SAE explorer: " + i.sae;
  $("info").textContent = i.architecture + " SAE " + i.sae + " (" + i.d_in + " → " + i.d_sae + " features) at " +
    i.hook_name + " of " + i.model + "; dashboards read " + i.dashboard_tokens + " tokens of " + i.dataset;
  $("sae-picker").value = i.sae;
  $("model-picker").value = i.model;
}
api("/api/info").then(showInfo).catch(fail);
// a read that leaves the error line alone: progress polls, which may outlive the request they follow
async function peek(path) {
  const res = await fetch(path, { headers: TOKEN ? { "x-sae-token": TOKEN } : {} });
  return res.ok ? await res.json() : undefined;
}
const options = (list) => list.map((c) => '<option value="' + esc(c) + '">' + esc(c) + "</option>").join("");

// the SAEs sae serve was started with and those the page downloaded (the server loads the one picked, its model too)
async function loadSaes() {
  const s = await api("/api/saes");
  if (s.choices.length < 2) return;
  $("sae-picker").innerHTML = options(s.choices);
  $("sae-picker").value = s.current;
  $("sae-switch").hidden = false;
}
loadSaes().catch(fail);
// the models sae serve was started with
api("/api/models").then((m) => {
  if (m.choices.length < 2) return;
  $("model-picker").innerHTML = options(m.choices);
  $("model-picker").value = m.current;
  $("model-switch").hidden = false;
}).catch(fail);
// a switch (SAE or model): the answer is the new /api/info; a refused one leaves the pickers as the server is
async function switchTo(path, body, status) {
  $(status).textContent = "loading…";
  for (const id of ["sae-picker", "model-picker", "registry-load"]) $(id).disabled = true;
  try {
    showInfo(await api(path, body));
    $("dashboard").style.display = "none";
    $("dashboard").removeAttribute("data-feature");
    $("feature-title").textContent = "Feature: click one above";
    encode();
    return true;
  } catch (e) {
    fail(e);
    peek("/api/info").then((i) => i && showInfo(i));
    return false;
  } finally {
    $(status).textContent = "";
    for (const id of ["sae-picker", "model-picker", "registry-load"]) $(id).disabled = false;
  }
}
$("sae-picker").addEventListener("change", () => switchTo("/api/sae", { sae: $("sae-picker").value }, "sae-status"));
$("model-picker").addEventListener("change", () => switchTo("/api/model", { model: $("model-picker").value }, "model-status"));

// any SAE of the registry: searched as typed, downloaded into the Hub cache (its bar polled), then switched to
const bytes = (n) => n >= 1e9 ? (n / 1e9).toFixed(2) + " GB" : n >= 1e6 ? (n / 1e6).toFixed(1) + " MB" : (n / 1e3).toFixed(1) + " kB";
function showMatches(r) {
  $("registry-results").innerHTML = r.matches.map((m) => '<option value="' + esc(m.id) + '">' + esc(m.id + " · " + m.model +
    (m.l0 !== null ? " · L0 " + m.l0 : "")) + "</option>").join("");
  $("registry-count").textContent = r.total + (r.total === 1 ? " SAE matches" : " SAEs match") + (r.total > r.matches.length ? " (the first " + r.matches.length + " listed)" : "");
}
peek("/api/registry?q=").then((r) => { if (r && r.enabled) { showMatches(r); $("registry").hidden = false; } });
let searchTimer = 0, searched = 0;
$("registry-search").addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(async () => {
    const ticket = ++searched;
    try {
      const r = await api("/api/registry?q=" + encodeURIComponent($("registry-search").value));
      if (ticket === searched) showMatches(r);
    } catch (e) { fail(e); }
  }, 150);
});
$("registry-load").addEventListener("click", async () => {
  const sae = $("registry-results").value;
  if (!sae) { fail(new Error("Pick an SAE in the list first")); return; }
  $("pull-progress").value = 0;
  $("pull-progress").style.display = "inline-block";
  let polling = true;
  const poll = async () => {
    while (polling) {
      const p = await peek("/api/sae-download").catch(() => undefined);
      if (polling && p && p.sae === sae && p.bytes_total > 0) {
        $("pull-progress").value = p.bytes_received / p.bytes_total;
        $("pull-status").textContent = p.state === "running"
          ? bytes(p.bytes_received) + " of " + bytes(p.bytes_total) + " in the cache"
          : p.state === "done" ? "downloaded; loading…" : "";
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  poll();
  try {
    if (await switchTo("/api/sae", { sae }, "pull-status")) await loadSaes();
  } finally {
    polling = false;
    $("pull-progress").style.display = "none";
    $("pull-status").textContent = "";
  }
});

// encode as the text changes; only the answer to the latest text is drawn
let timer = 0, asked = 0;
$("text").addEventListener("input", () => {
  lastInput = performance.now();
  clearTimeout(timer);
  timer = setTimeout(encode, ${ENCODE_DEBOUNCE_MS});
});
async function encode() {
  const text = $("text").value;
  const ticket = ++asked;
  if (!text) { $("tokens").innerHTML = ""; $("summary").textContent = ""; return; }
  try {
    const enc = await api("/api/encode", { text, top: 3 });
    if (ticket === asked) drawTokens(enc);
  } catch (e) { if (ticket === asked) fail(e); }
}
function drawTokens(enc) {
  // BOS's activations are outliers: shading by them would pale every other token
  const peak = Math.max(1e-9, ...enc.top.slice(enc.bos_positions).flat().map((f) => f.activation));
  $("tokens").innerHTML = enc.tokens.map((t, i) =>
    '<div class="token' + (i < enc.bos_positions ? ' bos' : '') + '" data-pos="' + i + '"><div class="t">' + esc(shown(t)) +
    '</div><div class="l0" data-l0="' + i + '">L0 ' + enc.l0[i] + '</div>' +
    enc.top[i].map((f) => '<button class="feat" data-feature="' + f.index + '" data-activation="' + f.activation +
      '" style="background: rgba(230, 120, 20, ' + (0.15 + 0.7 * f.activation / peak).toFixed(3) + ')">' + f.index + '</button>').join("") +
    '</div>').join("");
  $("summary").textContent = enc.tokens.length + " tokens · mean L0 " + fmt(enc.mean_l0, 2) + " · explained variance " +
    fmt(enc.explained_variance, 4) + (enc.bos_positions ? " (BOS left out)" : "") + " · " + enc.ms.toFixed(0) + " ms on the server";
  // what is shown and how long after the last keystroke, for the page's test
  $("tokens").dataset.latencyMs = (performance.now() - lastInput).toFixed(1);
  $("tokens").dataset.text = enc.text;
}
$("tokens").addEventListener("mouseover", (ev) => {
  const b = ev.target.closest(".feat");
  const tip = $("tooltip");
  if (!b) { tip.style.display = "none"; return; }
  const token = b.closest(".token").querySelector(".t").textContent;
  tip.textContent = "feature " + b.dataset.feature + " on \\"" + token + "\\"\\nactivation " + Number(b.dataset.activation).toFixed(3);
  const r = b.getBoundingClientRect();
  tip.style.left = r.right + 6 + "px"; tip.style.top = r.top + "px"; tip.style.display = "block";
});
$("tokens").addEventListener("mouseleave", () => { $("tooltip").style.display = "none"; });
$("tokens").addEventListener("click", (ev) => {
  const b = ev.target.closest(".feat");
  if (b) openFeature(Number(b.dataset.feature));
});

// a feature's dashboard: built on the server over the dataset (progress polled), then kept there
async function openFeature(feature) {
  $("steer-feature").value = feature;
  if (!$("ablate-features").value.split(",").map((s) => s.trim()).includes(String(feature))) {
    $("ablate-features").value = $("ablate-features").value.trim() ? $("ablate-features").value + "," + feature : String(feature);
  }
  $("feature-title").textContent = "Feature " + feature;
  $("dash-progress").style.display = "inline-block";
  $("dash-progress").value = 0;
  let polling = true;
  const poll = async () => {
    while (polling) {
      try {
        const p = await api("/api/dashboard-progress?feature=" + feature);
        $("dash-progress").value = p.tokens / p.max_tokens;
        $("dash-status").textContent = p.state === "running" ? p.tokens + " of " + p.max_tokens + " tokens read" : "";
      } catch (e) { fail(e); }
      await new Promise((r) => setTimeout(r, 150));
    }
  };
  poll();
  try {
    await api("/api/dashboard", { feature });
    const frame = $("dashboard");
    frame.src = "/dashboard?feature=" + feature + (TOKEN ? "&token=" + encodeURIComponent(TOKEN) : "");
    frame.style.display = "block";
    frame.dataset.feature = String(feature);
    $("dash-status").textContent = "";
  } catch (e) { fail(e); } finally {
    polling = false;
    $("dash-progress").style.display = "none";
  }
}

const num = (id) => $(id).value === "" ? undefined : Number($(id).value);
$("steer-run").addEventListener("click", async () => {
  $("steer-out").innerHTML = "generating…";
  try {
    const s = await api("/api/steer", {
      text: $("text").value, feature: num("steer-feature"), strength: num("steer-strength"),
      strength_relative_to: $("steer-relative").value, positions: $("steer-positions").value,
      max_new_tokens: num("steer-tokens"), temperature: num("steer-temperature"), seed: num("steer-seed"),
      greedy: $("steer-greedy").checked, samples: num("steer-samples"),
    });
    $("steer-out").innerHTML = '<p class="muted">applied strength ' + s.applied_strength.toPrecision(4) + " × W_dec[" + s.feature +
      "] (‖W_dec‖ " + s.direction_norm.toPrecision(3) + ", mean residual norm " + s.resid_norm.toPrecision(3) +
      ", feature max " + s.feature_max_act.toPrecision(3) + " on the prompt)</p>" +
      '<div class="side"><div><b>without</b>' + s.baseline.map((t) => '<div class="gen baseline">' + esc(t) + "</div>").join("") +
      '</div><div><b>steered</b>' + s.steered.map((t) => '<div class="gen steered">' + esc(t) + "</div>").join("") + "</div></div>";
  } catch (e) { $("steer-out").innerHTML = ""; fail(e); }
});

function featureField(id) {
  const v = $(id).value.trim();
  return v ? v.split(",").map((s) => Number(s.trim())) : undefined;
}
const nextTable = (top, id) => '<table class="data"' + (id ? ' id="' + id + '"' : "") + ">" + top.map((t) => "<tr><td>" +
  esc(JSON.stringify(t.token)) + "</td><td>" + pct(t.prob) + "</td></tr>").join("") + "</table>";
// the listed features switched off at once: P(target) and the next tokens they leave
function together(a) {
  const t = a.together;
  return '<div id="ablate-together"><p>All ' + t.features.length + " at once (" + t.features.join(", ") + '): P(target) <b id="p-together">' +
    pct(t.probability) + "</b>, " + t.change.toFixed(2) + "% vs clean, " + t.change_from_spliced.toFixed(2) + "% vs spliced</p>" +
    "<b>top next tokens with all " + t.features.length + " ablated (" + (a.error_term ? "with" : "without") + " the error term)</b>" +
    nextTable(t.next_tokens, "together-tokens") + "</div>";
}
$("ablate-run").addEventListener("click", async () => {
  $("ablate-out").innerHTML = "running…";
  try {
    const a = await api("/api/ablate", {
      text: $("text").value, target: $("ablate-target").value, features: featureField("ablate-features"),
      error_term: $("ablate-error").checked,
    });
    $("ablate-out").innerHTML = "<p>P(" + esc(JSON.stringify(a.target)) + ") after " + esc(JSON.stringify(a.last_token)) +
      ': clean <b id="p-clean">' + pct(a.baseline) + "</b>, SAE spliced " + pct(a.spliced) +
      " (" + (a.error_term ? "with" : "without") + " the error term)</p>" +
      '<table class="data" id="ablate-table"><tr><th>feature</th><th>activation</th><th>P(target) ablated</th><th>vs clean</th><th>vs spliced</th></tr>' +
      a.features.map((f) => '<tr data-feature="' + f.index + '"><td>' + f.index + "</td><td>" + f.activation.toFixed(3) + "</td><td>" +
        pct(f.probability) + "</td><td>" + f.change.toFixed(2) + "%</td><td>" + f.change_from_spliced.toFixed(2) + "%</td></tr>").join("") +
      '</table>' + (a.together ? together(a) : "") +
      '<h3>Top next tokens</h3><div class="side" id="next-tokens">' + a.next_tokens.map((r) =>
        '<div><b>' + esc(r.kind) + '</b>' + nextTable(r.top) + "</div>").join("") + "</div>";
  } catch (e) { $("ablate-out").innerHTML = ""; fail(e); }
});

$("attribute-run").addEventListener("click", async () => {
  try {
    const a = await api("/api/attribute", { text: $("text").value, target: $("attribute-target").value });
    const rows = (list) => list.map((f) => '<tr><td><button class="feat" data-feature="' + f.index + '">' + f.index +
      "</button></td><td>" + f.activation.toFixed(3) + "</td><td>" + f.contribution.toFixed(3) + "</td></tr>").join("");
    $("attribute-out").innerHTML = "<p>logit of " + esc(JSON.stringify(a.target)) + " after " + esc(JSON.stringify(a.token)) + " " +
      a.logit.toFixed(3) + "; direct from the SAE's input " + a.total.toFixed(3) + " = features + bias " + a.bias.toFixed(3) +
      " + error " + a.error.toFixed(3) + '</p><table class="data" id="attribute-table"><tr><th>feature</th><th>activation</th><th>contribution</th></tr>' +
      rows(a.promoting) + rows(a.suppressing) + "</table>";
  } catch (e) { fail(e); }
});
$("attribute-out").addEventListener("click", (ev) => {
  const b = ev.target.closest(".feat");
  if (b) openFeature(Number(b.dataset.feature));
});

$("compare-run").addEventListener("click", async () => {
  try {
    const texts = $("compare-texts").value.split("\\n").filter((t) => t.trim());
    const c = await api("/api/compare", { texts });
    $("compare-out").innerHTML = '<table class="data"><tr><th>text</th><th>tokens</th><th>mean L0</th><th>explained variance</th></tr>' +
      c.prompts.map((p) => "<tr><td>" + esc(p.text) + "</td><td>" + p.tokens + "</td><td>" + fmt(p.mean_l0, 2) + "</td><td>" +
        fmt(p.explained_variance, 4) + "</td></tr>").join("") + "</table><p>" + c.shared.length +
      ' features active in every prompt:</p><table class="data" id="compare-table"><tr><th>feature</th><th>mean peak</th></tr>' +
      c.shared.map((f) => "<tr><td>" + f.index + "</td><td>" + f.mean.toFixed(3) + "</td></tr>").join("") + "</table>";
  } catch (e) { fail(e); }
});
`;

/**
 * The explorer page.
 *
 * @example The page has the text box
 * ```ts
 * import { explorerPageHtml } from "./explorer_page.ts";
 * console.log(explorerPageHtml("embedded").includes('id="text"')); // true
 * ```
 *
 * @param saeLabel What the SAE was loaded from, for the title.
 * @returns The HTML page.
 */
export function explorerPageHtml(saeLabel: string): string {
  const body = `<h1 id="title">SAE explorer: ${escapeHtml(saeLabel)}</h1>
<p id="sae-switch" hidden><label for="sae-picker">SAE</label> <select id="sae-picker"></select>
<span class="muted" id="sae-status"></span></p>
<p id="model-switch" hidden><label for="model-picker">model</label> <select id="model-picker"></select>
<span class="muted" id="model-status"></span></p>
<details id="registry" hidden><summary>Another SAE from the registry (downloaded into the Hugging Face cache)</summary>
<div class="row"><input id="registry-search" placeholder="words, e.g. gpt2-small res-jb 8" size="40" spellcheck="false">
<span class="muted" id="registry-count"></span></div>
<select id="registry-results" size="6"></select>
<div class="row"><button id="registry-load">Download and switch</button>
<progress id="pull-progress" max="1" value="0" style="display: none"></progress> <span class="muted" id="pull-status"></span></div>
</details>
<p class="muted" id="info"></p>
<p id="error" role="alert"></p>
<section id="encode-view">
<label for="text">Text: each token's strongest features as you type (click a feature for its dashboard)</label>
<textarea id="text" rows="3" spellcheck="false"></textarea>
<p class="muted" id="summary"></p>
<div id="tokens"></div>
</section>
<section id="feature-view">
<h2 id="feature-title">Feature: click one above</h2>
<progress id="dash-progress" max="1" value="0" style="display: none"></progress> <span class="muted" id="dash-status"></span>
<iframe id="dashboard" title="feature dashboard"></iframe>
</section>
<section id="steer-view">
<h2>Steer: generate with the feature's decoder direction added, and without</h2>
<div class="row"><label>feature <input type="number" id="steer-feature" min="0"></label>
<label>strength <input type="number" id="steer-strength" value="8" step="any"></label>
<label>relative to <select id="steer-relative"><option>absolute</option><option>max-act</option><option>resid-norm</option></select></label>
<label>positions <select id="steer-positions"><option>all</option><option>prompt</option><option>last</option></select></label></div>
<div class="row"><label>new tokens <input type="number" id="steer-tokens" value="20" min="1" max="64"></label>
<label>temperature <input type="number" id="steer-temperature" value="1" min="0" step="any"></label>
<label>seed <input type="number" id="steer-seed" value="0" min="0"></label>
<label>samples <input type="number" id="steer-samples" value="1" min="1" max="4"></label>
<label><input type="checkbox" id="steer-greedy"> greedy</label>
<button id="steer-run">Steer</button></div>
<div id="steer-out"></div>
</section>
<section id="ablate-view">
<h2>Ablate: switch features off at every position, one by one and all together, and read P(target) at the last token</h2>
<div class="row"><label>target token <input id="ablate-target" value=" the"></label>
<label>features <input id="ablate-features" placeholder="e.g. 12,584 (empty: the last token's top 5)"></label>
<label><input type="checkbox" id="ablate-error" checked> error term</label>
<button id="ablate-run">Ablate</button></div>
<div id="ablate-out"></div>
</section>
<section id="attribute-view">
<h2>Attribute: the target token's logit at the last token, feature by feature</h2>
<div class="row"><label>target token <input id="attribute-target" value=" the"></label>
<button id="attribute-run">Attribute</button></div>
<div id="attribute-out"></div>
</section>
<section id="compare-view">
<h2>Compare: features active in every prompt (one per line)</h2>
<textarea id="compare-texts" rows="3" spellcheck="false"></textarea>
<div class="row"><button id="compare-run">Compare</button></div>
<div id="compare-out"></div>
</section>
<div id="tooltip"></div>`;
  return htmlPage(`SAE explorer: ${saeLabel}`, body, { css: CSS, script: SCRIPT });
}
