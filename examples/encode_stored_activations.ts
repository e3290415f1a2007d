/**
 * Encode stored activations with an SAE and print each token's strongest features and the
 * reconstruction quality, using the library API. Runs on the embedded data, no network:
 *
 *   deno run --allow-read --allow-env examples/encode_stored_activations.ts [--device auto|webgpu|cpu]
 *
 * (`--device cpu` needs --allow-ffi; auto without it runs on WebGPU.)
 *
 * @module
 */

import { readSafetensors, reconstructionStats, SAE, toFloat32, topFeatures } from "../mod.ts";
import { exampleArgs } from "./_device.ts";

const data = new URL("./data/", import.meta.url).pathname;
const file = await readSafetensors(`${data}prompt_resid_pre.safetensors`);
const entry = file.tensors.get("blocks.2.hook_resid_pre")!;
const acts = { shape: entry.shape, data: toFloat32(entry, "blocks.2.hook_resid_pre") };

const sae = await SAE.load(`${data}sae-standard-f16`, { device: exampleArgs().device });
console.log(`"${file.metadata.prompt}" through a ${sae.cfg.d_sae}-feature ${sae.cfg.architecture} SAE`);

const { features, recon } = sae.encodeDecode(acts);
const top = await topFeatures(features, 3);
top.forEach((row, t) => console.log(t, row.map((f) => `${f.index}:${f.activation.toFixed(2)}`).join(" ")));

const stats = reconstructionStats(acts.data, await recon.read(), await features.read(), sae.cfg.d_in, sae.cfg.d_sae);
console.log(`mean L0 ${stats.meanL0.toFixed(1)}, explained variance ${stats.explainedVariance.toFixed(3)}`);
