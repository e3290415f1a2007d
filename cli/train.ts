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
import { CHECKPOINT_FILE } from "../core/train/checkpoint.ts";
import { NonFiniteError } from "../core/train/step_result.ts";
import { trainSae } from "../core/train/train_sae.ts";
import { RESUME_OVERRIDABLE, resumeSettings } from "../core/train/resume_settings.ts";
import { readCheckpointMeta } from "../core/train/checkpoint.ts";
import type { PhaseProgress } from "../core/train/train_saes.ts";
import { openTrainingRun, type TrainingRun } from "../core/train/training_run.ts";
import { sparsityVerdict } from "../core/eval/sparsity_verdict.ts";
import { formatSeconds, logLine, Progress, progressToLog } from "./_progress.ts";
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
(other hooks, widths or coefficients) from one forward pass, each in its own output_path when it sets one;
"sweep": {"l1_coefficient": [1, 3, 5]} expands a grid into that list, each point in checkpoint_path/final/
<field>_<value> (or under output_path). n_checkpoints writes a loadable SAE folder per checkpoint,
checkpoint_path/<tokens trained on>, beside the resumable checkpoint. Ctrl-C or SIGTERM saves a checkpoint
and exits; sae train --resume DIR continues the run with its stored settings.

Options:
  --config FILE            JSON config (SAELens field names; a nested "sae" object is merged in)
  --resume DIR             continue the run whose checkpoint is in DIR (its checkpoint_path) with the
                           settings stored there; a config or flags may change only:
                           ${RESUME_OVERRIDABLE.join(", ")}
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
  const resume = typeof v.resume === "string" ? v.resume : undefined;
  // a resumed run's settings are the checkpoint's: read them first, so the lines below name the run's model and data
  const settings = resume ? await resumeSettings(resume, raw) : raw;
  const resumedStep = resume ? (await readCheckpointMeta(resume)).step : 0;

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
  const phases = new PhaseLog();
  const onSignal = () => {
    if (!controller.signal.aborted) {
      // on a terminal, below the bar being redrawn
      console.error(
        (progressToLog() ? "" : "\n") +
          (phases.has("estimating the input norm")
            ? "sae train: stopping the norm estimate, before any step"
            : "sae train: stopping after this step, with a checkpoint"),
      );
    }
    controller.abort();
  };
  // Ctrl-C, and SIGTERM as schedulers (Slurm, Kubernetes, systemd) stop jobs: both checkpoint and stop
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  let progress: Progress | undefined;
  let checkpointPath = "";
  const named = (field: "model_name" | "dataset_path" | "hook_name") =>
    typeof settings[field] === "string" && settings[field] !== ""
      ? settings[field]
      : RUNNER_DEFAULTS[field] || "embedded";
  // within a second, before the model and the data are opened
  console.error(
    `sae train: ${resume ? `resuming ${resume} after step ${resumedStep}: ` : ""}model ${named("model_name")}, ${
      named("hook_name")
    }, dataset ${named("dataset_path")}; loading`,
  );
  let estimated = false, firstStep: { step: number; at: number } | undefined;
  let trained: TrainingRun["resolved"]["saes"] = [];
  let last: { l0: number[]; ev: number[]; dead: number[] } | undefined;
  try {
    const result = await trainSae(settings, {
      where,
      resume,
      report: typeof v.report === "string" ? v.report : undefined,
      signal: controller.signal,
      onPhase: (p) => phases.update(p, firstStep === undefined),
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
        // the first step (after a resume: the first resumed one) also pays for the buffer's fill and the kernels'
        // compilation: rate and ETA are measured from it on
        progress = new Progress("train", steps, "steps", { steady: true });
      },
      onSampling: ({ corpusRows, description }) =>
        console.error(
          `sae train: ${description}; ${
            corpusRows === undefined ? "filling the buffer" : "reading the corpus's activations"
          } before step 1`,
        ),
      onProgress: ({ step, totalSteps, tokens, results }) => {
        last = {
          l0: results.map((r) => r.l0),
          ev: results.map((r) => r.explainedVariance),
          dead: results.map((r) => 100 * r.deadCount / r.fired.length),
        };
        // estimate from the steps after the first, once five have run or five seconds have passed (a terminal's bar
        // shows its ETA all along)
        const now = performance.now();
        firstStep ??= { step, at: now };
        const since = (now - firstStep.at) / 1000, after = step - firstStep.step;
        if (!estimated && after > 0 && (after >= 5 || since > 5) && step < totalSteps) {
          estimated = true;
          const perStep = since / after;
          logLine(
            `sae train: about ${formatSeconds(perStep * (totalSteps - step))} to go for ${
              totalSteps - step
            } more steps (${formatSeconds(perStep)} per step)`,
          );
        }
        progress?.update(step, tokens, keyMetrics(last, [1, 3, 1]));
      },
    });
    const summary = last ? keyMetrics(last, [2, 4, 1]) : "";
    try {
      if (result.stopped && result.checkpoint === undefined) {
        phases.abandon();
        console.log("Stopped before step 1: no checkpoint written");
        return 130;
      }
      if (result.stopped) {
        progress?.stopped(summary);
        console.log(
          `Stopped at step ${result.steps}: checkpoint ${result.checkpoint}; continue with --resume ${checkpointPath}`,
        );
        return 130;
      }
      progress?.done(summary);
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
      if (result.checkpointSaes.length > 0) {
        console.log(`Checkpoints (SAE folders, as SAELens writes them): ${result.checkpointSaes.join(", ")}`);
      }
      console.log(`Metrics in ${join(checkpointPath, "metrics.jsonl")}, report ${result.report}`);
      return 0;
    } finally {
      for (const sae of result.saes) sae.destroy();
    }
  } catch (error) {
    phases.abandon();
    if (firstStep) progress?.stopped();
    if (error instanceof NonFiniteError) {
      const checkpoint = await Deno.stat(join(checkpointPath, CHECKPOINT_FILE)).catch(() => undefined);
      throw new NonFiniteError(
        checkpoint
          ? `${error.message}; the last good checkpoint in ${checkpointPath} is unchanged (resume with --resume ${checkpointPath})`
          : `${error.message}; no checkpoint was written before it, so there is nothing to resume: lower lr or check the activations`,
      );
    }
    throw error;
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
  }
}

