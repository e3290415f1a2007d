/**
 * `sae pull RELEASE SAE_ID`: download a pretrained SAE into the Hugging Face cache.
 *
 * @module
 */

import { readSae } from "../core/sae/read_sae.ts";
import { pullPretrained } from "../core/sae/pretrained.ts";
import { parseFlags, UsageError } from "./_usage.ts";

/** Help text of `sae pull`. */
export const PULL_HELP = `Usage: sae pull [--json] RELEASE SAE_ID

Download one SAE of a release ("sae releases" lists them) into the Hugging Face cache (HF_HOME,
HF_HUB_CACHE; HF_ENDPOINT and HF_TOKEN are honoured), as SAELens's from_pretrained does; files already
in the cache are not downloaded again. Prints the folder and checks that the SAE loads.

Options:
  --json       print JSON: release, sae_id, folder, d_in, d_sae, architecture, hook_name, neuronpedia_id
  -h, --help   show this help`;

/**
 * Runs `sae pull`.
 *
 * @example
 * ```ts ignore
 * await pull(["gpt2-small-res-jb", "blocks.8.hook_resid_pre"]);
 * ```
 *
 * @param args Arguments after the verb.
 * @returns The exit code.
 */
export async function pull(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { json: { type: "boolean" } });
  if (values.help) {
    console.log(PULL_HELP);
    return 0;
  }
  if (positionals.length !== 2) throw new UsageError(`sae pull takes RELEASE and SAE_ID: got ${positionals.length}`);
  const [release, saeId] = positionals;
  const { folder, overrides } = await pullPretrained(release, saeId);
  const { cfg } = await readSae(folder, overrides);
  const summary = {
    release,
    sae_id: saeId,
    folder,
    d_in: cfg.d_in,
    d_sae: cfg.d_sae,
    architecture: cfg.architecture,
    hook_name: cfg.metadata.hook_name,
    neuronpedia_id: cfg.metadata.neuronpedia_id ?? null,
  };
  if (values.json) console.log(JSON.stringify(summary));
  else {
    console.log(
      `${release}/${saeId}: ${cfg.architecture} ${cfg.d_in} × ${cfg.d_sae} at ${cfg.metadata.hook_name} in ${folder}`,
    );
  }
  return 0;
}
