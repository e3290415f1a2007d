/**
 * A `sweep` field in a training config: a grid of values per field, expanded into the `saes` list (one SAE per
 * point, all trained from the same forward passes), each point saved in its own folder named after its values.
 *
 * @module
 */

import { join } from "node:path";
import { RUNNER_DEFAULTS } from "./runner_settings.ts";

/** Fields a sweep cannot vary: the run's shared model, data and folders. */
const RUN_LEVEL = [
  "saes",
  "sweep",
  "output_path",
  "checkpoint_path",
  "model_name",
  "model_from_pretrained_kwargs",
  "dataset_path",
  "context_size",
  "cached_activations_path",
];

/** A point's folder name: `l1_coefficient_3`, `d_sae_1024-k_16`. */
function pointName(point: Record<string, unknown>): string {
  return Object.entries(point).map(([k, v]) => `${k}_${typeof v === "string" ? v : JSON.stringify(v)}`).join("-")
    .replace(/[^\w.,=+-]/g, "_");
}

/**
 * Expands `sweep` (field → list of values) into `saes`: every combination of the values, in the order given, each
 * SAE saved in `output_path` (by default `checkpoint_path/final`) / its point's name. With a `saes` list too, each of
 * its entries is swept (numbered folders for the entries without their own `output_path`).
 *
 * @example Two coefficients at one k
 * ```ts
 * import { expandSweep } from "./sweep_grid.ts";
 * const { saes } = expandSweep({ checkpoint_path: "ck", sweep: { l1_coefficient: [1, 3], k: [16] } }, "sweep.json");
 * console.log((saes as { output_path: string }[]).map((s) => s.output_path));
 * // [ "ck/final/l1_coefficient_1-k_16", "ck/final/l1_coefficient_3-k_16" ]
 * ```
 *
 * @param raw A config, with or without `sweep`.
 * @param where The settings' source, for messages.
 * @returns The config without `sweep`, its points in `saes`; `raw` itself when it has none.
 * @throws {TypeError} When `sweep` is not an object of non-empty lists, or names a field the run's SAEs share.
 */
export function expandSweep(raw: Record<string, unknown>, where: string): Record<string, unknown> {
  if (raw.sweep === undefined) return raw;
  const { sweep, ...rest } = raw;
  if (typeof sweep !== "object" || sweep === null || Array.isArray(sweep)) {
    throw new TypeError(`${where}: field sweep is ${JSON.stringify(sweep)}: expected an object of field: [values]`);
  }
  const axes = Object.entries(sweep as Record<string, unknown>);
  for (const [field, values] of axes) {
    if (RUN_LEVEL.includes(field)) {
      throw new TypeError(`${where}: sweep.${field}: the SAEs of a run share ${field}, so a sweep cannot vary it`);
    }
    if (!Array.isArray(values) || values.length === 0) {
      throw new TypeError(`${where}: sweep.${field} is ${JSON.stringify(values)}: expected a non-empty list of values`);
    }
  }
  const points = axes.reduce<Record<string, unknown>[]>(
    (grid, [field, values]) => grid.flatMap((p) => (values as unknown[]).map((v) => ({ ...p, [field]: v }))),
    [{}],
  );
  const checkpoints = typeof rest.checkpoint_path === "string" ? rest.checkpoint_path : RUNNER_DEFAULTS.checkpoint_path;
  const base = typeof rest.output_path === "string" && rest.output_path !== ""
    ? rest.output_path
    : join(checkpoints, "final");
  const entries = Array.isArray(rest.saes) && rest.saes.length > 0 ? rest.saes as Record<string, unknown>[] : [{}];
  const saes = entries.flatMap((entry, i) => {
    const own = typeof entry?.output_path === "string" && entry.output_path !== "";
    const folder = own ? entry.output_path as string : entries.length > 1 ? join(base, String(i)) : base;
    return points.map((p) => ({ ...entry, ...p, output_path: join(folder, pointName(p)) }));
  });
  return { ...rest, saes };
}