/**
 * "L0 12.3, EV 0.912, dead 0.0%" for one SAE; for several, each figure per SAE: "L0 12.3|40.1, EV 0.912|0.871, ...".
 */
function keyMetrics(m: { l0: number[]; ev: number[]; dead: number[] }, digits: [number, number, number]): string {
  const each = (values: number[], d: number) => values.map((v) => v.toFixed(d)).join("|");
  return `L0 ${each(m.l0, digits[0])}, EV ${each(m.ev, digits[1])}, dead ${each(m.dead, digits[2])}%`;
}

/** Phases longer than this show progress (those before step 1 always do). */
const PHASE_SHOWN_AFTER_MS = 2000;

/**
 * Progress of the work outside the steps (see `PhaseProgress`): one progress pass per phase; those before step 1
 * always shown, later ones (refills, evaluations) once they have taken a couple of seconds, so quick ones add no
 * lines. Buffer fills during the norm estimate are part of it and not shown on their own.
 */
class PhaseLog {
  #open = new Map<string, { since: number; progress?: Progress }>();

  update(p: PhaseProgress, beforeFirstStep: boolean): void {
    if (p.phase === "filling the mixing buffer" && this.#open.has("estimating the input norm")) return;
    const key = p.phase + (p.sae ?? "");
    let entry = this.#open.get(key);
    if (!entry) this.#open.set(key, entry = { since: performance.now() });
    if (!entry.progress && (beforeFirstStep || performance.now() - entry.since > PHASE_SHOWN_AFTER_MS)) {
      const what = p.sae === undefined ? p.phase : `${p.phase} SAE ${p.sae}`;
      entry.progress = new Progress(`train: ${what}`, p.total, p.unit, { steady: true });
    }
    entry.progress?.update(p.done, p.unit === "tokens" ? p.done : 0);
    if (p.done >= p.total) {
      entry.progress?.done();
      this.#open.delete(key);
    }
  }

  /** Whether a phase is under way. */
  has(phase: PhaseProgress["phase"]): boolean {
    return [...this.#open.keys()].some((key) => key.startsWith(phase));
  }

  /** Ends the passes a failure or a stop left open. */
  abandon(): void {
    for (const { progress } of this.#open.values()) progress?.stopped();
    this.#open.clear();
  }
}
