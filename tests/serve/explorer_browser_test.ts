// Uses the explorer in headless Chromium (Debian's `chromium`, driven by playwright-core) as a researcher would:
// types a text, reads the tokens and their features, opens a feature's dashboard, steers, ablates (one by one and
// together), attributes and compares; switches SAE (given at start, and from the registry through a Hub-like server,
// with its download's progress) and model. The time from the last keystroke to the features shown is measured and
// kept, with a screenshot of each view, in out/test-artifacts/.
import { chromium } from "playwright-core";
import { encodeText } from "../../core/analysis/encode_text.ts";
import { ENCODE_DEBOUNCE_MS } from "../../core/serve/explorer_page.ts";
import { assertEquals } from "../_assert.ts";
import { SAE } from "../../core/sae/sae.ts";
import type { ExplorerSession } from "../../core/serve/explorer_api.ts";
import type { SessionPick } from "../../core/serve/explorer_sessions.ts";
import { loadSaeAndModel } from "../../core/analysis/load_sae_and_model.ts";
import { withHubEnv } from "../hub/_hub_env.ts";
import { FIXTURES } from "../_fixtures.ts";
import { embeddedSession, ORT, withExplorer } from "./_explorer.ts";

const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
const ARTIFACTS = new URL("../../out/test-artifacts/", import.meta.url).pathname;
const TEXT = "The State of the Union is strong, and the nation";
// the features of a typed sentence must follow the typing: well under this after the last keystroke
const LIVE_MS = 300;

Deno.test(
  "sae serve's page: type, read features, open a dashboard, steer, ablate, attribute, compare",
  ORT,
  async () => {
    await Deno.stat(CHROMIUM).catch(() => {
      throw new Error(`No Chromium at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM_PATH`);
    });
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    await withExplorer({ host: "127.0.0.1" }, async (server, { sae, model }) => {
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
      try {
        const tab = await browser.newPage({ viewport: { width: 1200, height: 900 } });
        const errors: string[] = [];
        tab.on("pageerror", (e) => errors.push(String(e)));
        tab.on("console", (m) => {
          if (m.type() === "error") errors.push(m.text());
        });
        tab.on("request", (r) => {
          const url = r.url();
          if (!url.startsWith(`http://127.0.0.1:${server.port}/`)) {
            errors.push(`request to ${url}`);
          }
        });
        await tab.goto(server.url); // the printed URL, with its token: every API call then carries it
        // (locators, not string predicates: the page's Content-Security-Policy forbids eval)
        await tab.locator("#info", { hasText: "1024 features" }).waitFor();

        // type; the features follow
        await tab.locator("#text").click();
        await tab.keyboard.type(TEXT, { delay: 25 });
        await tab.locator(`#tokens[data-text=${JSON.stringify(TEXT)}]`).waitFor({ state: "attached" });
        const latency = Number(await tab.getAttribute("#tokens", "data-latency-ms"));
        const enc = await encodeText(model, sae, TEXT, { top: 3 });
        await Deno.writeTextFile(
          `${ARTIFACTS}serve-latency.json`,
          JSON.stringify({ text: TEXT, ms_from_last_keystroke_to_features: latency, debounce_ms: ENCODE_DEBOUNCE_MS }),
        );
        console.log(
          `features shown ${latency.toFixed(1)} ms after the last keystroke (debounce ${ENCODE_DEBOUNCE_MS} ms)`,
        );
        assertEquals(latency < LIVE_MS, true, `${latency} ms`);
        assertEquals(await tab.locator("#tokens .token").count(), enc.tokens.length);
        assertEquals(await tab.textContent('[data-l0="3"]'), `L0 ${enc.l0[3]}`);
        const shown = await tab.locator('#tokens .token[data-pos="3"] .feat').allTextContents();
        assertEquals(shown, enc.top[3].map((f) => String(f.index)));
        const summary = (await tab.textContent("#summary"))!;
        assertEquals(summary.includes(`explained variance ${enc.summary.explainedVariance.toFixed(4)}`), true, summary);
        const chip = tab.locator('#tokens .token[data-pos="3"] .feat').first();
        await chip.hover();
        assertEquals(
          await tab.textContent("#tooltip"),
          `feature ${enc.top[3][0].index} on "${enc.strTokens[3]}"\nactivation ${enc.top[3][0].activation.toFixed(3)}`,
        );
        await tab.locator("#encode-view").screenshot({ path: `${ARTIFACTS}serve-encode.png` });

        // a feature's dashboard, built on the click
        const feature = enc.top[3][0].index;
        await chip.click();
        await tab.waitForSelector("#dashboard[data-feature]", { state: "visible" });
        const frame = tab.frameLocator("#dashboard");
        assertEquals(await frame.locator("#feature-title").textContent(), `Feature ${feature}`);
        assertEquals(await frame.locator("#top-examples .example").count() > 0, true);
        assertEquals(await tab.inputValue("#steer-feature"), String(feature));
        await tab.locator("#feature-view").screenshot({ path: `${ARTIFACTS}serve-dashboard.png` });

        // steer, greedy: the page shows what the API gives
        await tab.fill("#steer-strength", "2");
        await tab.selectOption("#steer-relative", "resid-norm");
        await tab.fill("#steer-tokens", "10");
        await tab.check("#steer-greedy");
        await tab.click("#steer-run");
        await tab.waitForSelector(".gen.steered");
        const steered = await tab.locator(".gen.steered").allTextContents();
        const baseline = await tab.locator(".gen.baseline").allTextContents();
        assertEquals(steered.length, 1);
        assertEquals(baseline[0] !== steered[0], true, `${baseline[0]} vs ${steered[0]}`);
        await tab.locator("#steer-view").screenshot({ path: `${ARTIFACTS}serve-steer.png` });

        // ablate the last token's top features (the field cleared) for " is"
        await tab.fill("#ablate-features", "");
        await tab.fill("#ablate-target", " is");
        await tab.click("#ablate-run");
        await tab.waitForSelector("#ablate-table");
        assertEquals(await tab.locator("#ablate-table tr[data-feature]").count(), Math.min(5, enc.l0.at(-1)!));
        assertEquals(await tab.locator("#next-tokens > div").count(), 3);
        assertEquals(/^\d/.test((await tab.textContent("#p-clean"))!), true);
        // the same features all at once, and the next tokens they leave
        const n = Math.min(5, enc.l0.at(-1)!);
        if (n > 1) {
          assertEquals((await tab.textContent("#ablate-together p"))!.startsWith(`All ${n} at once (`), true);
          assertEquals(/^\d/.test((await tab.textContent("#p-together"))!), true);
          assertEquals(await tab.locator("#together-tokens tr").count(), 10);
        }
        await tab.locator("#ablate-view").screenshot({ path: `${ARTIFACTS}serve-ablate.png` });

        // attribute " is" to the last token's features; compare two prompts
        await tab.fill("#attribute-target", " is");
        await tab.click("#attribute-run");
        await tab.waitForSelector("#attribute-table");
        assertEquals(await tab.locator("#attribute-table tr").count() > 1, true);
        await tab.locator("#attribute-view").screenshot({ path: `${ARTIFACTS}serve-attribute.png` });
        await tab.fill("#compare-texts", `${TEXT}\nWe must protect the borders of the nation`);
        await tab.click("#compare-run");
        await tab.waitForSelector("#compare-table");
        assertEquals(await tab.locator("#compare-out table").first().locator("tr").count(), 3);
        await tab.locator("#compare-view").screenshot({ path: `${ARTIFACTS}serve-compare.png` });

        // a refused request shows its message and the page goes on
        await tab.fill("#ablate-target", " two tokens");
        await tab.click("#ablate-run");
        await tab.locator("#error", { hasText: 'Field "target"' }).waitFor();
        await tab.screenshot({ path: `${ARTIFACTS}serve.png`, fullPage: true });
        assertEquals(errors.filter((e) => !e.includes("400 (Bad Request)")), []);
      } finally {
        await browser.close();
      }
    });
  },
);

