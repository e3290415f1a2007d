/**
 * A training run's settings under SAELens's `LanguageModelSAERunnerConfig` names, with defaults,
 * checks, and the SAEs it trains (several may share one forward pass through `saes`).
 *
 * @module
 */

import {
  RUNNER_DEFAULTS,
  RUNNER_SETTINGS,
  type RunnerConfig,
  SAELENS_ONLY_FIELDS,
  trainingDevice,
} from "./runner_settings.ts";
import { levelWidths, type SaeTrainingConfig, selectsByRank, type TrainArchitecture } from "./sae_training_config.ts";
import type { Setting } from "./setting.ts";
import { closeMatches } from "../util/close_matches.ts";
import { DEVICES } from "../sae/device.ts";
import { systemMemoryBytes } from "../util/system_memory.ts";
import { outputFolders } from "./output_folders.ts";
import { expandSweep } from "./sweep_grid.ts";

/** The SAEs of a run, each with its hook and fully resolved settings. */
export interface ResolvedRun {
  /** Run-level settings (the first SAE's values for per-SAE fields). */
  run: RunnerConfig;
  /** Each SAE's settings. */
  saes: (RunnerConfig & SaeTrainingConfig)[];
  /** One line per field accepted though it only changes speed or logging in SAELens, saying what happens here. */
  notices: string[];
}

/** SAELens fields whose null means "the default", as it reads them. */
const NULL_MEANS_DEFAULT = new Set(["model_from_pretrained_kwargs", "eval_batch_size_prompts"]);

const ARCH_ALIASES: Record<string, TrainArchitecture> = { relu: "standard", topk: "topk" };

/**
 * Fills defaults, maps SAELens aliases (`activation_fn`, `activation_fn_kwargs.k`, nested `sae`, older field names
 * such as `hook_point`, older values such as `lr_scheduler_name` "cosine"), expands a `sweep` grid into `saes`,
 * resolves d_in and d_sae, and checks every field. Every field it cannot take (unknown, of the wrong type, or at a
 * value it does not implement) is listed in one error, an unknown one with the closest valid names.
 *
 * @example
 * ```ts
 * import { resolveRunnerConfig } from "./runner_config.ts";
 * const { saes } = resolveRunnerConfig({ activation_fn: "topk", activation_fn_kwargs: { k: 16 }, d_sae: 1024 }, "cfg.json", () => 128);
 * console.log(saes[0].architecture, saes[0].k, saes[0].d_in); // topk 16 128
 * ```
 *
 * @param raw Parsed JSON or flags.
 * @param where The file or "flags", for error messages.
 * @param hookWidth The model's width at a hook (for d_in 0).
 * @returns The run and its SAEs.
 * @throws {TypeError} On unknown fields or values of the wrong type (with any refused values in the same message).
 * @throws {RangeError} On a value out of range, or two SAEs saving to one folder.
 */
export function resolveRunnerConfig(
  raw: Record<string, unknown>,
  where: string,
  hookWidth: (hook: string) => number,
): ResolvedRun {
  const problems: Problem[] = [];
  const notices: string[] = [];
  const run = normalise(expandSweep(raw, where), "", RUNNER_DEFAULTS, problems, notices);
  const entries = Array.isArray(run.saes) && run.saes.length > 0 ? run.saes : [{}];
  const owns = entries.map((entry, i) =>
    normalise(entry as Record<string, unknown>, `saes[${i}] `, { ...run, saes: [] }, problems, notices)
  );
  if (problems.length > 0) {
    const kind = problems.some((p) => p.type) ? TypeError : RangeError;
    throw new kind(`${where}: ${problems.map((p) => p.text).join("; ")}`);
  }
  const saes = owns.map((own, i) => {
    const d_in = own.d_in || hookWidth(own.hook_name);
    const d_sae = own.d_sae || Math.round(d_in * own.expansion_factor);
    const sae = { ...own, d_in, d_sae };
    checkRanges(sae, entries.length > 1 ? `${where} saes[${i}]` : where);
    return sae;
  });
  checkMemory(run, saes, where);
  const resolved = { run: { ...run, ...saes[0], saes: run.saes }, saes, notices: [...new Set(notices)] };
  outputFolders(resolved, where);
  return resolved;
}

/** Bytes of the activations a run holds: the mixing buffer and a batch being served, f32, every hook. */
function activationBytes(run: RunnerConfig, saes: ResolvedRun["saes"]): number {
  const widths = new Map(saes.map((s) => [s.hook_name, s.d_in]));
  const bytesPerToken = 4 * [...widths.values()].reduce((a, b) => a + b, 0);
  const bufferTokens = run.n_batches_in_buffer * run.store_batch_size_prompts * run.context_size;
  return (bufferTokens + 2 * run.train_batch_size_tokens) * bytesPerToken;
}

