import { assertEquals } from "../_assert.ts";
import { parseSaeLensConfig } from "../../core/sae/config.ts";
import { HookedTransformer } from "../../core/lm/hooked_transformer.ts";
import { NO_PROCESSING, processingFromKwargs, processWeights } from "../../core/lm/process_weights.ts";
import { ModelTokenizer } from "../../core/lm/model_tokenizer.ts";
import { WeightTensor } from "../../core/lm/weight_tensor.ts";
import { readModelCheckpoint } from "../../core/lm/model_checkpoint.ts";
import { FIXTURES } from "../_fixtures.ts";
import { MODEL_DIR, PROMPT_TOKENS } from "./_models.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

function maxRowMean(data: Float32Array, d: number): number {
  let worst = 0;
  for (let r = 0; r < data.length / d; r++) {
    let sum = 0;
    for (let i = 0; i < d; i++) sum += data[r * d + i];
    worst = Math.max(worst, Math.abs(sum / d));
  }
  return worst;
}

Deno.test("processWeights() leaves LNPre, centred writes, centred unembedding and no value bias", async () => {
  const { config, weights } = await readModelCheckpoint(MODEL_DIR);
  const tied = weights.unembed.weight === weights.embed;
  const applied = processWeights(weights, config, {});
  const d = config.dModel;
  assertEquals(applied, { folded: true, centredWrites: true, centredUnembed: true });
  assertEquals([tied, weights.unembed.weight === weights.embed], [true, false]);
  assertEquals([weights.lnFinal, weights.blocks[0].ln1, weights.blocks[0].ln2], [null, null, null]);
  assertEquals(maxRowMean(weights.embed.data, d) < 1e-6, true);
  // W_out [d_mlp, d_model] is stored [d_model, d_mlp]: each input's column sums to zero over d_model
  const down = new WeightTensor([d, config.dMlp], "float32", weights.blocks[1].down.weight.data).transpose();
  assertEquals(maxRowMean(down.data, d) < 1e-6, true);
  assertEquals(weights.blocks[2].v.bias!.every((v) => v === 0), true);
  const model = await HookedTransformer.fromWeights(config, weights, await ModelTokenizer.load(MODEL_DIR), {
    processing: false,
  });
  // W_U as TransformerLens shows it: ln_final folded in, each d_model row centred over the vocabulary
  const raw = await HookedTransformer.load(MODEL_DIR, {
    processing: { centerWritingWeights: false, foldValueBiases: false },
  });
  assertEquals(maxRowMean(raw.W_U.data, config.dVocab) < 1e-6, true);
  await Promise.all([model.dispose(), raw.dispose()]);
});

Deno.test({
  name: "processingFromKwargs() applies what an SAE's model_from_pretrained_kwargs asks for",
  ...opts,
  async fn() {
    const cfg = parseSaeLensConfig(JSON.parse(await Deno.readTextFile(`${FIXTURES}sae-standard/cfg.json`)), "cfg");
    const asked = processingFromKwargs(cfg.metadata.model_from_pretrained_kwargs ?? undefined);
    assertEquals(asked, { foldLn: true, centerWritingWeights: true, centerUnembed: true, foldValueBiases: true });
    const hook = "blocks.2.hook_resid_pre";
    for (
      const [processing, centred] of [[asked, true], [processingFromKwargs({ center_writing_weights: false }), false], [
        NO_PROCESSING,
        false,
      ]] as const
    ) {
      const model = await HookedTransformer.load(MODEL_DIR, { processing });
      const x = (await model.runWithCache(PROMPT_TOKENS, { names: [hook], stopAtLayer: 3 })).cache.get(hook)!;
      assertEquals(maxRowMean(x.data, model.cfg.dModel) < 1e-5, centred);
      await model.dispose();
    }
  },
});
