import { encodeText } from "../../core/analysis/encode_text.ts";
import { SAE } from "../../core/sae/sae.ts";
import { assertEquals } from "../_assert.ts";
import { FIXTURES } from "../_fixtures.ts";
import { maxAbsDiff } from "../_reference.ts";
import { loadFixtureModel, REFERENCE } from "../lm/_models.ts";

const ORT = { sanitizeOps: false, sanitizeResources: false };

const SAES = [["sae-standard", "standard"], ["sae-topk", "topk"], ["sae-standard-legacy", "standard"]];
for (const [[folder, key], device] of SAES.flatMap((s) => (["webgpu", "cpu"] as const).map((d) => [s, d] as const))) {
  Deno.test(
    `encodeText: ${folder} top-5 features per token equal reference-dev's (device ${device})`,
    ORT,
    async () => {
      const model = await loadFixtureModel();
      const sae = await SAE.load(`${FIXTURES}${folder}`, { device });
      assertEquals(sae.device, device);
      try {
        const enc = await encodeText(model, sae, REFERENCE.prompt.text, { top: 5 });
        assertEquals(enc.tokens, REFERENCE.prompt.tokens);
        assertEquals(enc.strTokens[0], "<|endoftext|>");
        const expected: [number, number][][] = REFERENCE.prompt[`${key}_top5_per_token`];
        assertEquals(enc.top.map((row) => row.map((f) => f.index)), expected.map((row) => row.map(([i]) => i)));
        const diff = maxAbsDiff(enc.top.flat().map((f) => f.activation), expected.flat().map(([, a]) => a));
        assertEquals(diff <= 1e-4, true, `activations differ by ${diff}`);
        // per-token L0 counts the positive features; the summary leaves BOS out
        const d = sae.cfg.d_sae;
        const l0 = enc.l0.map((_, t) => enc.features.data.subarray(t * d, (t + 1) * d).filter((v) => v > 0).length);
        assertEquals(enc.l0, l0);
        assertEquals(enc.bosPositions, 1);
        assertEquals(
          Math.abs(enc.summary.meanL0 - l0.slice(1).reduce((a, b) => a + b, 0) / (l0.length - 1)) < 1e-9,
          true,
        );
        if (key === "topk") assertEquals(enc.l0.every((n) => n === 16), true);
      } finally {
        sae.destroy();
        await model.dispose();
      }
    },
  );
}

Deno.test("encodeText: an SAE whose hook or width does not fit the model is refused before running", ORT, async () => {
  const model = await loadFixtureModel();
  const sae = await SAE.load(`${FIXTURES}sae-standard`, { cfgOverrides: { hook_name: "blocks.7.hook_resid_pre" } });
  try {
    let message = "";
    await encodeText(model, sae, "x").catch((e) => message = e.message);
    assertEquals(message.includes("blocks.7.hook_resid_pre, which this 4-layer model does not have"), true, message);
  } finally {
    sae.destroy();
  }
  const mlp = await SAE.load(`${FIXTURES}sae-standard`, { cfgOverrides: { hook_name: "blocks.1.mlp.hook_post" } });
  try {
    let message = "";
    await encodeText(model, mlp, "x").catch((e) => message = e.message);
    assertEquals(message.includes("d_in is 128 but the model's blocks.1.mlp.hook_post has width 512"), true, message);
  } finally {
    mlp.destroy();
    await model.dispose();
  }
});
