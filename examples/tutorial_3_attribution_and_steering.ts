/**
 * SAELens tutorial 3: which features push the next token's logit (direct attribution through ln_final),
 * then steering generation with the strongest one. Embedded model and SAE, no network:
 *
 *   deno run --allow-read --allow-env --allow-ffi examples/tutorial_3_attribution_and_steering.ts [--device auto|webgpu|cpu]
 *
 * @module
 */

import { encodeText, loadSaeAndModel, logitAttribution, steer } from "../mod.ts";
import { exampleArgs } from "./_device.ts";

const { sae, model } = await loadSaeAndModel(undefined, { device: exampleArgs().device });
const text = "The President of the United";
const target = model.toSingleToken(" States");

const enc = await encodeText(model, sae, text);
const attribution = await logitAttribution(model, sae, enc, target);
console.log(`logit of " States" after ${JSON.stringify(text)}: ${attribution.logit.toFixed(3)}`);
for (const f of attribution.features.slice(0, 5)) {
  console.log(
    `  feature ${String(f.index).padStart(4)}  activation ${f.activation.toFixed(3)}  → ${f.contribution.toFixed(4)}`,
  );
}

const feature = attribution.features[0].index;
const { baseline, steered } = await steer(model, sae, "In this year", {
  feature,
  strength: 10,
  maxNewTokens: 12,
  samples: 2,
  seed: 1,
});
baseline.forEach((b, i) => console.log(`\nwithout: ${JSON.stringify(b)}\nsteered: ${JSON.stringify(steered[i])}`));

sae.destroy();
await model.dispose();
