// Opens the dashboard and eval pages in headless Chromium (Debian's `chromium`, driven by playwright-core)
// and uses them as a person would: pick a feature, hover a token, read the axes. The screenshots stay in
// out/test-artifacts/.
import { chromium, type Page } from "playwright-core";
import { assertEquals } from "../_assert.ts";
import { readSafetensors, toFloat32, writeSafetensors } from "../../core/io/safetensors.ts";
import { FIXTURES } from "../_fixtures.ts";
import { MODEL_DIR } from "../lm/_models.ts";
import { runCli } from "../cli/_run.ts";

const ORT = { sanitizeOps: false, sanitizeResources: false };
const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
const ARTIFACTS = new URL("../../out/test-artifacts/", import.meta.url).pathname;
// the fixture SAE with one feature made dead (b_enc far below any pre-activation), so the page shows one
const DEAD_FEATURE = 7;

async function saeWithDeadFeature(dir: string): Promise<string> {
  const file = await readSafetensors(`${FIXTURES}sae-standard/sae_weights.safetensors`);
  const tensors = Object.fromEntries(
    [...file.tensors].map(([name, entry]) => [name, { shape: entry.shape, data: toFloat32(entry, name) }]),
  );
  tensors.b_enc.data[DEAD_FEATURE] = -1e4;
  await writeSafetensors(`${dir}/sae_weights.safetensors`, tensors);
  await Deno.copyFile(`${FIXTURES}sae-standard/cfg.json`, `${dir}/cfg.json`);
  return dir;
}

/** The texts of the page's charts that stick out of their SVG (so are clipped). */
function clippedChartTexts(tab: Page): Promise<string[]> {
  // runs in the page (a string, as this file is checked without the DOM's types)
  return tab.evaluate(`[...document.querySelectorAll("svg")].flatMap((svg) => {
    const box = svg.getBoundingClientRect();
    return [...svg.querySelectorAll("text")].filter((t) => {
      const r = t.getBoundingClientRect();
      return r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5;
    }).map((t) => t.textContent);
  })`);
}

/**
 * Opens a headless Chromium tab of `viewport`'s size and runs `use` on it (which loads the page), then asserts that
 * nothing went to `errors` (the page's uncaught errors, and whatever `use` adds) and closes the browser.
 */
async function inChromium(
  viewport: { width: number; height: number },
  use: (tab: Page, errors: string[]) => Promise<void>,
): Promise<void> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  try {
    const tab = await browser.newPage({ viewport });
    const errors: string[] = [];
    tab.on("pageerror", (e) => errors.push(String(e)));
    await use(tab, errors);
    assertEquals(errors, []);
  } finally {
    await browser.close();
  }
}

async function checkChromium(): Promise<void> {
  await Deno.stat(CHROMIUM).catch(() => {
    throw new Error(`No Chromium at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM_PATH`);
  });
  await Deno.mkdir(ARTIFACTS, { recursive: true });
}

