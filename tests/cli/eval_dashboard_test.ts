import { saeInput, saeSite } from "../../core/sae/sae_on_model.ts";
import { SAE } from "../../core/sae/sae.ts";
import { assertEquals } from "../_assert.ts";
import { FIXTURES } from "../_fixtures.ts";
import { EVAL_ROWS, loadFixtureModel, MODEL_DIR } from "../lm/_models.ts";
import { assertProgressLog, loggedRun, runCli } from "./_run.ts";

const ORT = { sanitizeOps: false, sanitizeResources: false };
const STANDARD = ["--sae", `${FIXTURES}sae-standard`, "--model", MODEL_DIR];
const REFERENCE_TOKENS = ["--dataset", `${FIXTURES}reference-dev.safetensors`];

Deno.test("sae eval --json prints the metrics of the rows asked for and --html writes the report", ORT, async () => {
  const dir = await Deno.makeTempDir();
  const { code, stdout, stderr } = await runCli([
    "eval",
    ...STANDARD,
    ...REFERENCE_TOKENS,
    "--batches",
    "1",
    "--batch-size",
    "4",
    "--json",
    "--html",
    `${dir}/eval.html`,
  ]);
  assertEquals(code, 0, stderr);
  const m = JSON.parse(stdout);
  for (
    const key of ["ce_orig", "ce_sae", "ce_zero_ablation", "ce_loss_score", "l0", "explained_variance", "kl_div_score"]
  ) {
    assertEquals(Number.isFinite(m[key]), true, key);
  }
  assertEquals([m.rows, m.context_size, m.d_sae], [4, 128, 1024]);
  const model = await loadFixtureModel();
  try {
    const { loss } = await model.run(EVAL_ROWS.slice(0, 4), { returnType: "loss" });
    assertEquals(Math.abs(m.ce_orig - loss!) < 1e-5, true, `${m.ce_orig} vs ${loss}`);
  } finally {
    await model.dispose();
  }
  const html = await Deno.readTextFile(`${dir}/eval.html`);
  assertEquals(html.includes(`data-metric="ce_loss_score">${m.ce_loss_score.toFixed(5)}<`), true);
  assertEquals(html.includes("<svg"), true);
  await Deno.remove(dir, { recursive: true });
});

Deno.test(
  "sae dashboard --json gives each feature's peak, density and top logits as computed by hand",
  ORT,
  async () => {
    const features = [584, 3];
    const out = await runCli([
      "dashboard",
      ...STANDARD,
      ...REFERENCE_TOKENS,
      "--features",
      features.join(","),
      "--tokens",
      "2048",
      "--json",
    ]);
    assertEquals(out.code, 0, out.stderr);
    const dash = JSON.parse(out.stdout);
    assertEquals([dash.n_tokens, dash.hook_name, dash.features.length], [2048, "blocks.2.hook_resid_pre", 2]);
    // no Neuronpedia id: the set is named after the hook, as Neuronpedia's residual-stream sets begin
    assertEquals([dash.model_id, dash.layer, dash.sae_set, dash.neuronpedia_id], ["gpt2-sotu-tiny", 2, "res", null]);
    const model = await loadFixtureModel();
    const sae = await SAE.load(`${FIXTURES}sae-standard`);
    try {
      const rows = EVAL_ROWS.slice(0, 16);
      const site = saeSite(model, sae);
      const { cache } = await model.runWithCache(rows, { names: [site.hookName], stopAtLayer: site.stopAtLayer });
      const f = await sae.encode(saeInput(site, cache.get(site.hookName)!, sae.cfg.d_in)).read();
      features.forEach((feature, k) => {
        const got = dash.features[k];
        let max = 0, fired = 0;
        for (let t = 0; t < 2048; t++) {
          if (t % 128 === 0) continue; // the row's opening BOS
          const v = f[t * sae.cfg.d_sae + feature];
          if (v > 0) fired++;
          max = Math.max(max, v);
        }
        assertEquals(got.feature_index, feature);
        assertEquals(Math.abs(got.maxActApprox - max) < 1e-3, true, `${got.maxActApprox} vs ${max}`);
        assertEquals(Math.abs(got.frac_nonzero - fired / (2048 - 16)) < 1e-12, true);
        const top = got.activations[0];
        assertEquals([top.bin_min, top.bin_contains], [-1, -1]);
        assertEquals(Math.abs(top.values[top.qualifying_token_index] - max) < 1e-3, true);
        assertEquals(got.activations.filter((a: { bin_min: number }) => a.bin_min === -1).length, Math.min(20, fired));
        assertEquals(got.freq_hist_data_bar_heights.reduce((a: number, b: number) => a + b, 0), fired);
        // the strongest promoted token: argmax over the vocabulary of W_dec[f] · W_U
        const W_U = model.W_U.data;
        const V = model.cfg.dVocab, d = model.cfg.dModel;
        let best = -Infinity, bestToken = -1;
        for (let v = 0; v < V; v++) {
          let s = 0;
          for (let j = 0; j < d; j++) s += sae.W_dec.data[feature * d + j] * W_U[j * V + v];
          if (s > best) [best, bestToken] = [s, v];
        }
        assertEquals(got.pos_str[0], model.toString([bestToken]));
        assertEquals(Math.abs(got.pos_values[0] - best) < 1e-3, true);
        assertEquals(got.neuronpedia_url, null);
      });
    } finally {
      sae.destroy();
      await model.dispose();
    }
  },
);

