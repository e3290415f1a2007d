/**
 * `sae releases`: the registry of pretrained SAE releases, grouped by model, filtered by model, hook and text.
 *
 * @module
 */

import { type Release, RELEASES, RELEASES_SOURCE, type ReleaseSae } from "../core/sae/releases.ts";
import { releaseSaeHook } from "../core/sae/release_hooks.ts";
import { matchesWords } from "../core/sae/registry_search.ts";
import { findModelRepo } from "../core/lm/model_source.ts";
import { parseFlags, UsageError } from "./_usage.ts";

/** Help text of `sae releases`. */
export const RELEASES_HELP = `Usage: sae releases [--model M] [--hook H] [--json] [RELEASE | WORDS...]

List the pretrained SAE releases sae knows (${RELEASES_SOURCE}), grouped by model: each release
with its SAE count, loader and Hub repo. With RELEASE, its SAEs: id, hook, L0, variance explained and
Neuronpedia id. Other WORDS keep the SAEs whose release, repo, model, id, hook or Neuronpedia id contain them
all (case-insensitive). Load one anywhere an SAE is asked for as RELEASE/SAE_ID, or download it with "sae pull".

Options:
  --model M    only releases for model M: SAELens's name (gemma-2-2b) or its Hub repo (google/gemma-2-2b)
  --hook H     only SAEs whose hook contains H (blocks.12.hook_resid_post, hook_mlp_out, attn.hook_z), and list
               them; SAEs whose hook only their downloaded config names are left out
  --json       print the releases (with their matching SAEs and each one's hook) as JSON
  -h, --help   show this help`;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** A release with the SAEs the filters kept. */
interface Match {
  name: string;
  release: Release;
  saes: ReleaseSae[];
}

function matches(values: { model?: string; hook?: string }, words: string[]): Match[] {
  const model = values.model?.toLowerCase();
  const out: Match[] = [];
  for (const [name, release] of Object.entries(RELEASES)) {
    if (
      model !== undefined && release.model.toLowerCase() !== model &&
      findModelRepo(release.model)?.toLowerCase() !== model
    ) {
      continue;
    }
    const saes = release.saes.filter((sae) => {
      const hook = releaseSaeHook(release, sae);
      if (values.hook !== undefined && !hook?.includes(values.hook)) return false;
      return matchesWords(name, release, sae, words);
    });
    if (saes.length > 0) out.push({ name, release, saes });
  }
  return out;
}

function stats(sae: ReleaseSae): string {
  return [
    sae.l0 !== null ? `L0 ${sae.l0}` : "",
    sae.variance_explained !== null ? `EV ${sae.variance_explained}` : "",
    sae.neuronpedia ?? "",
  ].filter(Boolean).join("  ");
}

function printSaes(found: Match[]): void {
  for (const { name, release, saes } of found) {
    console.log(`${name}: ${release.model}, ${release.repo_id} (loader ${release.conversion_func ?? "sae_lens"})`);
    const width = Math.max(...saes.map((s) => s.id.length));
    const hooks = saes.map((s) => releaseSaeHook(release, s) ?? "(hook in its config)");
    const hookWidth = Math.max(...hooks.map((h) => h.length));
    saes.forEach((s, i) =>
      console.log(`  ${s.id.padEnd(width)}  ${hooks[i].padEnd(hookWidth)}  ${stats(s)}`.trimEnd())
    );
  }
}

function printGrouped(found: Match[]): void {
  const byModel = Map.groupBy(found, (m) => m.release.model);
  const width = Math.max(...found.map((m) => m.name.length));
  for (const [model, group] of byModel) {
    const repo = findModelRepo(model);
    const count = group.reduce((n, m) => n + m.saes.length, 0);
    console.log(
      `${model}${repo && repo !== model ? ` (${repo})` : ""}: ${plural(group.length, "release")}, ${
        plural(count, "SAE")
      }`,
    );
    for (const { name, release, saes } of group) {
      const of = saes.length === release.saes.length ? "" : ` of ${release.saes.length}`;
      console.log(
        `  ${name.padEnd(width)}  ${`${saes.length}${of}`.padStart(5)} SAE${release.saes.length === 1 ? " " : "s"}  ${
          (release.conversion_func ?? "sae_lens").padEnd(26)
        }  ${release.repo_id}`,
      );
    }
  }
  const saes = found.reduce((n, m) => n + m.saes.length, 0);
  console.log(`${plural(found.length, "release")}, ${plural(saes, "SAE")}; "sae releases RELEASE" lists one's SAEs`);
}

/**
 * Runs `sae releases`.
 *
 * @example
 * ```ts ignore
 * await releases(["--model", "gemma-2-2b", "--hook", "blocks.12.hook_resid_post"]);
 * ```
 *
 * @param args Arguments after the verb.
 * @returns The exit code.
 * @throws {UsageError} When the filters match nothing.
 */
export function releases(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    json: { type: "boolean" },
    model: { type: "string" },
    hook: { type: "string" },
  });
  if (values.help) {
    console.log(RELEASES_HELP);
    return Promise.resolve(0);
  }
  const named = positionals.length === 1 && Object.hasOwn(RELEASES, positionals[0]) ? positionals[0] : undefined;
  const words = named === undefined ? positionals.map((w) => w.toLowerCase()) : [];
  let found = matches(values, words);
  if (named !== undefined) found = found.filter((m) => m.name === named);
  if (found.length === 0) {
    const asked = [
      ...(named !== undefined ? [`release ${named}`] : []),
      ...(values.model !== undefined ? [`--model ${values.model}`] : []),
      ...(values.hook !== undefined ? [`--hook ${values.hook}`] : []),
      ...(words.length > 0 ? [`"${words.join(" ")}"`] : []),
    ];
    throw new UsageError(`No SAE of the registry matches ${asked.join(", ")}: "sae releases" lists them all`);
  }
  if (values.json) {
    const out = Object.fromEntries(found.map(({ name, release, saes }) => [name, {
      ...release,
      saes: saes.map((s) => ({ ...s, hook: releaseSaeHook(release, s) })),
    }]));
    console.log(JSON.stringify(out, null, 2));
  } else if (named !== undefined || values.hook !== undefined) printSaes(found);
  else printGrouped(found);
  return Promise.resolve(0);
}
