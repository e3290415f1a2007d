/**
 * SAELens tutorial 1, "loading and analysing": text → GPT-2 activations at the SAE's hook → features per
 * token → reconstruction quality. Runs on the embedded model and SAE, no network:
 *
 *   deno run --allow-read --allow-env --allow-ffi examples/tutorial_1_encode_text.ts [--device auto|webgpu|cpu]
 *
 * Give `gpt2-small-res-jb/blocks.8.hook_resid_pre` as the first argument (with --allow-net --allow-write)
 * for the tutorial's real SAE.
 *
 * @module
 */

import { EMBEDDED_PROMPT, encodeText, loadSaeAndModel } from "../mod.ts";
import { exampleArgs } from "./_device.ts";

const { device, positionals } = exampleArgs();
const { sae, model } = await loadSaeAndModel(positionals[0], { device });
console.log(`${sae.cfg.architecture} SAE, ${sae.cfg.d_in} → ${sae.cfg.d_sae} at ${sae.cfg.metadata.hook_name}`);

const enc = await encodeText(model, sae, EMBEDDED_PROMPT, { top: 3 });
enc.strTokens.forEach((token, t) => {
  const top = enc.top[t].map((f) => `${f.index}:${f.activation.toFixed(2)}`).join(" ");
  console.log(`${JSON.stringify(token).padEnd(16)} L0 ${String(enc.l0[t]).padStart(3)}  ${top}`);
});

const { meanL0, mse, explainedVariance } = enc.summary; // BOS left out, as SAELens's evals do
console.log(`mean L0 ${meanL0.toFixed(1)}, MSE ${mse.toFixed(3)}, explained variance ${explainedVariance.toFixed(3)}`);

sae.destroy();
await model.dispose();
