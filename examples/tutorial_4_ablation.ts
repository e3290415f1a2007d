/**
 * SAELens tutorial 4: zero the features most active at the last token, one at a time, with the SAE
 * spliced in (error term added back), and watch P(next token) move. Embedded model and SAE, no network:
 *
 *   deno run --allow-read --allow-env --allow-ffi examples/tutorial_4_ablation.ts [--device auto|webgpu|cpu]
 *
 * @module
 */

import { ablateFeatures, encodeText, loadSaeAndModel } from "../mod.ts";
import { exampleArgs } from "./_device.ts";

const { sae, model } = await loadSaeAndModel(undefined, { device: exampleArgs().device });
const text = "The President of the United";
const target = model.toSingleToken(" States");

const enc = await encodeText(model, sae, text, { top: 5 });
const last = enc.top[enc.tokens.length - 1].map((f) => f.index);
const result = await ablateFeatures(model, sae, enc.tokens, target, last, { errorTerm: true });

console.log(`P(" States") after ${JSON.stringify(text)}: ${result.baseline.toFixed(4)}`);
for (const f of result.features) {
  console.log(
    `  without feature ${String(f.index).padStart(4)}: ${f.probability.toFixed(4)} (${f.change.toFixed(1)}%)`,
  );
}

sae.destroy();
await model.dispose();
