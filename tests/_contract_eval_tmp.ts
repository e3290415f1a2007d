import { evaluateSae } from "../core/eval/evaluate_sae.ts";
import { SAE } from "../core/sae/sae.ts";
import { openTokenDataset } from "../core/data/token_dataset.ts";
import { loadFixtureModel, referenceConventionModel } from "./lm/_models.ts";
import { FIXTURES } from "./_fixtures.ts";
const paths = Deno.args;
for (const [label, model] of [["reference convention (no c_attn biases)", await referenceConventionModel()], ["CLI model (with biases)", await loadFixtureModel()]] as const) {
  for (const p of paths) {
    const sae = await SAE.load(p);
    const ds = await openTokenDataset(`${FIXTURES}reference-dev.safetensors`, { tokenizer: model, bos: 50256 });
    const m = await evaluateSae(model, sae, ds.rows(), { batchSize: 8, maxBatches: Infinity });
    console.log(label, p, "l0", m.l0.toFixed(3), "ce_loss_score", m.ce_loss_score.toFixed(5), "EV", m.explained_variance.toFixed(4), "ce_sae", m.ce_sae.toFixed(4));
    sae.destroy();
  }
  await model.dispose();
}
