/**
 * `sae train`: train SAEs from text (or cached activations) with SAELens's
 * `LanguageModelSAERunnerConfig` field names, from a JSON config and/or one flag per field.
 *
 * @module
 */

import { join } from "node:path";
import { readJson } from "../core/io/read_json.ts";
import { cacheActivations } from "../core/train/cached_activations.ts";
import { RUNNER_DEFAULTS, RUNNER_FIELD_HELP, SAELENS_ONLY_FIELDS } from "../core/train/runner_settings.ts";
import { NonFiniteError } from "../core/train/step_result.ts";
import { trainSae } from "../core/train/train_sae.ts";
import { openTrainingRun, type TrainingRun } from "../core/train/training_run.ts";
import { sparsityVerdict } from "../core/eval/sparsity_verdict.ts";
import { formatSeconds, logLine, Progress } from "./_progress.ts";
import { type Flags, parseFlags, UsageError } from "./_usage.ts";

const FIELD_FLAGS = Object.fromEntries(
  Object.keys(RUNNER_FIELD_HELP).map((field) => [field.replaceAll("_", "-"), { type: "string" }]),
) as Record<string, { type: "string" }>;

const defaultText = (field: string) => {
  const v = RUNNER_DEFAULTS[field as keyof typeof RUNNER_DEFAULTS];
  return Array.isArray(v) ? v.join(",") : typeof v === "object" ? JSON.stringify(v) : String(v);
};

const saeLensFields = (anyValue: boolean) =>
  Object.entries(SAELENS_ONLY_FIELDS).filter(([, f]) => (f.accepts === undefined) === anyValue)
    .map(([field, f]) => `  ${field.padEnd(26)} ${f.note}`).join("\n");

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
  -h, --help               show this help

SAELens fields accepted in a config with no effect on the result here:
${saeLensFields(true)}