/** Refuses a run whose activations (the mixing buffer and a batch, f32, every hook) exceed the machine's memory. */
function checkMemory(run: RunnerConfig, saes: ResolvedRun["saes"], where: string): void {
  const total = systemMemoryBytes();
  if (total === undefined) return;
  const need = activationBytes(run, saes);
  if (need > total) {
    const bufferTokens = run.n_batches_in_buffer * run.store_batch_size_prompts * run.context_size;
    const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;
    throw new RangeError(
      `${where}: a batch of train_batch_size_tokens ${run.train_batch_size_tokens} and a mixing buffer of n_batches_in_buffer × store_batch_size_prompts × context_size ${bufferTokens} tokens need ${
        gib(need)
      } of activations, more than this machine's ${gib(total)}: lower them`,
    );
  }
}

/**
 * [batch, d_sae] float tensors a CPU step holds at its peak, at most (measured at 4096 × 24576: TopK 4, standard 6,
 * gated 10; AuxK and ghost grads add about 12 once latents die).
 */
const CPU_STEP_WIDE_TENSORS = 16;

/**
 * Refuses a run on the cpu device whose steps would not fit in the machine's memory: the activations, each SAE's
 * parameters, gradients and Adam moments, and each SAE's step (the whole batch runs as one graph, whose peak its
 * session keeps): its [batch, d_sae] tensors and, for the TopK family, five [batch × k, d_in] kept-latent tensors: three
 * in the graph, and the two lists of gradient rows the host sums (kept between steps).
 *
 * @example
 * ```ts ignore
 * checkCpuStepMemory(resolved, "config"); // before creating the trainers
 * ```
 *
 * @param resolved The run.
 * @param where The settings' source, for the message.
 * @throws {RangeError} Naming the fields to lower, when it does not fit.
 */
export function checkCpuStepMemory(resolved: ResolvedRun, where: string): void {
  const total = systemMemoryBytes();
  if (total === undefined) return;
  const { run, saes } = resolved;
  const batch = run.train_batch_size_tokens;
  const step = (s: ResolvedRun["saes"][number]) =>
    4 * batch *
    (CPU_STEP_WIDE_TENSORS * s.d_sae + (selectsByRank(s.architecture) ? 5 * s.k * s.d_in : 0));
  const need = activationBytes(run, saes) + saes.reduce((n, s) => n + 24 * 2 * s.d_in * s.d_sae + step(s), 0);
  if (need > total) {
    const widest = Math.max(...saes.map((s) => s.d_sae));
    const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;
    throw new RangeError(
      `${where}: training on the cpu device with train_batch_size_tokens ${batch} and d_sae ${widest} needs about ${
        gib(need)
      } for the activations, the parameters, Adam's moments and each step's tensors, more than this machine's ${
        gib(total)
      }: lower train_batch_size_tokens or d_sae, or train on webgpu`,
    );
  }
}

/** A field a config cannot have: what to say, and whether it is of the wrong kind (a TypeError) or value. */
interface Problem {
  text: string;
  type: boolean;
}

/** Every name a config may use: the settings, SAELens's other fields and the aliases read here. */
const KNOWN_NAMES = [
  ...Object.keys(RUNNER_DEFAULTS),
  ...Object.keys(SAELENS_ONLY_FIELDS),
  "sae",
  "activation_fn_kwargs",
];