Deno.test("sae dashboard's page shows the picked feature and a token's activation on hover", ORT, async () => {
  await checkChromium();
  const page = `${ARTIFACTS}dashboard.html`;
  const sae = await saeWithDeadFeature(await Deno.makeTempDir());
  const { code, stderr } = await runCli([
    "dashboard",
    "--sae",
    sae,
    "--model",
    MODEL_DIR,
    "--dataset",
    `${FIXTURES}reference-dev.safetensors`,
    "--features",
    `0-4,584,${DEAD_FEATURE}`,
    "--tokens",
    "4096",
    "--out",
    page,
  ]);
  assertEquals(code, 0, stderr);
  await Deno.remove(sae, { recursive: true });
  const data = JSON.parse(
    /<script type="application\/json" id="dashboard-data">(.*?)<\/script>/s.exec(await Deno.readTextFile(page))![1],
  );
  const feature = data.features.find((f: { feature_index: number }) => f.feature_index === 584);

  await inChromium({ width: 1200, height: 1000 }, async (tab, errors) => {
    tab.on("request", (r) => {
      if (!r.url().startsWith("file:")) errors.push(`network request to ${r.url()}`);
    });
    await tab.goto(`file://${page}`);
    assertEquals(await tab.textContent("#feature-title"), "Feature 0");
    assertEquals(await tab.locator("#feature-picker option").count(), 7);
    assertEquals((await tab.textContent("#sample-warning"))!.includes("only 4096 tokens"), true);

    await tab.selectOption("#feature-picker", "584");
    assertEquals(await tab.textContent("#feature-title"), "Feature 584");
    const stats = (await tab.textContent("#feature-stats"))!;
    assertEquals(stats.includes(`max activation ${feature.maxActApprox.toFixed(3)}`), true, stats);
    assertEquals(await tab.locator("#logit-table tr").count(), 11);
    assertEquals(
      await tab.locator("#top-examples .example").count(),
      feature.activations.filter((a: { bin_min: number }) => a.bin_min === -1).length,
    );
    assertEquals(await tab.locator("#intervals .group").count() > 0, true);
    assertEquals(await tab.locator("svg rect").count(), 100); // two histograms of 50 bins
    // labelled axes: ticks on both, the counts' labels whole (the logit histogram's reach 4-5 digits)
    assertEquals(await tab.locator("svg .x-tick").count() >= 6, true);
    assertEquals(await tab.locator("svg .y-tick").count() >= 4, true);
    const logitTop = String(Math.max(...feature.logits_hist_data_bar_heights)).length;
    assertEquals(logitTop >= 4, true, "the logit histogram's counts have 4 digits or more");
    assertEquals(await clippedChartTexts(tab), []);

    const top = feature.activations[0];
    const token = tab.locator("#top-examples .example").first().locator(".tok.qual");
    await token.hover();
    const tooltip = (await tab.textContent("#tooltip"))!;
    assertEquals(await tab.isVisible("#tooltip"), true);
    assertEquals(
      tooltip,
      `token ${JSON.stringify(top.tokens[top.qualifying_token_index])}\nactivation ${
        top.values[top.qualifying_token_index].toFixed(3)
      }`,
    );
    assertEquals(new URL(tab.url()).hash, "#feature-584");
    await tab.screenshot({ path: `${ARTIFACTS}dashboard.png` });

    // a feature that never fired: a message in place of an empty histogram; its logits still drawn
    await tab.selectOption("#feature-picker", String(DEAD_FEATURE));
    assertEquals(await tab.locator("svg").count(), 1);
    const dead = (await tab.textContent("#dead-feature"))!;
    assertEquals(dead.startsWith(`Feature ${DEAD_FEATURE} never fired on the 4096 tokens read`), true, dead);
    assertEquals((await tab.textContent("#top-examples"))!.includes("The feature never fired."), true);
    await tab.screenshot({ path: `${ARTIFACTS}dashboard-dead.png` });
  });
});

