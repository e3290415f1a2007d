/**
 * Where each SAE of a run is saved: its own `output_path` when its `saes` entry sets one; otherwise the run's
 * `output_path` (`checkpoint_path/final` when empty), numbered by SAE when the run trains several.
 *
 * @module
 */

import { join, relative, resolve } from "node:path";
import type { ResolvedRun } from "./runner_config.ts";

/**
 * Each SAE's output folder, refusing a run where two SAEs would share a folder (or one lie inside another's).
 *
 * @example
 * ```ts
 * import { outputFolders } from "./output_folders.ts";
 * const s = (output_path: string) => ({ output_path, checkpoint_path: "ck" });
 * const run = { run: { ...s(""), saes: [{ output_path: "l1_1" }, {}] }, saes: [s("l1_1"), s("")] };
 * console.log(outputFolders(run as never, "sweep.json")); // [ "l1_1", "ck/final/1" ]
 * ```
 *
 * @param resolved The run.
 * @param where The settings' source, for the message.
 * @returns One folder per SAE.
 * @throws {RangeError} Naming the `output_path` of two SAEs that would overwrite each other.
 */
export function outputFolders({ run, saes }: ResolvedRun, where: string): string[] {
  const own = saes.map((_, i) => typeof run.saes[i]?.output_path === "string" && run.saes[i].output_path !== "");
  const inherited = saes.find((_, i) => !own[i])?.output_path || join(run.checkpoint_path, "final");
  const folders = saes.map((s, i) => own[i] ? s.output_path : saes.length > 1 ? join(inherited, String(i)) : inherited);
  const field = (i: number) => saes.length > 1 ? `saes[${i}].output_path` : "output_path";
  for (const [i, a] of folders.entries()) {
    for (const [j, b] of folders.entries()) {
      if (j === i) continue;
      const inside = relative(resolve(b), resolve(a));
      if (inside === "" && j < i) {
        throw new RangeError(
          `${where}: ${field(i)} ${JSON.stringify(a)} is also where ${
            field(j)
          } saves: give each SAE its own output_path`,
        );
      }
      if (inside !== "" && !inside.startsWith("..") && !inside.startsWith("/")) {
        throw new RangeError(
          `${where}: ${field(i)} ${JSON.stringify(a)} lies inside ${field(j)} ${
            JSON.stringify(b)
          }: give each SAE a folder of its own`,
        );
      }
    }
  }
  return folders;
}
