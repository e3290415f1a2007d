/**
 * `sae train`: train SAEs from text (or cached activations) with SAELens's
 * `LanguageModelSAERunnerConfig` field names, from a JSON config and/or one flag per field.
 *
 * @module
 */

import { join } from "node:path";
import { openTokenDataset } from "../core/data/token_dataset.ts";
import { embeddedModel } from "../core/embedded.ts";
import { getGpu } from "../core/gpu/device.ts";
import { writeFileAtomic } from "../core/io/atomic_write.ts";
import { readJson } from "../core/io/read_json.ts";
import { HookedGpt2 } from "../core/lm/gpt2.ts";
import { checkHookName, hookWidth } from "../core/lm/hook_points.ts";
import { trainingReportHtml } from "../core/report/training_report.ts";
import { readSafetensors, toFloat32 } from "../core/io/safetensors.ts";
import type { ActivationSource } from "../core/train/activation_store.ts";
import { cacheActivations, openActivationCache } from "../core/train/cached_activations.ts";
import { resolveRunnerConfig, RUNNER_DEFAULTS, RUNNER_FIELD_HELP } from "../core/train/runner_config.ts";
import { NonFiniteError } from "../core/train/sae_trainer.ts";
import { trainSaes } from "../core/train/train_saes.ts";
import { Progress } from "./_progress.ts";
import { type Flags, parseFlags, UsageError } from "./_usage.ts";

const FIELD_FLAGS = Object.fromEntries(
  Object.keys(RUNNER_FIELD_HELP).map((field) => [field.replaceAll("_", "-"), { type: "string" }]),
) as Record<string, { type: "string" }>;

const defaultText = (field: string) => {
  const v = RUNNER_DEFAULTS[field as keyof typeof RUNNER_DEFAULTS];
  return Array.isArray(v) ? v.join(",") : String(v);
};

/** Help text of `sae train`. */
export const TRAIN_HELP =
  `Usage: sae train [--config FILE.json] [--FIELD VALUE ...] [--resume DIR] [--cache-activations DIR]

Trains SAEs on a model's activations (run only up to the deepest hook needed, shuffled in a mixing
buffer) and writes each as a SAELens v6 folder with sparsity.safetensors, a metrics.jsonl log and an
HTML report. Config fields are SAELens's LanguageModelSAERunnerConfig names; every field is also a
flag (--l1-coefficient 5) that overrides the file. A "saes" list in the config trains several SAEs
(other hooks, widths or coefficients) from one forward pass. Ctrl-C or SIGTERM saves a checkpoint and exits.

Options:
  --config FILE            JSON config (SAELens field names; a nested "sae" object is merged in)
  --resume DIR             continue the run whose checkpoint is in DIR (its checkpoint_path)
  --cache-activations DIR  only run the model and write training_tokens of activations to DIR as
                           safetensors shards; train later with --cached-activations-path DIR
  --report FILE            HTML report (default: checkpoint_path/report.html)
${
    Object.entries(RUNNER_FIELD_HELP).map(([field, help]) =>
      `  --${field.replaceAll("_", "-").padEnd(24)} ${help} (default ${defaultText(field) || '""'})`
    ).join("\n")
  }
  -h, --help               show this help`;

/** Flag text to the field's type (numbers, booleans, comma-separated integer lists, strings). */
function flagValue(field: string, text: string): unknown {
  const d = RUNNER_DEFAULTS[field as keyof typeof RUNNER_DEFAULTS];
  const flag = `--${field.replaceAll("_", "-")}`;
  if (typeof d === "number") {
    const n = Number(text);
    if (text.trim() === "" || !Number.isFinite(n)) {
      throw new UsageError(`${flag} must be a number: current value is ${text}`);
    }
    return n;
  }
  if (typeof d === "boolean") {
    if (text !== "true" && text !== "false") {
      throw new UsageError(`${flag} must be true or false: current value is ${text}`);
    }
    return text === "true";
  }
  if (Array.isArray(d)) return text === "" ? [] : text.split(",").map((v) => Number(v));
  return text;
}

