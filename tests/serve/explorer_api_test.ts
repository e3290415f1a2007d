// Each endpoint's JSON on the embedded SAE and model, checked against the library call it wraps.
import { ablateFeatures } from "../../core/analysis/ablation.ts";
import { sharedFeatures } from "../../core/analysis/compare_prompts.ts";
import { encodeText } from "../../core/analysis/encode_text.ts";
import { steer } from "../../core/analysis/steering.ts";
import { assertEquals } from "../_assert.ts";
import { ORT, withExplorer } from "./_explorer.ts";

const TEXT = "The State of the Union is strong, and the nation";

async function post(base: string, path: string, body: unknown) {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const data = await res.json();
  assertEquals(res.status, 200, JSON.stringify(data));
  return data;
}

Deno.test("/api/info and /api/encode describe the SAE and encode as encodeText() does", ORT, async () => {
  await withExplorer({}, async (server, { sae, model }) => {
    const info = await (await fetch(`${server.base}/api/info`)).json();
    assertEquals([info.sae, info.d_sae, info.d_in, info.hook_name], [
      "embedded",
      1024,
      sae.cfg.d_in,
      "blocks.2.hook_resid_pre",
    ]);
    assertEquals([info.max_text_length, info.max_body_bytes, info.max_waiting, info.pending], [4000, 65536, 8, 0]);
    const enc = await post(server.base, "/api/encode", { text: TEXT, top: 4 });
    const direct = await encodeText(model, sae, TEXT, { top: 4 });
    assertEquals(enc.tokens, direct.strTokens);
    assertEquals(enc.token_ids, direct.tokens);
    assertEquals(enc.l0, direct.l0);
    assertEquals(enc.top, direct.top.map((row) => row.map((f) => ({ index: f.index, activation: f.activation }))));
    assertEquals([enc.bos_positions, enc.mean_l0, enc.mse], [1, direct.summary.meanL0, direct.summary.mse]);
    assertEquals(enc.explained_variance, direct.summary.explainedVariance);
    // one token after BOS: the explained variance is undefined, sent as null
    assertEquals((await post(server.base, "/api/encode", { text: "The" })).explained_variance, null);
  });
});

Deno.test("/api/dashboard builds a feature's page over the dataset once and keeps it", ORT, async () => {
  await withExplorer({}, async (server) => {
    const enc = await post(server.base, "/api/encode", { text: TEXT });
    const feature = enc.top[2][0].index;
    const progress = (f: number) => fetch(`${server.base}/api/dashboard-progress?feature=${f}`).then((r) => r.json());
    assertEquals(await progress(feature), { feature, state: "none", rows: 0, tokens: 0, max_tokens: 2048 });
    // the page the explorer frames is served once built, and only then
    const early = await fetch(`${server.base}/dashboard?feature=${feature}`);
    assertEquals([early.status, (await early.json()).error], [
      404,
      `Feature ${feature}'s dashboard is not built: POST /api/dashboard builds it`,
    ]);
    const first = await post(server.base, "/api/dashboard", { feature });
    const page = await fetch(`${server.base}/dashboard?feature=${feature}`);
    assertEquals([page.status, page.headers.get("x-frame-options")], [200, "SAMEORIGIN"]);
    assertEquals(page.headers.get("content-security-policy")!.includes("frame-ancestors 'self'"), true);
    assertEquals(await page.text(), first.html);
    assertEquals([first.feature, first.tokens], [feature, 2048]);
    const data = JSON.parse(
      /<script type="application\/json" id="dashboard-data">(.*?)<\/script>/s.exec(first.html)![1],
    );
    assertEquals(data.features.map((f: { feature_index: number }) => f.feature_index), [feature]);
    assertEquals(data.n_tokens > 0 && data.n_tokens <= 2048 + 128, true, String(data.n_tokens));
    const done = await progress(feature);
    assertEquals([done.state, done.tokens > 0, done.rows > 0], ["done", true, true]);
    const begun = performance.now();
    const again = await post(server.base, "/api/dashboard", { feature });
    assertEquals(again.html, first.html);
    assertEquals(performance.now() - begun < 200, true, "the second visit is served from memory");
    const bad = await fetch(`${server.base}/api/dashboard-progress?feature=abc`);
    assertEquals(bad.status, 400);
    await bad.body?.cancel();
  });
});