Deno.test("sae serve's page switches to another SAE given at start and encodes with it", ORT, async () => {
  const topk = `${FIXTURES}sae-topk`;
  let loaded: ExplorerSession | undefined;
  const load = async (label: string): Promise<ExplorerSession> => {
    // the embedded model and the fixture's rows, with the top-k SAE in place of the embedded one
    loaded = await embeddedSession();
    loaded.sae.destroy();
    loaded.sae = await SAE.load(label);
    loaded.saeLabel = label;
    return loaded;
  };
  await withExplorer({ saes: { labels: ["embedded", topk], load } }, async (server) => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    try {
      const tab = await browser.newPage({ viewport: { width: 1200, height: 600 } });
      const errors: string[] = [];
      tab.on("pageerror", (e) => errors.push(String(e)));
      await tab.goto(server.url);
      await tab.locator("#sae-switch").waitFor();
      assertEquals(await tab.locator("#sae-picker option").allTextContents(), ["embedded", topk]);
      await tab.locator("#text").fill(TEXT);
      await tab.locator(`#tokens[data-text=${JSON.stringify(TEXT)}]`).waitFor({ state: "attached" });
      await tab.selectOption("#sae-picker", topk);
      await tab.locator("#info", { hasText: `topk SAE ${topk}` }).waitFor();
      assertEquals(await tab.textContent("#title"), `SAE explorer: ${topk}`);
      // the text is encoded again, with the top-k SAE
      const enc = await encodeText(loaded!.model, loaded!.sae, TEXT, { top: 3 });
      await tab.locator('[data-l0="1"]', { hasText: new RegExp(`^L0 ${enc.l0[1]}$`) }).waitFor();
      const shown = await tab.locator('#tokens .token[data-pos="1"] .feat').allTextContents();
      assertEquals(shown, enc.top[1].map((f) => String(f.index)));
      await tab.screenshot({ path: `${ARTIFACTS}serve-switch.png` });
      assertEquals(errors, []);
    } finally {
      await browser.close();
    }
  });
});