/** The block a hook is computed in (its layer + 1), or undefined when the whole model must run. */
function stopAfter(hook: string): number | undefined {
  const layer = /^blocks\.(\d+)\./.exec(hook)?.[1];
  return layer === undefined ? (hook.startsWith("ln_final") ? undefined : 1) : Number(layer) + 1;
}

/**
 * Runs `sae train`.
 *
 * @example
 * ```ts ignore
 * await train(["--config", "train.json", "--training-tokens", "1000000"]);
 * ```
 *
 * @param args Arguments after the verb.
 * @returns The exit code.
 */
export async function train(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    args,
    {
      config: { type: "string" },
      resume: { type: "string" },
      "cache-activations": { type: "string" },
      report: { type: "string" },
      ...FIELD_FLAGS,
    } satisfies Flags,
  );
  if (values.help) {
    console.log(TRAIN_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`sae train takes no positional arguments: got ${positionals[0]}`);
  const v = values as Record<string, string | boolean | undefined>;
  const raw: Record<string, unknown> = {};
  if (typeof v.config === "string") {
    const file = await readJson(v.config);
    if (typeof file !== "object" || file === null || Array.isArray(file)) {
      throw new TypeError(`${v.config} must hold a JSON object of training settings`);
    }
    Object.assign(raw, file);
  }
  for (const field of Object.keys(RUNNER_FIELD_HELP)) {
    const text = v[field.replaceAll("_", "-")];
    if (typeof text === "string") raw[field] = flagValue(field, text);
  }
  const where = typeof v.config === "string" ? v.config : "flags";

  const cachePath = typeof raw.cached_activations_path === "string" ? raw.cached_activations_path : "";
  const cache = cachePath ? await openActivationCache(cachePath) : undefined;
  const model = cache ? undefined : await HookedGpt2.load(
    typeof raw.model_name === "string" && raw.model_name !== "" ? raw.model_name : embeddedModel(),
  );
  try {
    const widthAt = (hook: string) => {
      if (cache) {
        const i = cache.info.hooks.indexOf(hook);
        if (i < 0) throw new RangeError(`${cachePath} caches ${cache.info.hooks.join(", ")}, not ${hook}`);
        return cache.info.widths[i];
      }
      checkHookName(hook, model!.cfg.nLayers);
      const w = hookWidth(hook, model!.cfg);
      if (w === undefined) throw new RangeError(`${hook} has no fixed width per token: an SAE cannot read it`);
      return w;
    };
    const resolved = resolveRunnerConfig(raw, where, widthAt);
    const { run, saes } = resolved;
    const hooks = [...new Set(saes.map((s) => s.hook_name))];
    let rows: () => AsyncIterator<number[]>;
    let source: ActivationSource;
    let datasetLabel = run.dataset_path;
    if (cache) {
      if (cache.info.context_size !== run.context_size) {
        throw new RangeError(
          `${cachePath} holds rows of ${cache.info.context_size} tokens: set context_size ${cache.info.context_size}`,
        );
      }
      ({ rows, source } = cache);
      datasetLabel = cache.info.dataset_path;
    } else {
      const m = model!;
      const dataset = await openTokenDataset(run.dataset_path, {
        tokenizer: m,
        contextSize: run.context_size,
        bos: run.prepend_bos ? m.cfg.bosTokenId : undefined,
        maxContext: m.cfg.nCtx,
        textColumn: run.text_column,
      });
      datasetLabel = dataset.label;
      rows = () => dataset.rows();
      const stops = hooks.map(stopAfter);
      const stopAtLayer = stops.includes(undefined) ? undefined : Math.max(...(stops as number[]));
      source = async (batch) => {
        const { cache } = await m.runWithCache(batch, { names: hooks, stopAtLayer, returnType: "none" });
        return hooks.map((h) => cache.get(h)!.data);
      };
    }

    if (typeof v["cache-activations"] === "string") {
      const folder = v["cache-activations"];
      const total = Math.ceil(run.training_tokens / run.context_size);
      const progress = new Progress("cache", total);
      const iterator = rows();
      const iterable = { [Symbol.asyncIterator]: () => iterator };
      const info = await cacheActivations(
        folder,
        iterable,
        source,
        {
          hooks,
          widths: hooks.map(widthAt),
          context_size: run.context_size,
          rows_per_shard: Math.max(1, Math.floor(65536 / run.context_size)),
          model_name: run.model_name || "gpt2-sotu-tiny",
          dataset_path: datasetLabel,
        },
        total,
        (n) => progress.update(n, n * run.context_size),
      );
      progress.done();
      console.log(`Cached ${info.rows * info.context_size} tokens of ${hooks.join(", ")} in ${folder}`);
      return 0;
    }

    const gpu = await getGpu();
    const controller = new AbortController();
    const onSignal = () => controller.abort();
    // Ctrl-C, and SIGTERM as schedulers (Slurm, Kubernetes, systemd) stop jobs: both checkpoint and stop
    const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
    for (const s of signals) Deno.addSignalListener(s, onSignal);
    const progress = new Progress("train", Math.floor(run.training_tokens / run.train_batch_size_tokens), "steps");
    try {
      const result = await trainSaes(resolved, {
        gpu,
        rows,
        source,
        hooks,
        resume: typeof v.resume === "string" ? v.resume : undefined,
        signal: controller.signal,
        metadata: saes.map((s) => ({
          model_name: s.model_name || "gpt2-sotu-tiny",
          hook_name: s.hook_name,
          hook_head_index: null,
          context_size: s.context_size,
          prepend_bos: s.prepend_bos,
          dataset_path: datasetLabel,
          sae_lens_training_version: "6.18.0",
        })),
        onProgress: ({ step, tokens, results }) => {
          const r = results[0];
          const dead = (100 * r.deadCount / saes[0].d_sae).toFixed(1);
          progress.update(step, tokens, `L0 ${r.l0.toFixed(1)} EV ${r.explainedVariance.toFixed(3)} dead ${dead}%`);
        },
      });
      progress.done();
      if (result.stopped) {
        console.log(
          `Stopped at step ${result.steps}: checkpoint ${result.checkpoint}; continue with --resume ${run.checkpoint_path}`,
        );
        return 130;
      }
      const reportPath = typeof v.report === "string" ? v.report : join(run.checkpoint_path, "report.html");
      const reportSaes = await Promise.all(result.outputs.map(async (folder, i) => ({
        label: `${saes[i].architecture} ${saes[i].d_sae} on ${saes[i].hook_name} (${folder})`,
        metrics: result.metrics.filter((m) => (m.sae ?? 0) === i),
        logDensity: toFloat32(
          (await readSafetensors(join(folder, "sparsity.safetensors"))).tensors.get("sparsity")!,
          "sparsity",
        ),
      })));
      await writeFileAtomic(reportPath, trainingReportHtml("sae train", reportSaes));
      for (const [i, folder] of result.outputs.entries()) {
        const last = reportSaes[i].metrics.at(-1) ?? {};
        console.log(
          `Saved ${folder}: L0 ${last["metrics/l0"]?.toFixed(2)}, explained variance ${
            last["metrics/explained_variance"]?.toFixed(4)
          }`,
        );
      }
      console.log(`Metrics in ${join(run.checkpoint_path, "metrics.jsonl")}, report ${reportPath}`);
      return 0;
    } catch (error) {
      if (error instanceof NonFiniteError) {
        throw new NonFiniteError(
          `${error.message}; the last good checkpoint in ${run.checkpoint_path} is unchanged (resume with --resume ${run.checkpoint_path})`,
        );
      }
      throw error;
    } finally {
      for (const s of signals) Deno.removeSignalListener(s, onSignal);
    }
  } finally {
    await model?.dispose();
  }
}