Deno.test(
  "sae eval's report shows the metrics, a small-sample warning, a ticked density histogram and the L0 histogram",
  ORT,
  async () => {
    await checkChromium();
    const page = `${ARTIFACTS}eval.html`;
    const { code, stdout, stderr } = await runCli([
      "eval",
      "--sae",
      `${FIXTURES}sae-standard`,
      "--model",
      MODEL_DIR,
      "--dataset",
      `${FIXTURES}reference-dev.safetensors`,
      "--batches",
      "1",
      "--batch-size",
      "4",
      "--json",
      "--html",
      page,
    ]);
    assertEquals(code, 0, stderr);
    const m = JSON.parse(stdout);
    await inChromium({ width: 900, height: 900 }, async (tab) => {
      await tab.goto(`file://${page}`);
      assertEquals(await tab.textContent('[data-metric="dead_features"]'), String(m.dead_features));
      const warning = (await tab.textContent("#sample-warning"))!;
      assertEquals(warning.includes("dead and dense counts come from only 512 tokens"), true, warning);
      assertEquals(await tab.isVisible("#sample-warning"), true);
      assertEquals(await tab.locator("#density-histogram svg rect").count(), 50);
      // the x axis is ticked along its length, not only at its ends
      const xTicks = await tab.locator("#density-histogram svg .x-tick").allTextContents();
      assertEquals(xTicks, ["-10", "-9", "-8", "-7", "-6", "-5", "-4", "-3", "-2", "-1", "0"]);
      const yTicks = await tab.locator("#density-histogram svg .y-tick").allTextContents();
      assertEquals(yTicks.length >= 3 && yTicks[0] === "0", true, yTicks.join(" "));
      assertEquals(await tab.locator("svg text", { hasText: "log10 feature density" }).count(), 1);
      assertEquals(await tab.locator("#density-histogram svg text", { hasText: "features" }).count(), 1);
      // the L0 histogram: every token after each row's BOS in one bar, bars whole L0 values wide, ticked axes
      const l0 = m.l0_histogram as { edges: number[]; counts: number[] };
      assertEquals(l0.counts.reduce((a, b) => a + b, 0), m.tokens - m.rows);
      assertEquals(l0.edges.every(Number.isInteger), true, l0.edges.join());
      assertEquals(await tab.locator("#l0-histogram svg rect").count(), l0.counts.length);
      const mean = l0.counts.reduce((s, c, i) => s + c * (l0.edges[i] + l0.edges[i + 1] - 1) / 2, 0) /
        (m.tokens - m.rows);
      assertEquals(Math.abs(mean - m.l0) <= (l0.edges[1] - l0.edges[0]) / 2, true, `${mean} vs ${m.l0}`);
      assertEquals(
        await tab.locator("#l0-histogram svg text", { hasText: "L0 (active features per token)" }).count(),
        1,
      );
      assertEquals((await tab.locator("#l0-histogram svg .x-tick").count()) >= 2, true);
      assertEquals((await tab.locator("#l0-histogram svg .y-tick").count()) >= 2, true);
      assertEquals(await clippedChartTexts(tab), []);
      await tab.screenshot({ path: `${ARTIFACTS}eval.png`, fullPage: true });
    });
  },
);

Deno.test(
  "sae train's report gives a verdict, the settings, each loss term and ticked, labelled axes",
  ORT,
  async () => {
    await checkChromium();
    const page = `${ARTIFACTS}train.html`;
    const dir = await Deno.makeTempDir();
    const config = `${dir}/train.json`;
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        model_name: MODEL_DIR,
        d_sae: 64,
        context_size: 32,
        store_batch_size_prompts: 4,
        n_batches_in_buffer: 4,
        train_batch_size_tokens: 128,
        training_tokens: 128 * 24,
        l1_coefficient: 0.01,
        checkpoint_path: `${dir}/ck`,
        wandb_log_frequency: 2,
        feature_sampling_window: 8,
      }),
    );
    const { code, stdout, stderr } = await runCli(["train", "--config", config, "--report", page]);
    assertEquals(code, 0, stderr);
    await Deno.remove(dir, { recursive: true }); // the page is written outside it
    // the log says the verdict too: after 24 steps the explained variance is far below 0.8
    assertEquals(
      /: L0 [\d.]+, explained variance -?[\d.]+; explained variance -?[\d.]+ is not above 0\.8/.test(stdout),
      true,
      stdout,
    );
    await inChromium({ width: 1000, height: 900 }, async (tab) => {
      await tab.goto(`file://${page}`);
      const verdict = (await tab.textContent("#verdict"))!;
      assertEquals(/L0 [\d.]+/.test(verdict) && verdict.includes("no firing in the last 1000 steps"), true, verdict);
      // the loss is drawn term by term, every chart has ticks along both axes and a step caption
      for (const term of ["overall_loss", "mse_loss", "l1_loss"]) {
        assertEquals(await tab.locator("svg.curve title", { hasText: term }).count(), 1, term);
      }
      const charts = await tab.locator("svg.curve").count();
      assertEquals(charts, 4);
      assertEquals(await tab.locator("svg.curve text", { hasText: /^step$/ }).count(), charts);
      assertEquals((await tab.locator("svg.curve .x-tick").count()) >= 2 * charts, true);
      assertEquals((await tab.locator("svg.curve .y-tick").count()) >= 2 * charts, true);
      const never = (await tab.textContent("#never-fired"))!;
      assertEquals(/^\d+ of 64 latents never fired in that window/.test(never), true, never);
      assertEquals(await tab.locator("td", { hasText: /^l1_coefficient$/ }).count(), 1);
      // no value printed with 15 digits
      const cells = await tab.locator("td").allTextContents();
      assertEquals(cells.filter((c) => /\d\.\d{6,}/.test(c)), []);
      assertEquals(await clippedChartTexts(tab), []);
      await tab.screenshot({ path: `${ARTIFACTS}train.png`, fullPage: true });
    });
  },
);

