import { ablateFeatures } from "../../core/analysis/ablation.ts";
import { SAE } from "../../core/sae/sae.ts";
import { assertEquals } from "../_assert.ts";
import { FIXTURES } from "../_fixtures.ts";
import { loadFixtureModel, REFERENCE } from "../lm/_models.ts";

const ORT = { sanitizeOps: false, sanitizeResources: false };
const HOOK = "blocks.2.hook_resid_pre";

function probability(logits: Float32Array, position: number, vocab: number, target: number): number {
  const row = Array.from(logits.subarray(position * vocab, (position + 1) * vocab));
  const max = Math.max(...row);
  return Math.exp(row[target] - max) / row.reduce((s, v) => s + Math.exp(v - max), 0);
}

for (const folder of ["sae-standard", "sae-topk"]) {
  Deno.test(
    `ablateFeatures (${folder}): with the error term, ablating f equals removing f × W_dec[f] from the residual`,
    ORT,
    async () => {
      const model = await loadFixtureModel();
      const sae = await SAE.load(`${FIXTURES}${folder}`);
      try {
        const tokens: number[] = REFERENCE.prompt.tokens;
        const target = model.toSingleToken(" Mary");
        const { cache } = await model.runWithCache([tokens], { names: [HOOK], stopAtLayer: 3, returnType: "none" });
        const x = cache.get(HOOK)!;
        const d = sae.cfg.d_in, n = sae.cfg.d_sae;
        const f = await sae.encode({ shape: [tokens.length, d], data: x.data }).read();
        const last = tokens.length - 1;
        const active = [...f.subarray(last * n, (last + 1) * n)].map((v, i) => [v, i]).filter(([v]) => v > 0);
        const features = active.sort((a, b) => b[0] - a[0]).slice(0, 3).map(([, i]) => i);
        const result = await ablateFeatures(model, sae, tokens, target, features);
        const vocab = model.cfg.dVocab;
        const clean = probability((await model.run([tokens])).logits!.data, last, vocab, target);
        assertEquals(Math.abs(result.baseline - clean) / clean < 1e-6, true);
        assertEquals(Math.abs(result.spliced - clean) / clean < 1e-3, true, `${result.spliced} vs ${clean}`);
        for (const r of result.features) {
          const W = sae.W_dec.data;
          const { logits } = await model.runWithHooks([tokens], {
            fwdHooks: [[HOOK, (act) => {
              for (let p = 0; p < tokens.length; p++) {
                for (let j = 0; j < d; j++) act.data[p * d + j] -= f[p * n + r.index] * W[r.index * d + j];
              }
            }]],
          });
          const expected = probability(logits!.data, last, vocab, target);
          const rel = Math.abs(r.probability - expected) / expected;
          assertEquals(rel < 2e-3, true, `feature ${r.index}: ${r.probability} vs ${expected}`);
          assertEquals(Math.abs(r.change - 100 * (r.probability - clean) / clean) < 1e-6 * 100, true);
        }
        // without the error term the reconstruction error shows: P moves away from the clean one
        const plain = await ablateFeatures(model, sae, tokens, target, [], { errorTerm: false });
        assertEquals(Math.abs(plain.spliced - clean) / clean > 1e-3, true, `${plain.spliced} vs ${clean}`);
      } finally {
        sae.destroy();
        await model.dispose();
      }
    },
  );
}

