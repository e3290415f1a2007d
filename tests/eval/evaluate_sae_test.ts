import { saeInput, saeSite, writeSaeOutput } from "../../core/sae/sae_on_model.ts";
import { openTokenDataset } from "../../core/data/token_dataset.ts";
import { evaluateSae } from "../../core/eval/evaluate_sae.ts";
import { ReconstructionSums } from "../../core/eval/reconstruction.ts";
import { SAE } from "../../core/sae/sae.ts";
import { assertEquals } from "../_assert.ts";
import { FIXTURES } from "../_fixtures.ts";
import { assertL0Close, l0Bounds } from "./_l0_bounds.ts";
import { EVAL_ROWS, loadFixtureModel, REFERENCE } from "../lm/_models.ts";

const ORT = { sanitizeOps: false, sanitizeResources: false };
const close = (a: number, b: number, tol: number, what: string) =>
  assertEquals(Math.abs(a - b) <= tol, true, `${what}: ${a} vs ${b} (tolerance ${tol})`);

Deno.test("ReconstructionSums leaves out the rows it is told to and aggregates over all batches", () => {
  const sums = new ReconstructionSums(2, 3);
  // row 0 is left out; rows 1 and 2 arrive in separate batches
  sums.add(Float32Array.of(100, 100), Float32Array.of(0, 0), Float32Array.of(9, 9, 9), (r) => r !== 0);
  sums.add(Float32Array.of(1, 0), Float32Array.of(1, 0), Float32Array.of(0, 2, 0));
  sums.add(Float32Array.of(3, 0), Float32Array.of(0, 4), Float32Array.of(1, 1, 0));
  const m = sums.means();
  assertEquals(m.rows, 2);
  assertEquals(m.l0, 1.5);
  assertEquals(m.l1, 2);
  assertEquals(m.mse, (0 + 9 + 16) / 4);
  assertEquals(m.cossim, (1 + 0) / 2);
  assertEquals(m.l2Ratio, (1 + 4 / 3) / 2);
  // Var over rows 1 and 2: dimension 0 {1, 3} → 2 (sum of squares about the mean), dimension 1 → 0
  assertEquals(m.explainedVariance, 1 - 25 / 2);
  assertEquals(Array.from(m.density), [0.5, 1, 0]);
});

for (const name of ["standard", "topk"]) {
  Deno.test(`evaluateSae() reproduces reference-dev's CE, L0 and explained variance for sae-${name}`, ORT, async () => {
    const model = await loadFixtureModel();
    const sae = await SAE.load(`${FIXTURES}sae-${name}`);
    try {
      const data = await openTokenDataset(`${FIXTURES}reference-dev.safetensors`, { tokenizer: model });
      const m = await evaluateSae(model, sae, data.rows(), { batchSize: 16 });
      assertEquals(m.rows, REFERENCE.eval_rows);
      const ref = REFERENCE[name];
      close(m.ce_orig, REFERENCE.ce_orig, 1e-4, "ce_orig");
      close(m.ce_zero_ablation, REFERENCE.ce_zero_ablation, 1e-4, "ce_zero_ablation");
      close(m.ce_sae, ref.ce_sae, 1e-4, "ce_sae");
      close(m.ce_loss_score, ref.ce_loss_score, 1e-4, "ce_loss_score");
      if (name === "topk") close(m.l0, ref.l0_excl_bos, 1e-4, "l0");
      else assertL0Close(m.l0, ref.l0_excl_bos, await l0Bounds(model, `${FIXTURES}sae-${name}`, EVAL_ROWS));
      close(m.explained_variance, ref.explained_variance, 1e-4, "explained_variance");
    } finally {
      sae.destroy();
      await model.dispose();
    }
  });
}

function logSoftmax(row: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of row) max = Math.max(max, v);
  let sum = 0;
  for (const v of row) sum += Math.exp(v - max);
  return Float64Array.from(row, (v) => v - max - Math.log(sum));
}

Deno.test("evaluateSae() equals the metrics written out by hand on two rows of the real model", ORT, async () => {
  const model = await loadFixtureModel();
  const sae = await SAE.load(`${FIXTURES}sae-standard`);
  try {
    const rows = EVAL_ROWS.slice(0, 2);
    const m = await evaluateSae(
      model,
      sae,
      (async function* () {
        yield* rows;
      })(),
      { batchSize: 1 },
    );
    const site = saeSite(model, sae);
    const vocab = model.cfg.dVocab, T = rows[0].length;
    const { logits: orig } = await model.run(rows);
    // the hook's output made here from its own input
    const spliceWith = (make: (x: Float32Array) => Promise<Float32Array>) =>
      model.runWithHooks(rows, {
        fwdHooks: [[site.hookName, async (a) =>
          writeSaeOutput(site, a, await make(saeInput(site, a, sae.cfg.d_in).data))]],
      });
    const { logits: spliced } = await spliceWith(async (x) => {
      const out = sae.encodeDecode({ shape: [x.length / sae.cfg.d_in, sae.cfg.d_in], data: x });
      out.features.destroy();
      return await out.recon.read().finally(() => out.recon.destroy());
    });
    const { logits: zeroed } = await spliceWith((x) => Promise.resolve(new Float32Array(x.length)));
    let ceO = 0, ceS = 0, ceZ = 0, klS = 0, klZ = 0;
    for (let b = 0; b < rows.length; b++) {
      for (let p = 0; p < T; p++) {
        const at = (b * T + p) * vocab;
        const [lo, ls, lz] = [orig!, spliced!, zeroed!].map((l) => logSoftmax(l.data.subarray(at, at + vocab)));
        if (p < T - 1) {
          const next = rows[b][p + 1];
          ceO -= lo[next];
          ceS -= ls[next];
          ceZ -= lz[next];
        }
        for (let v = 0; v < vocab; v++) {
          klS += Math.exp(lo[v]) * (lo[v] - ls[v]);
          klZ += Math.exp(lo[v]) * (lo[v] - lz[v]);
        }
      }
    }
    const n = rows.length * (T - 1), positions = rows.length * T;
    close(m.ce_orig, ceO / n, 1e-5, "ce_orig");
    close(m.ce_sae, ceS / n, 1e-5, "ce_sae");
    close(m.ce_zero_ablation, ceZ / n, 1e-5, "ce_zero_ablation");
    close(m.kl_div_sae, klS / positions, 1e-5, "kl_div_sae");
    close(m.kl_div_zero_ablation, klZ / positions, 1e-4, "kl_div_zero_ablation");
    close(m.kl_div_score, (klZ - klS) / klZ, 1e-5, "kl_div_score");
    close(m.ce_loss_score, (ceZ - ceS) / (ceZ - ceO), 1e-5, "ce_loss_score");
    assertEquals(m.tokens, positions);
    assertEquals(m.dead_features + m.feature_density.filter((d) => d > 0).length, sae.cfg.d_sae);
    assertEquals(m.log_density_histogram.counts.reduce((a, b) => a + b, 0), sae.cfg.d_sae);
  } finally {
    sae.destroy();
    await model.dispose();
  }
});