Deno.test("sae eval and sae dashboard refuse bad input before any long work", ORT, async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/short.txt`, "Too short.\n");
  const cases: [string[], string][] = [
    [["eval", ...STANDARD, "--dataset", `${dir}/short.txt`], "is empty: it gives no full row of 128 tokens"],
    [["eval", ...STANDARD, "--dataset", `${dir}/none`], "does not exist"],
    [["eval", ...STANDARD, "--context-size", "4096"], "The context size 4096 is above the model's 128 positions"],
    [["eval", ...STANDARD, "--html", `${dir}/missing/eval.html`], "folder"],
    [
      ["dashboard", ...STANDARD, "--features", "0-9,1024", "--out", `${dir}/d.html`],
      "feature 1024 is outside the SAE's 1024 features",
    ],
    [["dashboard", ...STANDARD, "--features", "0", "--out", `${dir}/missing/d.html`], "does not exist"],
    [["dashboard", ...STANDARD, "--features", "9-2", "--json"], "runs backwards"],
    [
      ["dashboard", ...STANDARD, "--features", "1", "--json", ...REFERENCE_TOKENS, "--context-size", "64"],
      "holds rows of 128 tokens",
    ],
  ];
  for (const [args, message] of cases) {
    const start = performance.now();
    const { code, stderr } = await runCli(args);
    assertEquals(code !== 0, true, args.join(" "));
    assertEquals(stderr.includes(message), true, `${args.join(" ")}: ${stderr}`);
    assertEquals(stderr.includes("    at "), false, "no stack trace");
    assertEquals(performance.now() - start < 10_000, true, `${args.join(" ")} took long`);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("sae eval and sae dashboard in a log: start line, device, progress lines and summary", ORT, async () => {
  const evalRun = await loggedRun([
    "eval",
    ...STANDARD,
    ...REFERENCE_TOKENS,
    "--batches",
    "2",
    "--batch-size",
    "1",
    "--json",
  ]);
  assertProgressLog(
    evalRun.lines,
    "eval",
    /^sae eval: 1\/2 rows \(50%\), 128 tokens, \d+ tokens\/s, ETA [\d.]+m?s, L0 [\d.]+, explained variance [\d.]+, ce_loss_score [\d.]+$/,
    /^sae eval: done, 2 rows in .*: L0 [\d.]+, explained variance [\d.]+, ce_loss_score [\d.]+, dead \d+ of 1024$/,
  );
  assertEquals(evalRun.lines[0].includes(`dataset ${FIXTURES}reference-dev.safetensors`), true, evalRun.lines[0]);
  const m = JSON.parse(evalRun.stdout);
  assertEquals(m.warnings.length, 1);
  assertEquals(m.warnings[0].startsWith("dead and dense counts come from only 256 tokens"), true, m.warnings[0]);

  const dashRun = await loggedRun([
    "dashboard",
    ...STANDARD,
    ...REFERENCE_TOKENS,
    "--features",
    "3,584",
    "--tokens",
    "256",
    "--batch-size",
    "1",
    "--neuronpedia-id",
    "gpt2-sotu-tiny/2-res-test",
    "--json",
  ]);
  assertProgressLog(
    dashRun.lines,
    "dashboard",
    /^sae dashboard: 1\/2 rows \(50%\), 128 tokens, \d+ tokens\/s, ETA /,
    /^sae dashboard: done, 2 rows in .*: 2 features, \d never fired in 256 tokens$/,
  );
  const dash = JSON.parse(dashRun.stdout);
  assertEquals([dash.model_id, dash.layer, dash.sae_set, dash.neuronpedia_id], [
    "gpt2-sotu-tiny",
    2,
    "res-test",
    "gpt2-sotu-tiny/2-res-test",
  ]);
  assertEquals(dash.features[1].neuronpedia_url, "https://neuronpedia.org/gpt2-sotu-tiny/2-res-test/584");
});