Deno.test("/api/steer generates with and without the feature as steer() does", ORT, async () => {
  await withExplorer({}, async (server, { sae, model }) => {
    const s = await post(server.base, "/api/steer", {
      text: TEXT,
      feature: 5,
      strength: 2,
      strength_relative_to: "resid-norm",
      max_new_tokens: 8,
      greedy: true,
      samples: 2,
      seed: 3,
    });
    const direct = await steer(model, sae, TEXT, {
      feature: 5,
      strength: 2,
      strengthRelativeTo: "resid-norm",
      maxNewTokens: 8,
      doSample: false,
      samples: 2,
      seed: 3,
    });
    assertEquals([s.baseline, s.steered, s.seeds], [direct.baseline, direct.steered, [3, 4]]);
    assertEquals([s.applied_strength, s.resid_norm], [direct.appliedStrength, direct.scale.residNorm]);
    assertEquals(s.baseline[0] !== s.steered[0], true, "a direction twice the residual's norm changes the text");
  });
});

Deno.test(
  "/api/ablate gives P(target) per ablated feature and all together, and the top next tokens, as ablateFeatures() does",
  ORT,
  async () => {
    await withExplorer({}, async (server, { sae, model }) => {
      for (const errorTerm of [true, false]) {
        const a = await post(server.base, "/api/ablate", { text: TEXT, target: " is", error_term: errorTerm, top: 5 });
        const enc = await encodeText(model, sae, TEXT, { top: 5 });
        const last = enc.tokens.length - 1;
        const features = enc.top[last].map((f) => f.index);
        const direct = await ablateFeatures(model, sae, enc.tokens, model.toSingleToken(" is"), features, {
          errorTerm,
          together: true,
          topK: 5,
        });
        assertEquals(a.features.map((f: { index: number }) => f.index), features);
        assertEquals(
          a.features.map((f: { probability: number }) => f.probability),
          direct.features.map((f) => f.probability),
        );
        assertEquals([a.baseline, a.spliced, a.error_term, a.last_token], [
          direct.baseline,
          direct.spliced,
          errorTerm,
          enc.strTokens[last],
        ]);
        assertEquals(a.next_tokens.map((r: { kind: string }) => r.kind), ["model", "spliced", "error term"]);
        assertEquals(a.next_tokens.every((r: { top: unknown[] }) => r.top.length === 5), true);
        // the listed features at once, and the next tokens they leave
        const together = direct.together!;
        assertEquals(a.together, {
          features,
          probability: together.probability,
          change: together.change,
          change_from_spliced: together.changeFromSpliced,
          next_tokens: together.top.map((t) => ({ token: model.toString([t.id]), prob: t.prob })),
        });
      }
      const chosen = await post(server.base, "/api/ablate", { text: TEXT, target: " is", features: [3, 9] });
      assertEquals(chosen.features.map((f: { index: number }) => f.index), [3, 9]);
      assertEquals([chosen.together.features, chosen.together.next_tokens.length], [[3, 9], 10]);
      const enc = await encodeText(model, sae, TEXT, { top: 1 });
      const both = await ablateFeatures(model, sae, enc.tokens, model.toSingleToken(" is"), [3, 9], { together: true });
      assertEquals(chosen.together.probability, both.together!.probability);
      // one feature: nothing to ablate together
      const one = await post(server.base, "/api/ablate", { text: TEXT, target: " is", features: [3] });
      assertEquals(one.together, null);
    });
  },
);

Deno.test("/api/attribute splits the target's direct logit into features, bias and error", ORT, async () => {
  await withExplorer({}, async (server, { sae, model }) => {
    const a = await post(server.base, "/api/attribute", { text: TEXT, target: " is", top: 1024 });
    const enc = await encodeText(model, sae, TEXT, { top: 1 });
    assertEquals(a.token, enc.strTokens.at(-1));
    const all = [...a.promoting, ...a.suppressing];
    // every active feature is listed (top: all of them), so they sum up with the bias and the error
    assertEquals(all.length, enc.l0.at(-1));
    const sum = all.reduce((s: number, f: { contribution: number }) => s + f.contribution, 0);
    assertEquals(
      Math.abs(sum + a.bias + a.error - a.total) < 1e-3,
      true,
      `${sum} + ${a.bias} + ${a.error} vs ${a.total}`,
    );
    const c = a.promoting.map((f: { contribution: number }) => f.contribution);
    assertEquals(c, [...c].sort((x: number, y: number) => y - x));
  });
});

Deno.test("/api/compare lists the features active in every prompt, as sharedFeatures() does", ORT, async () => {
  await withExplorer({}, async (server, { sae, model }) => {
    const texts = [TEXT, "We must protect the borders of the nation", "Congress shall make no law"];
    const c = await post(server.base, "/api/compare", { texts, threshold: 0.5, top: 1000 });
    const encoded = [];
    for (const t of texts) encoded.push(await encodeText(model, sae, t, { top: 1 }));
    assertEquals(c.shared, sharedFeatures(encoded, 0.5));
    assertEquals(c.prompts.map((p: { tokens: number }) => p.tokens), encoded.map((e) => e.tokens.length));
  });
});