Deno.test(
  "sae encode's and compare's reports: the L0 histogram of a text, L0 against explained variance per text",
  ORT,
  async () => {
    await checkChromium();
    const encodePage = `${ARTIFACTS}encode.html`, comparePage = `${ARTIFACTS}compare.html`;
    const fixture = ["--sae", `${FIXTURES}sae-standard`, "--model", MODEL_DIR];
    const text = "The State of the Union is strong, and the nation is at peace";
    const encoded = await runCli(["encode", ...fixture, "--html", encodePage, "--json", text]);
    assertEquals(encoded.code, 0, encoded.stderr);
    const enc = JSON.parse(encoded.stdout);
    const texts = [text, "We must protect the borders of the nation", "Congress shall make no law", "I ask"];
    const compared = await runCli(["compare", ...fixture, "--html", comparePage, "--json", ...texts]);
    assertEquals(compared.code, 0, compared.stderr);
    const cmp = JSON.parse(compared.stdout);
    assertEquals(cmp.prompt_stats.length, 4);
    assertEquals(cmp.prompt_stats[0].tokens, enc.tokens.length);
    assertEquals(Math.abs(cmp.prompt_stats[0].mean_l0 - enc.mean_l0) < 1e-9, true);
    assertEquals(Math.abs(cmp.prompt_stats[0].explained_variance - enc.explained_variance) < 1e-9, true);

    await inChromium({ width: 900, height: 900 }, async (tab) => {
      await tab.goto(`file://${encodePage}`);
      assertEquals(await tab.locator("[data-l0]").count(), enc.tokens.length);
      assertEquals(await tab.textContent('[data-l0="1"]'), String(enc.l0[1]));
      // the histogram holds every token after BOS, one bar per L0 value or range of them
      const titles = await tab.locator("#l0-histogram svg rect title").allTextContents();
      const total = titles.reduce((s, t) => s + Number(/: (\d+)$/.exec(t)![1]), 0);
      assertEquals(total, enc.tokens.length - 1);
      assertEquals(
        await tab.locator("#l0-histogram svg text", { hasText: "L0 (active features per token)" }).count(),
        1,
      );
      assertEquals((await tab.locator("#l0-histogram svg .x-tick").count()) >= 2, true);
      assertEquals(await clippedChartTexts(tab), []);
      await tab.screenshot({ path: `${ARTIFACTS}encode.png`, fullPage: true });

      await tab.goto(`file://${comparePage}`);
      // one point per text with an explained variance (all four have two tokens or more after BOS)
      const points = await tab.locator("#sparsity-reconstruction svg circle.point").count();
      assertEquals(
        points,
        cmp.prompt_stats.filter((s: { explained_variance: number | null }) => s.explained_variance !== null).length,
      );
      assertEquals(points, 4);
      const hover = (await tab.locator("#sparsity-reconstruction svg circle.point title").first().textContent())!;
      assertEquals(
        hover.startsWith(`text 1: ${JSON.stringify(text).slice(0, 60)}: ${enc.mean_l0.toPrecision(4)}`),
        true,
        hover,
      );
      for (const axis of ["mean L0 (active features per token)", "explained variance"]) {
        assertEquals(await tab.locator("#sparsity-reconstruction svg text", { hasText: axis }).count(), 1, axis);
      }
      assertEquals((await tab.locator("#sparsity-reconstruction svg .x-tick").count()) >= 2, true);
      assertEquals((await tab.locator("#sparsity-reconstruction svg .y-tick").count()) >= 2, true);
      const l0Total = (await tab.locator("#l0-histogram svg rect title").allTextContents())
        .reduce((s, t) => s + Number(/: (\d+)$/.exec(t)![1]), 0);
      assertEquals(l0Total, cmp.prompt_stats.reduce((s: number, p: { tokens: number }) => s + p.tokens - 1, 0));
      assertEquals(await clippedChartTexts(tab), []);
      await tab.screenshot({ path: `${ARTIFACTS}compare.png`, fullPage: true });
    });
  },
);
