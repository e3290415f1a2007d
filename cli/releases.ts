/**
 * `sae releases`: the registry of pretrained SAE releases.
 *
 * @module
 */

import { RELEASES } from "../core/sae/releases.ts";
import { parseFlags, UsageError } from "./_usage.ts";

/** Help text of `sae releases`. */
export const RELEASES_HELP = `Usage: sae releases [--json] [RELEASE]

List the pretrained SAE releases sae knows (SAELens's registry for the GPT-2 family): name, model, Hub
repo and SAE count; with RELEASE, its SAEs with their folder, Neuronpedia id, L0 and variance explained.
Load one anywhere an SAE is asked for as RELEASE/SAE_ID, or download it with "sae pull".

Options:
  --json       print the registry (or the release) as JSON
  -h, --help   show this help`;

/**
 * Runs `sae releases`.
 *
 * @example
 * ```ts ignore
 * await releases(["gpt2-small-res-jb"]);
 * ```
 *
 * @param args Arguments after the verb.
 * @returns The exit code.
 */
export function releases(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { json: { type: "boolean" } });
  if (values.help) {
    console.log(RELEASES_HELP);
    return Promise.resolve(0);
  }
  if (positionals.length > 1) throw new UsageError(`sae releases takes at most one RELEASE: got ${positionals.length}`);
  const name = positionals[0];
  if (name !== undefined && !RELEASES[name]) {
    throw new UsageError(`Unknown release "${name}": "sae releases" lists them`);
  }
  if (values.json) {
    console.log(JSON.stringify(name === undefined ? RELEASES : { [name]: RELEASES[name] }, null, 2));
    return Promise.resolve(0);
  }
  if (name === undefined) {
    const width = Math.max(...Object.keys(RELEASES).map((n) => n.length));
    for (const [release, r] of Object.entries(RELEASES)) {
      console.log(`${release.padEnd(width)}  ${r.model}  ${String(r.saes.length).padStart(3)} SAEs  ${r.repo_id}`);
    }
    return Promise.resolve(0);
  }
  const r = RELEASES[name];
  console.log(`${name}: ${r.model}, ${r.repo_id}`);
  for (const s of r.saes) {
    const stats = [s.l0 !== null ? `L0 ${s.l0}` : "", s.variance_explained !== null ? `EV ${s.variance_explained}` : ""]
      .filter(Boolean).join(", ");
    console.log(`  ${s.id.padEnd(32)} ${(s.neuronpedia ?? "").padEnd(32)} ${stats}`);
  }
  return Promise.resolve(0);
}
