/**
 * SAELens tutorial 5: the features several prompts share (peak above a threshold in every one), ranked
 * by mean peak. Embedded model and SAE, no network:
 *
 *   deno run --allow-read --allow-env --allow-ffi examples/tutorial_5_compare_prompts.ts [--device auto|webgpu|cpu]
 *
 * @module
 */

import { encodeText, loadSaeAndModel, sharedFeatures, type TextFeatures } from "../mod.ts";
import { exampleArgs } from "./_device.ts";

const { sae, model } = await loadSaeAndModel(undefined, { device: exampleArgs().device });
const prompts = ["Our economy is growing", "The economy is strong again", "We will grow the economy"];

const encoded: TextFeatures[] = [];
for (const p of prompts) encoded.push(await encodeText(model, sae, p));

const shared = sharedFeatures(encoded, 0.5);
console.log(`${shared.length} features peak above 0.5 in all ${prompts.length} prompts; the strongest:`);
for (const f of shared.slice(0, 8)) {
  console.log(
    `  feature ${String(f.index).padStart(4)}  mean ${f.mean.toFixed(3)}  peaks ${
      f.peaks.map((v) => v.toFixed(2)).join(" ")
    }`,
  );
}

sae.destroy();
await model.dispose();
