/**
 * The "Sparse Autoencoders hands-on" notebook: encode a text (sections 2–3), probe one feature across
 * texts (4) and steer with it (6). Embedded model and SAE, no network:
 *
 *   deno run --allow-read --allow-env --allow-ffi examples/notebook_hands_on.ts [--device auto|webgpu|cpu]
 *
 * @module
 */

import { encodeText, featurePeak, loadSaeAndModel, steer } from "../mod.ts";
import { exampleArgs } from "./_device.ts";

const { sae, model } = await loadSaeAndModel(undefined, { device: exampleArgs().device });

// 2-3: features of a text
const enc = await encodeText(model, sae, "The Congress shall make no law", { top: 1 });
enc.strTokens.forEach((t, i) => console.log(`${JSON.stringify(t).padEnd(12)} strongest ${enc.top[i][0]?.index}`));

// 4: one feature across texts
const feature = enc.top[2][0].index;
const texts = ["The Congress shall act", "I ask the Congress to act", "We went to the river"];
for (const text of texts) {
  const peak = featurePeak(await encodeText(model, sae, text), feature);
  const where = peak.token === null ? "never fires" : `${peak.max.toFixed(3)} at ${JSON.stringify(peak.token)}`;
  console.log(`feature ${feature}: ${where} in ${JSON.stringify(text)}`);
}

// 6: steering with it
const { baseline, steered } = await steer(model, sae, "Today", { feature, strength: 8, maxNewTokens: 10, seed: 3 });
console.log(`without: ${JSON.stringify(baseline[0])}\nsteered: ${JSON.stringify(steered[0])}`);

sae.destroy();
await model.dispose();
