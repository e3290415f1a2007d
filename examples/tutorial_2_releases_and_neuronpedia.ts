/**
 * SAELens's pretrained releases and Neuronpedia: which SAEs exist for GPT-2 small, where they live on the
 * Hub, how they are loaded, and the Neuronpedia pages of their features. The listing needs no network:
 *
 *   deno run --allow-read --allow-env examples/tutorial_2_releases_and_neuronpedia.ts
 *
 * With `--download` (and --allow-net --allow-write; `--device auto|webgpu|cpu` picks where it loads) it also fetches gpt2-small-res-jb's layer-8 SAE into the
 * Hugging Face cache, as `SAE.from_pretrained` does.
 *
 * @module
 */

import { lookupRelease, neuronpediaFeatureUrl, neuronpediaQuickListUrl, RELEASES, SAE } from "../mod.ts";
import { exampleArgs } from "./_device.ts";

for (const [name, release] of Object.entries(RELEASES)) {
  console.log(`${name.padEnd(38)} ${String(release.saes.length).padStart(3)} SAEs  ${release.repo_id}`);
}

const { release, sae } = lookupRelease("gpt2-small-res-jb", "blocks.8.hook_resid_pre");
console.log(`\n${release.repo_id}/${sae.path}: L0 ${sae.l0}, variance explained ${sae.variance_explained}`);
console.log(`feature 1234: ${neuronpediaFeatureUrl(sae.neuronpedia!, 1234)}`);
console.log(`a quick list: ${neuronpediaQuickListUrl(sae.neuronpedia!, [1234, 5678], "tutorial 2")}`);

const { device, flags } = exampleArgs();
if (flags.download) {
  const loaded = await SAE.fromPretrained("gpt2-small-res-jb", "blocks.8.hook_resid_pre", { device });
  console.log(`loaded: ${loaded.cfg.d_in} × ${loaded.cfg.d_sae}, Neuronpedia ${loaded.cfg.metadata.neuronpedia_id}`);
  loaded.destroy();
}