function normalise(
  raw: Record<string, unknown>,
  prefix: string,
  base: RunnerConfig,
  problems: Problem[],
  notices: string[],
): RunnerConfig {
  const flat: Record<string, unknown> = { ...raw };
  if (typeof flat.sae === "object" && flat.sae !== null) Object.assign(flat, flat.sae), delete flat.sae;
  const kwargs = flat.activation_fn_kwargs;
  if (typeof kwargs === "object" && kwargs !== null && "k" in kwargs) flat.k ??= (kwargs as { k: unknown }).k;
  delete flat.activation_fn_kwargs;
  if (typeof flat.activation_fn === "string" && flat.activation_fn !== "" && flat.architecture === undefined) {
    const arch = ARCH_ALIASES[flat.activation_fn];
    if (arch) flat.architecture = arch;
    else {problems.push({
        text: `${prefix}activation_fn is "${flat.activation_fn}": expected relu or topk`,
        type: false,
      });}
  }
  // older names: the value goes to the setting, unless the config also sets that
  for (const [key, field] of Object.entries(SAELENS_ONLY_FIELDS)) {
    if (field.means && key in flat && !(field.means in flat)) flat[field.means] = flat[key];
  }
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(flat)) {
    // SAELens's null means its default here
    if (value === undefined || (value === null && NULL_MEANS_DEFAULT.has(key))) continue;
    const saeLens = SAELENS_ONLY_FIELDS[key];
    if (saeLens) {
      if (saeLens.accepts && !saeLens.accepts(value)) {
        problems.push({
          text: `${prefix}field ${key} is ${
            JSON.stringify(value)
          }, which this trainer does not implement (${saeLens.note})`,
          type: false,
        });
      } else if (saeLens.notice?.(value)) {
        notices.push(`${key} ${JSON.stringify(value)} accepted: ${saeLens.note}`);
      }
      continue;
    }
    if (!(key in RUNNER_DEFAULTS)) {
      const near = closeMatches(key, KNOWN_NAMES);
      problems.push({
        text: `${prefix}field ${key} is not a training setting here (did you mean ${near.join(" or ")}?)`,
        type: true,
      });
      continue;
    }
    const expected = RUNNER_DEFAULTS[key as keyof RunnerConfig];
    const kind = Array.isArray(expected) ? "array" : typeof expected;
    const actual = Array.isArray(value) ? "array" : value === null ? "null" : typeof value;
    if (kind !== actual || (kind === "number" && !Number.isFinite(value))) {
      const noun = kind === "array" ? "list" : kind === "object" ? "JSON object" : kind;
      problems.push({ text: `${prefix}field ${key} is ${JSON.stringify(value)}: expected a ${noun}`, type: true });
      continue;
    }
    if (kind === "array" && key !== "saes" && !(value as unknown[]).every((v) => Number.isFinite(v))) {
      problems.push({
        text: `${prefix}field ${key} is ${JSON.stringify(value)}: expected a list of numbers`,
        type: true,
      });
      continue;
    }
    const aliases = (RUNNER_SETTINGS as Record<string, Setting<unknown> | undefined>)[key]?.aliases;
    const alias = typeof value === "string" ? value.toLowerCase() : undefined;
    if (aliases && alias !== undefined && (alias in aliases || alias !== value)) {
      const meant = aliases[alias] ?? alias;
      if (meant !== value) notices.push(`${key} "${value}" read as "${meant}"`);
      out[key] = meant;
      continue;
    }
    if (key === "device" && typeof value === "string" && !(DEVICES as readonly string[]).includes(value)) {
      const device = trainingDevice(value);
      if (device) notices.push(`device "${value}" read as ${device} (webgpu on a hardware GPU, else cpu)`);
    }
    out[key] = value;
  }
  return out as unknown as RunnerConfig;
}

function checkRanges(cfg: RunnerConfig & SaeTrainingConfig, where: string): void {
  for (const [key, s] of Object.entries(RUNNER_SETTINGS) as [keyof RunnerConfig, Setting<unknown>][]) {
    const expected = s.check?.(cfg[key]);
    if (expected) throw new RangeError(`${where}: field ${key} is ${JSON.stringify(cfg[key])}: expected ${expected}`);
  }
  for (const key of ["d_in", "d_sae"] as const) {
    if (!(Number.isInteger(cfg[key]) && cfg[key] >= 1)) {
      throw new RangeError(`${where}: field ${key} is ${cfg[key]}: expected a positive integer`);
    }
  }
  if (cfg.training_tokens < cfg.train_batch_size_tokens) {
    throw new RangeError(
      `${where}: training_tokens ${cfg.training_tokens} is less than one batch of train_batch_size_tokens ${cfg.train_batch_size_tokens}: the run would take no step`,
    );
  }
  if (cfg.lr_warm_up_steps + cfg.lr_decay_steps > Math.floor(cfg.training_tokens / cfg.train_batch_size_tokens)) {
    throw new RangeError(`${where}: lr_warm_up_steps + lr_decay_steps exceed the run's steps`);
  }
  if (!cfg.scale_sparsity_penalty_by_decoder_norm && cfg.architecture !== "standard") {
    throw new RangeError(
      `${where}: scale_sparsity_penalty_by_decoder_norm false is implemented for the standard architecture only: current architecture is ${cfg.architecture}`,
    );
  }
  if (cfg.lp_norm !== 1 && cfg.architecture !== "standard") {
    throw new RangeError(
      `${where}: lp_norm ${cfg.lp_norm} is implemented for the standard architecture only (the others' sparsity terms take no p): current architecture is ${cfg.architecture}`,
    );
  }
  levelWidths(cfg);
}
