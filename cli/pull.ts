/**
 * `sae pull RELEASE SAE_ID`: download a pretrained SAE into the Hugging Face cache.
 *
 * @module
 */

import { readSae } from "../core/sae/read_sae.ts";
import { planPretrained, pullPretrained } from "../core/sae/pretrained.ts";
import { DownloadProgress, formatBytes } from "./_progress.ts";
import { parseFlags, UsageError } from "./_usage.ts";

/** Help text of `sae pull`. */
export const PULL_HELP = `Usage: sae pull [--dry-run] [--json] RELEASE SAE_ID

Download one SAE of a release ("sae releases" lists them) into the Hugging Face cache (HF_HOME,
HF_HUB_CACHE; HF_ENDPOINT and HF_TOKEN are honoured), fetching the files SAELens's loader for the release
reads; files already in the cache are not downloaded again, and a download that broke off (a kill, a lost
connection) resumes where it stopped. Progress goes to stderr: a bar with size, rate and ETA on a terminal,
lines in a log. Prints the folder and checks that the SAE loads.

Options:
  --dry-run    only say what would be downloaded: each file, its size, whether it is cached or partly there
  --json       print JSON: release, sae_id, folder, d_in, d_sae, architecture, hook_name, neuronpedia_id
               (with --dry-run: repo, loader, files [{file, size, cached, partial}], bytes_to_download)
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
  const { values, positionals } = parseFlags(args, { json: { type: "boolean" }, "dry-run": { type: "boolean" } });
  if (values.help) {
    console.log(PULL_HELP);
    return 0;
  }
  if (positionals.length !== 2) throw new UsageError(`sae pull takes RELEASE and SAE_ID: got ${positionals.length}`);
  const [release, saeId] = positionals;
  if (values["dry-run"]) {
    const plan = await planPretrained(release, saeId);
    if (values.json) {
      const { bytesToDownload, ...rest } = plan;
      console.log(JSON.stringify({ release, sae_id: saeId, ...rest, bytes_to_download: bytesToDownload }));
      return 0;
    }
    console.log(`${release}/${saeId} from ${plan.repo} (loader ${plan.loader}):`);
    for (const f of plan.files) {
      const state = f.cached ? "cached" : f.partial > 0 ? `${formatBytes(f.partial)} there, resumes` : "to download";
      console.log(`  ${f.file}  ${formatBytes(f.size)}  ${state}`);
    }
    console.log(`would download ${formatBytes(plan.bytesToDownload)}`);
    return 0;
  }
  const progress = new DownloadProgress("pull");
  const { folder, overrides } = await pullPretrained(release, saeId, {
    onProgress: (file, received, total) => progress.update(file, received, total),
  });
  progress.done();
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
