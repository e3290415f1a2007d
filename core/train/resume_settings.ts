/**
 * Continuing a run from its checkpoint folder: the run's settings come from the checkpoint (every field of each SAE,
 * resolved, is stored there), and only the fields that cannot change the trained weights may be set anew.
 *
 * @module
 */

import { dirname } from "node:path";
import { type CheckpointMeta, readCheckpointMeta } from "./checkpoint.ts";
import type { ResolvedRun } from "./runner_config.ts";
import { RUNNER_DEFAULTS } from "./runner_settings.ts";

/**
 * Fields a resumed run may change: where it trains, where and how often it logs, evaluates, checkpoints and saves.
 * None of them changes a step's result (evaluations read their own rows; checkpoints only copy the state).
 */
export const RESUME_OVERRIDABLE: readonly string[] = [
  "device",
  "checkpoint_path",
  "output_path",
  "n_checkpoints",
  "wandb_log_frequency",
  "eval_every_n_wandb_logs",
  "n_eval_batches",
  "eval_batch_size_prompts",
];

/**
 * The settings of a resumed run: the checkpoint's, with `checkpoint_path` the folder it is in, overlaid with `raw`
 * (a config file, flags). A field `raw` changes that {@linkcode RESUME_OVERRIDABLE} does not list is refused when the
 * run starts, by {@linkcode settingsChanges}.
 *
 * @example
 * ```ts ignore
 * const raw = await resumeSettings("runs/ck", { wandb_log_frequency: 10 });
 * await trainSae(raw, { resume: "runs/ck" });
 * ```
 *
 * @param path The checkpoint folder (or file).
 * @param raw Settings given with the resume; may be empty.
 * @returns The settings to resolve.
 * @throws {Deno.errors.NotFound} When there is no checkpoint there.
 * @throws {SyntaxError} When the file is not a checkpoint written by `sae train`.
 */
export async function resumeSettings(path: string, raw: Record<string, unknown>): Promise<Record<string, unknown>> {
  const meta = await readCheckpointMeta(path);
  const folder = (await Deno.stat(path)).isDirectory ? path : dirname(path);
  const stored = storedSettings(meta);
  // a config that lists its SAEs (or a sweep of them) replaces the stored list
  if ("saes" in raw || "sweep" in raw) delete stored.saes;
  return { ...stored, checkpoint_path: folder, ...raw };
}

/**
 * The checkpoint's settings as a config: fields every SAE shares at the top, the others in a `saes` list (so SAEs
 * that shared an `output_path` still share it, numbered, as in the first run).
 */
function storedSettings(meta: CheckpointMeta): Record<string, unknown> {
  // a field this version no longer has (a checkpoint of an older sae) cannot be set: it is left out
  const entries = meta.config.saes.map((e) =>
    Object.fromEntries(Object.entries(e).filter(([k]) => k in RUNNER_DEFAULTS))
  );
  if (entries.length === 1) return { ...entries[0] };
  const keys = [...new Set(entries.flatMap((e) => Object.keys(e)))];
  const same = (k: string) => entries.every((e) => JSON.stringify(e[k]) === JSON.stringify(entries[0][k]));
  const shared = keys.filter(same);
  return {
    ...Object.fromEntries(shared.map((k) => [k, entries[0][k]])),
    saes: entries.map((e) => Object.fromEntries(Object.entries(e).filter(([k]) => !shared.includes(k)))),
  };
}

/** Each SAE's settings as a checkpoint stores them: every field resolved, without the `saes` list. */
export function storedConfig(resolved: ResolvedRun): CheckpointMeta["config"] {
  return JSON.parse(JSON.stringify({ saes: resolved.saes.map(({ saes: _, ...s }) => s) }));
}

const shown = (v: unknown) => {
  const text = JSON.stringify(v) ?? "none";
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

/**
 * What a resumed run changes of the checkpoint's settings, besides {@linkcode RESUME_OVERRIDABLE}: one
 * "field was A, now B" per field (prefixed `saes[i].` in a run of several SAEs). A field the checkpoint does not have
 * (added to the trainer since) counts as its default.
 *
 * @example
 * ```ts ignore
 * const changes = settingsChanges(checkpoint.meta.config, resolved); // ["l1_coefficient was 5, now 3"]
 * ```
 *
 * @param stored The checkpoint's settings.
 * @param resolved The resumed run's settings.
 * @returns The changes, empty when the run continues as it was.
 */
export function settingsChanges(stored: CheckpointMeta["config"], resolved: ResolvedRun): string[] {
  const now = storedConfig(resolved).saes, was = stored.saes;
  if (now.length !== was.length) return [`saes: ${was.length} SAEs then, ${now.length} now`];
  const defaults = RUNNER_DEFAULTS as unknown as Record<string, unknown>;
  return now.flatMap((sae, i) => {
    const before = (k: string) => k in was[i] ? was[i][k] : defaults[k];
    return Object.keys(sae)
      .filter((k) => !RESUME_OVERRIDABLE.includes(k) && JSON.stringify(before(k)) !== JSON.stringify(sae[k]))
      .map((k) => `${now.length > 1 ? `saes[${i}].` : ""}${k} was ${shown(before(k))}, now ${shown(sae[k])}`);
  });
}
