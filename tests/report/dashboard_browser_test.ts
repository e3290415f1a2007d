// Opens a dashboard page in headless Chromium (Debian's `chromium`, driven by playwright-core) and uses it
// as a person would: pick a feature, hover a token. The screenshot stays in out/test-artifacts/.
import { chromium } from "playwright-core";
import { assertEquals } from "../_assert.ts";
import { FIXTURES } from "../_fixtures.ts";
import { MODEL_DIR } from "../lm/_models.ts";
import { runCli } from "../cli/_run.ts";

const ORT = { sanitizeOps: false, sanitizeResources: false };
const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
const ARTIFACTS = new URL("../../out/test-artifacts/", import.meta.url).pathname;

Deno.test("sae dashboard's page shows the picked feature and a token's activation on hover", ORT, async () => {
  await Deno.stat(CHROMIUM).catch(() => {
    throw new Error(`No Chromium at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM_PATH`);
  });
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  const page = `${ARTIFACTS}dashboard.html`;
  const { code, stderr } = await runCli([
    "dashboard",
    "--sae",
    `${FIXTURES}sae-standard`,
    "--model",
    MODEL_DIR,
    "--dataset",
    `${FIXTURES}reference-dev.safetensors`,
    "--features",
    "0-4,584",
    "--tokens",
    "4096",
    "--out",
    page,
  ]);
  assertEquals(code, 0, stderr);
  const data = JSON.parse(
    /<script type="application\/json" id="dashboard-data">(.*?)<\/script>/s.exec(await Deno.readTextFile(page))![1],
  );
  const feature = data.features.find((f: { feature_index: number }) => f.feature_index === 584);

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  try {
    const tab = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
    const errors: string[] = [];
    tab.on("pageerror", (e) => errors.push(String(e)));
    tab.on("request", (r) => {
      if (!r.url().startsWith("file:")) errors.push(`network request to ${r.url()}`);
    });
    await tab.goto(`file://${page}`);
    assertEquals(await tab.textContent("#feature-title"), "Feature 0");
    assertEquals(await tab.locator("#feature-picker option").count(), 6);

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
    assertEquals(errors, []);
  } finally {
    await browser.close();
  }
});