Deno.test(
  "ablateFeatures with together: the set ablated at once equals removing every f × W_dec[f] from the residual",
  ORT,
  async () => {
    const model = await loadFixtureModel();
    const sae = await SAE.load(`${FIXTURES}sae-standard`);
    try {
      const tokens: number[] = REFERENCE.prompt.tokens;
      const target = model.toSingleToken(" Mary");
      const { cache } = await model.runWithCache([tokens], { names: [HOOK], stopAtLayer: 3, returnType: "none" });
      const d = sae.cfg.d_in, n = sae.cfg.d_sae;
      const f = await sae.encode({ shape: [tokens.length, d], data: cache.get(HOOK)!.data }).read();
      const last = tokens.length - 1;
      const active = [...f.subarray(last * n, (last + 1) * n)].map((v, i) => [v, i]).filter(([v]) => v > 0);
      const features = active.sort((a, b) => b[0] - a[0]).slice(0, 4).map(([, i]) => i);
      const result = await ablateFeatures(model, sae, tokens, target, features, { together: true, topK: 5 });
      const W = sae.W_dec.data;
      const { logits } = await model.runWithHooks([tokens], {
        fwdHooks: [[HOOK, (act) => {
          for (const i of features) {
            for (let p = 0; p < tokens.length; p++) {
              for (let j = 0; j < d; j++) act.data[p * d + j] -= f[p * n + i] * W[i * d + j];
            }
          }
        }]],
      });
      const vocab = model.cfg.dVocab;
      const expected = probability(logits!.data, last, vocab, target);
      const together = result.together!;
      assertEquals(together.features, features);
      assertEquals(Math.abs(together.probability - expected) / expected < 2e-3, true, `${together.probability}`);
      assertEquals(together.change, 100 * (together.probability - result.baseline) / result.baseline);
      assertEquals(together.changeFromSpliced, 100 * (together.probability - result.spliced) / result.spliced);
      // the next tokens: the hand-ablated model's five most likely, most likely first
      const row = Array.from(logits!.data.subarray(last * vocab, (last + 1) * vocab));
      const byHand = row.map((v, i) => [v, i]).sort((a, b) => b[0] - a[0]).slice(0, 5).map(([, i]) => i);
      assertEquals(together.top.map((t) => t.id), byHand);
      const probs = together.top.map((t) => t.prob);
      assertEquals(probs, [...probs].sort((a, b) => b - a));
      assertEquals(Math.abs(probs[0] - probability(logits!.data, last, vocab, byHand[0])) < 1e-4, true);
      // one feature "together" is that feature alone; without together, no set
      const one = await ablateFeatures(model, sae, tokens, target, features.slice(0, 1), { together: true });
      assertEquals([one.together!.probability, one.together!.top.length], [one.features[0].probability, 10]);
      assertEquals((await ablateFeatures(model, sae, tokens, target, features)).together, undefined);
      let message = "";
      await ablateFeatures(model, sae, tokens, target, features, { together: true, topK: 0 }).catch((e) =>
        message = e.message
      );
      assertEquals(message, "Cannot list the next tokens as topK must be a positive integer: current value is 0");
    } finally {
      sae.destroy();
      await model.dispose();
    }
  },
);

Deno.test("ablateFeatures refuses a feature index outside d_sae and a target outside the vocabulary", ORT, async () => {
  const model = await loadFixtureModel();
  const sae = await SAE.load(`${FIXTURES}sae-standard`);
  try {
    let message = "";
    await ablateFeatures(model, sae, [50256, 464], 5, [1024]).catch((e) => message = e.message);
    assertEquals(message, "Feature index 1024 is outside the SAE's 1024 features (0..1023)");
    await ablateFeatures(model, sae, [50256, 464], 50257, [1]).catch((e) => message = e.message);
    assertEquals(message, "Target token 50257 is outside the vocabulary (0..50256)");
  } finally {
    sae.destroy();
    await model.dispose();
  }
});

Deno.test(
  "ablateFeatures without the error term: the change against the spliced model's P, as computed by hand",
  ORT,
  async () => {
    const model = await loadFixtureModel();
    const sae = await SAE.load(`${FIXTURES}sae-standard`);
    try {
      const tokens: number[] = REFERENCE.prompt.tokens;
      const target = model.toSingleToken(" Mary");
      const d = sae.cfg.d_in, n = sae.cfg.d_sae, last = tokens.length - 1, vocab = model.cfg.dVocab;
      const { cache } = await model.runWithCache([tokens], { names: [HOOK], stopAtLayer: 3, returnType: "none" });
      const x = { shape: [tokens.length, d], data: cache.get(HOOK)!.data };
      const f = await sae.encode(x).read();
      const recon = await sae.decode({ shape: [tokens.length, n], data: f }).read();
      const feature = [...f.subarray(last * n, (last + 1) * n)].reduce((b, v, i, a) => v > a[b] ? i : b, 0);
      // the standard SAE decodes linearly: zeroing f removes f × W_dec[f] from x̂
      const pWith = async (edit: (act: Float32Array) => void) =>
        probability(
          (await model.runWithHooks([tokens], { fwdHooks: [[HOOK, (act) => edit(act.data)]] })).logits!.data,
          last,
          vocab,
          target,
        );
      const spliced = await pWith((act) => act.set(recon));
      const ablated = await pWith((act) => {
        act.set(recon);
        for (let p = 0; p < tokens.length; p++) {
          for (let j = 0; j < d; j++) act[p * d + j] -= f[p * n + feature] * sae.W_dec.data[feature * d + j];
        }
      });
      const clean = probability((await model.run([tokens])).logits!.data, last, vocab, target);
      const result = await ablateFeatures(model, sae, tokens, target, [feature], { errorTerm: false });
      const [r] = result.features;
      assertEquals(Math.abs(result.spliced - spliced) / spliced < 1e-4, true, `${result.spliced} vs ${spliced}`);
      assertEquals(Math.abs(r.probability - ablated) / ablated < 2e-3, true, `${r.probability} vs ${ablated}`);
      const expected = 100 * (ablated - spliced) / spliced;
      assertEquals(Math.abs(r.changeFromSpliced - expected) < 0.05, true, `${r.changeFromSpliced} vs ${expected}`);
      assertEquals(Math.abs(r.change - 100 * (r.probability - clean) / clean) < 1e-9, true);
    } finally {
      sae.destroy();
      await model.dispose();
    }
  },
);