SAELens fields accepted only at the value this trainer implements (any other value is refused):
${saeLensFields(false)}`;

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
  if (typeof d === "object") {
    try {
      return JSON.parse(text);
    } catch {
      throw new UsageError(`${flag} must be a JSON object: current value is ${text}`);
    }
  }
  return text;
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

  if (typeof v["cache-activations"] === "string") {
    const folder = v["cache-activations"];
    const run = await openTrainingRun(raw, where);
    try {
      const { run: settings } = run.resolved;
      const total = Math.ceil(settings.training_tokens / settings.context_size);
      const progress = new Progress("cache", total);
      const iterator = run.rows();
      const info = await cacheActivations(
        folder,
        { [Symbol.asyncIterator]: () => iterator },
        run.source,
        {
          hooks: run.hooks,
          widths: run.widths,
          context_size: settings.context_size,
          rows_per_shard: Math.max(1, Math.floor(65536 / settings.context_size)),
          model_name: run.metadata[0].model_name as string,
          dataset_path: run.datasetLabel,
        },
        total,
        (n) => progress.update(n, n * settings.context_size),
      );
      progress.done();
      console.log(`Cached ${info.rows * info.context_size} tokens of ${run.hooks.join(", ")} in ${folder}`);
      return 0;
    } finally {
      await run.dispose();
    }
  }

  const controller = new AbortController();
  const onSignal = () => controller.abort();
  // Ctrl-C, and SIGTERM as schedulers (Slurm, Kubernetes, systemd) stop jobs: both checkpoint and stop
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  let progress: Progress | undefined;
  let checkpointPath = "";
  const named = (field: "model_name" | "dataset_path" | "hook_name") =>
    typeof raw[field] === "string" && raw[field] !== "" ? raw[field] : RUNNER_DEFAULTS[field] || "embedded";
  // within a second, before the model and the data are opened
  console.error(
    `sae train: model ${named("model_name")}, ${named("hook_name")}, dataset ${named("dataset_path")}; loading`,
  );
  let estimated = false, firstStepAt = 0;
  let trained: TrainingRun["resolved"]["saes"] = [];
  let last: { l0: number; ev: number; dead: number } | undefined;
  try {
    const result = await trainSae(raw, {
      where,
      resume: typeof v.resume === "string" ? v.resume : undefined,
      report: typeof v.report === "string" ? v.report : undefined,
      signal: controller.signal,
      onStart: (run, device) => {
        const { run: settings, saes } = run.resolved;
        trained = saes;
        checkpointPath = settings.checkpoint_path;
        const steps = Math.floor(settings.training_tokens / settings.train_batch_size_tokens);
        console.error(
          `sae train: device ${device}${
            run.model ? `, model on ONNX Runtime ${run.model.backend}` : ", cached activations"
          }; ${
            saes.map((s) => `${s.architecture} ${s.d_in} → ${s.d_sae} at ${s.hook_name}`).join(", ")
          }; ${steps} steps of ${settings.train_batch_size_tokens} tokens`,
        );
        for (const notice of run.resolved.notices) console.error(`sae train: ${notice}`);
        progress = new Progress("train", steps, "steps");
      },
      onSampling: ({ corpusRows, description }) =>
        console.error(
          `sae train: ${description}; ${
            corpusRows === undefined ? "filling the buffer" : "reading the corpus's activations"
          } before step 1`,
        ),
      onProgress: ({ step, totalSteps, tokens, results }) => {
        const r = results[0];
        last = { l0: r.l0, ev: r.explainedVariance, dead: 100 * r.deadCount / r.fired.length };
        // Step 1 includes the buffer's fill and the kernels' compilation: estimate from the steps after it, once
        // five have run or five seconds have passed (a terminal's bar shows its ETA all along)
        const now = performance.now();
        if (step === 1) firstStepAt = now;
        const since = (now - firstStepAt) / 1000;
        if (!estimated && step > 1 && (step >= 6 || since > 5) && step < totalSteps) {
          estimated = true;
          const perStep = since / (step - 1);
          logLine(
            `sae train: about ${formatSeconds(perStep * (totalSteps - step))} to go for ${
              totalSteps - step
            } more steps (${formatSeconds(perStep)} per step)`,
          );
        }
        progress?.update(
          step,
          tokens,
          `L0 ${r.l0.toFixed(1)}, EV ${r.explainedVariance.toFixed(3)}, dead ${last.dead.toFixed(1)}%`,
        );
      },
    });
    progress?.done(last ? `L0 ${last.l0.toFixed(2)}, EV ${last.ev.toFixed(4)}, dead ${last.dead.toFixed(1)}%` : "");
    try {
      if (result.stopped) {
        console.log(
          `Stopped at step ${result.steps}: checkpoint ${result.checkpoint}; continue with --resume ${checkpointPath}`,
        );
        return 130;
      }
      for (const [i, folder] of result.outputs.entries()) {
        const last = result.metrics.filter((m) => (m.sae ?? 0) === i).at(-1) ?? {};
        const verdict = sparsityVerdict({
          l0: last["metrics/l0"],
          dSae: trained[i].d_sae,
          dead: last["sparsity/dead_features"] ?? 0,
          deadWindow: trained[i].dead_feature_window,
          explainedVariance: last["metrics/explained_variance"],
        });
        console.log(
          `Saved ${folder}: L0 ${last["metrics/l0"]?.toFixed(2)}, explained variance ${
            last["metrics/explained_variance"]?.toFixed(4)
          }; ${verdict.summary}`,
        );
      }
      console.log(`Metrics in ${join(checkpointPath, "metrics.jsonl")}, report ${result.report}`);
      return 0;
    } finally {
      for (const sae of result.saes) sae.destroy();
    }
  } catch (error) {
    if (error instanceof NonFiniteError) {
      throw new NonFiniteError(
        `${error.message}; the last good checkpoint in ${checkpointPath} is unchanged (resume with --resume ${checkpointPath})`,
      );
    }
    throw error;
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
  }
}