Deno.test(
  "sae serve's page downloads a registry SAE with a progress bar, switches to it, and switches model",
  ORT,
  async () => {
    const F32 = `${FIXTURES}gpt2-sotu-tiny`, PYTHIA = `${FIXTURES}families/pythia/model`;
    const ID = "gpt2-small-res-jb/blocks.2.hook_resid_pre";
    const read = (file: string) => Deno.readFile(`${FIXTURES}sae-topk/${file}`);
    const weights = await read("sae_weights.safetensors");
    const repo = {
      commit: "0123456789abcdef0123456789abcdef01234567",
      files: {
        "blocks.2.hook_resid_pre/cfg.json": await read("cfg.json"),
        "blocks.2.hook_resid_pre/sae_weights.safetensors": weights,
      },
    };
    await withHubEnv({ "jbloom/GPT2-Small-SAEs-Reformatted": repo }, async (hub) => {
      // the weights trickle in over about a second, so the bar shows
      hub.hook = (req, url) => {
        if (!url.pathname.startsWith("/cdn/") || req.method !== "GET") return undefined;
        const step = Math.ceil(weights.length / 10);
        let at = 0;
        const body = new ReadableStream<Uint8Array>({
          pull: async (c) => {
            await new Promise((r) => setTimeout(r, 100));
            c.enqueue(weights.slice(at, at + step));
            at += step;
            if (at >= weights.length) c.close();
          },
        });
        return new Response(body, { headers: { "content-length": String(weights.length) } });
      };
      let served: ExplorerSession | undefined; // the session served first, whose dataset the others read
      const load = async (label: string, pick: SessionPick): Promise<ExplorerSession> => {
        const model = pick.model === "embedded" ? undefined : pick.model;
        const loaded = await loadSaeAndModel(pick.pulled ?? (label === "embedded" ? undefined : label), { model });
        return { ...served!, ...loaded, saeLabel: label, modelLabel: pick.model ?? "embedded" };
      };
      const saes = { labels: ["embedded"], models: ["embedded", F32, PYTHIA], registry: true, load };
      await withExplorer({ saes }, async (server, session) => {
        served = session;
        const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
        try {
          const tab = await browser.newPage({ viewport: { width: 1200, height: 700 } });
          const errors: string[] = [];
          tab.on("pageerror", (e) => errors.push(String(e)));
          await tab.goto(server.url);
          await tab.locator("#text").fill(TEXT);
          await tab.locator(`#tokens[data-text=${JSON.stringify(TEXT)}]`).waitFor({ state: "attached" });

          // a model the SAE does not fit is refused, with why; the picker goes back
          await tab.locator("#model-switch").waitFor();
          assertEquals(await tab.locator("#model-picker option").allTextContents(), ["embedded", F32, PYTHIA]);
          await tab.selectOption("#model-picker", PYTHIA);
          await tab.locator("#error", {
            hasText: "The SAE's d_in is 128 but the model's blocks.2.hook_resid_pre has width 64",
          })
            .waitFor();
          await tab.locator("#info", { hasText: "of embedded;" }).waitFor();
          assertEquals(await tab.inputValue("#model-picker"), "embedded");
          await tab.selectOption("#model-picker", F32);
          await tab.locator("#info", { hasText: `of ${F32};` }).waitFor();

          // the registry: search, pick, download with the bar, switch
          await tab.locator("#registry summary").click();
          await tab.locator("#registry-search").fill("res-jb blocks.2.hook_resid_pre");
          await tab.locator(`#registry-results option[value="${ID}"]`).waitFor({ state: "attached" });
          await tab.selectOption("#registry-results", ID);
          await tab.click("#registry-load");
          await tab.locator("#pull-status", { hasText: " in the cache" }).waitFor();
          assertEquals(await tab.locator("#pull-progress").isVisible(), true);
          await tab.locator("#registry").screenshot({ path: `${ARTIFACTS}serve-registry.png` });
          await tab.locator("#info", { hasText: `topk SAE ${ID}` }).waitFor();
          assertEquals(await tab.locator("#pull-progress").isVisible(), false);
          assertEquals(await tab.locator("#sae-picker option").allTextContents(), ["embedded", ID]);
          assertEquals(await tab.inputValue("#sae-picker"), ID);
          // the model picked stays: the registry SAE runs on it, and the text is encoded again with it
          assertEquals((await tab.textContent("#info"))!.includes(`of ${F32};`), true);
          const direct = await loadSaeAndModel(`${FIXTURES}sae-topk`, { model: F32 });
          try {
            const enc = await encodeText(direct.model, direct.sae, TEXT, { top: 3 });
            await tab.locator('[data-l0="1"]', { hasText: new RegExp(`^L0 ${enc.l0[1]}$`) }).waitFor();
          } finally {
            direct.sae.destroy();
            await direct.model.dispose();
          }
          assertEquals(errors, []);
        } finally {
          await browser.close();
        }
      });
    });
  },
);
