/**
 * `sae info [PATH|embedded] [--json]`: what an SAE is, without running it.
 *
 * @module
 */

import { embeddedSae } from "../core/embedded.ts";
import { readSae } from "../core/sae/read_sae.ts";
import { parseFlags, UsageError } from "./_usage.ts";

/** Help text of `sae info`. */
export const INFO_HELP = `Usage: sae info [PATH|embedded] [--json]

Describe an SAE in any layout sae reads (SAELens v6 or pre-6.0, sparsify, Gemma Scope, Llama Scope,
dictionary_learning, .pt state dicts, circuit-tracer transcoders): architecture, d_in, d_sae and the expansion
factor d_sae / d_in, hook (and a transcoder's output hook), model, dtype, input handling, parameter count and
file sizes.
With no PATH, or "embedded", the embedded SAE the text verbs use without --sae.

Options:
  --json      print the description as JSON
  -h, --help  show this help`;

/**
 * Runs `sae info`.
 *
 * @example Describe the fixture SAE
 * ```ts ignore
 * await info(["../shared/fixtures/sae-topk", "--json"]);
 * ```
 *
 * @param args Arguments after the verb.
 * @returns The exit code.
 */
export async function info(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { json: { type: "boolean" } });
  if (values.help) {
    console.log(INFO_HELP);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`sae info takes one SAE path: got ${positionals.length}`);
  if (positionals[0] === "") throw new UsageError("sae info takes one SAE path: got an empty one");
  const embedded = positionals.length === 0 || positionals[0] === "embedded";
  const path = embedded ? embeddedSae() : positionals[0];
  const sae = await readSae(path);
  const { cfg } = sae;
  let files: Record<string, number> = {};
  const stat = await Deno.stat(path);
  if (stat.isDirectory) {
    for await (const e of Deno.readDir(path)) if (e.isFile) files[e.name] = (await Deno.stat(`${path}/${e.name}`)).size;
  } else files = { [path]: stat.size };
  files = Object.fromEntries(Object.entries(files).sort(([a], [b]) => a.localeCompare(b)));
  const parameters = Object.values(sae.weights).reduce((n, t) => n + t.data.length, 0);
  const deadFeatures = sae.sparsity ? sae.sparsity.data.filter((v) => v <= -9.99).length : undefined;
  const description = {
    path,
    embedded,
    format: sae.format,
    architecture: cfg.architecture,
    d_in: cfg.d_in,
    d_sae: cfg.d_sae,
    expansion_factor: cfg.d_sae / cfg.d_in,
    k: cfg.k ?? null,
    hook_name: cfg.metadata.hook_name ?? null,
    hook_name_out: cfg.metadata.hook_name_out ?? null,
    d_out: cfg.d_out ?? null,
    hook_head_index: cfg.metadata.hook_head_index ?? null,
    model_name: cfg.metadata.model_name ?? null,
    dtype: cfg.dtype,
    stored_f16: sae.storedF16,
    apply_b_dec_to_input: cfg.apply_b_dec_to_input,
    normalize_activations: cfg.normalize_activations,
    reshape_activations: cfg.reshape_activations,
    context_size: cfg.metadata.context_size ?? null,
    prepend_bos: cfg.metadata.prepend_bos ?? null,
    model_from_pretrained_kwargs: cfg.metadata.model_from_pretrained_kwargs ?? null,
    neuronpedia_id: cfg.metadata.neuronpedia_id ?? null,
    tensors: Object.fromEntries(Object.entries(sae.weights).map(([k, t]) => [k, t.shape])),
    parameters,
    dead_features_in_sparsity: deadFeatures ?? null,
    files,
  };
  if (values.json) {
    console.log(JSON.stringify(description, null, 2));
    return 0;
  }
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(2)} MiB`;
  const rows: [string, string][] = [
    ["path", embedded ? `${path} (embedded)` : path],
    ["format", description.format],
    ["architecture", cfg.architecture + (cfg.k ? ` (k = ${cfg.k})` : "")],
    [
      "d_in × d_sae",
      `${cfg.d_in} × ${cfg.d_sae} (expansion factor ${Number(description.expansion_factor.toFixed(3))})`,
    ],
    ["hook", String(description.hook_name ?? "unknown")],
    ...(cfg.d_out !== undefined
      ? [["output", `${cfg.d_out} at ${description.hook_name_out ?? "unknown"} (a transcoder)`] as [string, string]]
      : []),
    ["model", String(description.model_name ?? "unknown")],
    ["dtype", cfg.dtype + (sae.storedF16 ? " (stored f16)" : "")],
    ["input", `${cfg.apply_b_dec_to_input ? "x - b_dec" : "x"}, normalize ${cfg.normalize_activations}`],
    ["parameters", parameters.toLocaleString("en-US")],
    ["tensors", Object.entries(description.tensors).map(([k, s]) => `${k} [${s.join(", ")}]`).join(", ")],
    ...(deadFeatures !== undefined
      ? [["dead in sparsity", `${deadFeatures} of ${cfg.d_sae}`] as [string, string]]
      : []),
    ["files", Object.entries(files).map(([k, v]) => `${k} ${mib(v)}`).join(", ")],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
  return 0;
}
