/**
 * `deno task registry:import YAML [--version V]`: regenerates `core/sae/releases.json` from SAELens's
 * `sae_lens/pretrained_saes.yaml`, so a new SAELens version is one rerun (then `deno task test`, whose registry
 * test compares the file with the yaml field by field).
 *
 * @example Import SAELens 6.18's registry
 * ```sh
 * node_modules/deno/deno task registry:import ../shared/docs/saelens_6.18_pretrained_saes.yaml --version 6.18.0
 * ```
 *
 * @module
 */

import { readYaml } from "../core/io/read_yaml.ts";
import { writeFileAtomic } from "../core/io/atomic_write.ts";
import { importReleases } from "../core/sae/import_releases.ts";
import { registryText } from "../core/sae/_release_codec.ts";
import { PRETRAINED_LOADERS } from "../core/sae/pretrained_loaders.ts";
import { parseFlags, UsageError } from "./_usage.ts";

/** Help text of `deno task registry:import`. */
export const REGISTRY_IMPORT_HELP = `Usage: deno task registry:import YAML [--version V] [--out FILE]

Regenerate the release registry from SAELens's sae_lens/pretrained_saes.yaml: every release whose loader
is implemented here, with its repo, model, loader, config overrides, links and per SAE its id, path, L0,
variance explained, Neuronpedia id and norm_scaling_factor. Prints what it kept and left out.

Options:
  --version V  the SAELens version the yaml comes from, recorded in the file (default: unknown)
  --out FILE   where to write (default: core/sae/releases.json of this checkout)
  -h, --help   show this help`;

/** The yaml may be large: SAELens 6.18's is 600 kB. */
const MAX_YAML_BYTES = 64 * 2 ** 20;

/**
 * Runs `deno task registry:import`.
 *
 * @param args Arguments after the task name.
 * @returns The exit code.
 */
export async function registryImport(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { version: { type: "string" }, out: { type: "string" } });
  if (values.help) {
    console.log(REGISTRY_IMPORT_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`registry:import takes one YAML file: got ${positionals.length}`);
  const source = `SAELens ${values.version ?? "(unknown version)"} sae_lens/pretrained_saes.yaml`;
  const { file, ignored } = importReleases(await readYaml(positionals[0], MAX_YAML_BYTES), source, PRETRAINED_LOADERS);
  const out = values.out ?? new URL("../core/sae/releases.json", import.meta.url).pathname;
  await writeFileAtomic(out, registryText(file));
  const releases = Object.values(file.releases);
  const saes = releases.reduce((n, r) => n + r.saes.id.length, 0);
  console.log(`wrote ${out}: ${releases.length} releases, ${saes} SAEs from ${source}`);
  for (const [name, why] of Object.entries(file.left_out)) console.log(`left out ${name}: ${why}`);
  for (const key of ignored) console.log(`ignored (SAELens never reads it) ${key}`);
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await registryImport(Deno.args));
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    Deno.exit(error instanceof UsageError ? 2 : 1);
  }
}
