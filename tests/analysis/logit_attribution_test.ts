import { encodeText } from "../../core/analysis/encode_text.ts";
import { logitAttribution } from "../../core/analysis/logit_attribution.ts";
import { NO_PROCESSING } from "../../core/lm/process_weights.ts";
import { SAE } from "../../core/sae/sae.ts";
import { assertEquals } from "../_assert.ts";
import { FIXTURES } from "../_fixtures.ts";
import { loadFixtureModel } from "../lm/_models.ts";

const ORT = { sanitizeOps: false, sanitizeResources: false };
const TEXT = "The people of the United States";

for (const processing of [{}, NO_PROCESSING]) {
  const label = processing === NO_PROCESSING ? "unprocessed weights" : "TransformerLens processing";
  Deno.test(`logitAttribution (${label}): contributions are the frozen-ln_final map, and add up`, ORT, async () => {
    const model = await loadFixtureModel("auto", { processing });
    const sae = await SAE.load(`${FIXTURES}sae-standard`);
    try {
      const target = model.toSingleToken(" Congress");
      const enc = await encodeText(model, sae, TEXT);
      const a = await logitAttribution(model, sae, enc, target);
      const last = enc.tokens.length - 1;
      const { dModel: d, dVocab: V } = model.cfg;
      // the same linear map, applied to the last block's output, gives the logit back
      const final = "blocks.3.hook_resid_post";
      const { cache, logits } = await model.runWithCache([enc.tokens], { names: [final, "ln_final.hook_scale"] });
      const r = cache.get(final)!.data.subarray(last * d, (last + 1) * d);
      const scale = cache.get("ln_final.hook_scale")!.data[last];
      const W_U = model.W_U.data, b_U = model.b_U.data, lnFinal = model.weights.lnFinal;
      const mean = r.reduce((s, v) => s + v, 0) / d;
      let logit = b_U[target];
      for (let j = 0; j < d; j++) {
        logit += ((r[j] - mean) / scale * (lnFinal ? lnFinal.w[j] : 1) + (lnFinal?.b ? lnFinal.b[j] : 0)) *
          W_U[j * V + target];
      }
      assertEquals(Math.abs(logit - logits!.data[last * V + target]) < 1e-3, true, `${logit} vs ${a.logit}`);
      assertEquals(Math.abs(a.logit - logits!.data[last * V + target]) < 1e-6, true);
      assertEquals(Math.abs(a.scale - scale) < 1e-7, true);
      // one feature by hand: f · (centred W_dec row) · (ln weight ⊙ W_U column) / scale
      const { index, activation, contribution } = a.features[0];
      const row = sae.W_dec.data.subarray(index * d, (index + 1) * d);
      const rowMean = row.reduce((s, v) => s + v, 0) / d;
      let dot = 0;
      for (let j = 0; j < d; j++) dot += (row[j] - rowMean) * W_U[j * V + target] * (lnFinal ? lnFinal.w[j] : 1);
      assertEquals(Math.abs(contribution - activation * dot / scale) < 1e-4, true);
      // features + b_dec + error = the SAE input's direct contribution
      const sum = a.features.reduce((s, f) => s + f.contribution, 0) + a.bias + a.error;
      assertEquals(Math.abs(sum - a.total) < 1e-4, true, `${sum} vs ${a.total}`);
      assertEquals(a.features.every((f, i) => i === 0 || a.features[i - 1].contribution >= f.contribution), true);
      assertEquals(a.features.length, enc.l0[last]);
    } finally {
      sae.destroy();
      await model.dispose();
    }
  });
}
