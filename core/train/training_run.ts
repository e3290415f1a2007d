/**
 * A training run's inputs from its settings: the model (or cached activations), the dataset's token
 * rows, and the activation source feeding every hook of the run from one forward pass.
 *
 * @module
 */

import { isAbsolute, resolve } from "node:path";
import { openTokenDataset } from "../data/token_dataset.ts";
import { embeddedModel } from "../embedded.ts";
import { HookedTransformer } from "../lm/hooked_transformer.ts";
import { checkHookName, hookWidth, stopLayerFor } from "../lm/hook_points.ts";
import type { SaeMetadata } from "../sae/config.ts";
import type { ActivationSource } from "./activation_store.ts";
import { openActivationCache } from "./cached_activations.ts";
import { processingFromKwargs } from "../lm/process_weights.ts";
import { type ResolvedRun, resolveRunnerConfig } from "./runner_config.ts";
import { RUNNER_DEFAULTS } from "./runner_settings.ts";

/** Everything a run reads, opened. */
export interface TrainingRun {
  /** The settings, defaults filled in. */
  resolved: ResolvedRun;
  /** Distinct hooks of the run's SAEs, in the order the source returns them. */
  hooks: string[];
  /** Width of each hook in `hooks`. */
  widths: number[];
  /** Token rows from the start of the dataset (each call restarts). */
  rows: () => AsyncIterator<number[]>;
  /** Activations of a batch of rows, one array per hook. */
  source: ActivationSource;
  /** The dataset as cfg.json names it. */
  datasetLabel: string;
  /** cfg.json metadata of each SAE. */
  metadata: SaeMetadata[];
  /** The model, when the run reads one (not with cached activations). */
  model?: HookedTransformer;
  /** Releases the model. */
  dispose(): Promise<void>;
}

/**
 * A model id or path as cfg.json should keep it: a local folder as an absolute path (so the SAE finds its model from
 * any folder), an id as given, the embedded model by its name.
 */
async function portableModelName(name: string): Promise<string> {
  if (name === "") return "gpt2-sotu-tiny";
  const isDir = (await Deno.stat(name).catch(() => undefined))?.isDirectory;
  return isDir && !isAbsolute(name) ? resolve(name) : name;
}

/**
 * Opens what a run reads: the cached activations (`cached_activations_path`) or the model and the
 * dataset, and checks the settings against them.
 *
 * @example
 * ```ts ignore
 * const run = await openTrainingRun({ d_sae: 1024, architecture: "topk", k: 16 }, "flags");
 * try {
 *   console.log(run.hooks, run.datasetLabel); // ["blocks.2.hook_resid_pre"] "sotu"
 * } finally {
 *   await run.dispose();
 * }
 * ```
 *
 * @param raw Settings under SAELens's names (a parsed config file, flags).
 * @param where The file or "flags", for error messages.
 * @returns The opened run.
 * @throws {TypeError} On settings of the wrong type; {RangeError} on values out of range or hooks the model lacks.
 */
export async function openTrainingRun(raw: Record<string, unknown>, where: string): Promise<TrainingRun> {
  const cachePath = typeof raw.cached_activations_path === "string" ? raw.cached_activations_path : "";
  const cache = cachePath ? await openActivationCache(cachePath) : undefined;
  const modelName = typeof raw.model_name === "string" ? raw.model_name : "";
  // checked with the other settings below; the model is loaded first because d_in may come from it
  const kwargs = typeof raw.model_from_pretrained_kwargs === "object" && raw.model_from_pretrained_kwargs !== null
    ? raw.model_from_pretrained_kwargs as Record<string, unknown>
    : RUNNER_DEFAULTS.model_from_pretrained_kwargs;
  const model = cache ? undefined : await HookedTransformer.load(modelName !== "" ? modelName : embeddedModel(), {
    processing: processingFromKwargs(kwargs),
  });
  try {
    const widthAt = (hook: string) => {
      if (cache) {
        const i = cache.info.hooks.indexOf(hook);
        if (i < 0) throw new RangeError(`${cachePath} caches ${cache.info.hooks.join(", ")}, not ${hook}`);
        return cache.info.widths[i];
      }
      checkHookName(hook, model!.cfg);
      const w = hookWidth(hook, model!.cfg);
      if (w === undefined) throw new RangeError(`${hook} has no fixed width per token: an SAE cannot read it`);
      return w;
    };
    const resolved = resolveRunnerConfig(raw, where, widthAt);
    const { run, saes } = resolved;
    for (const [i, s] of saes.entries()) {
      for (const field of ["model_name", "model_from_pretrained_kwargs", "dataset_path", "context_size"] as const) {
        if (JSON.stringify(s[field]) !== JSON.stringify(run[field])) {
          throw new TypeError(
            `${where}: saes[${i}] sets ${field} ${
              JSON.stringify(s[field])
            }: the SAEs of a run share one model and dataset, so set it for the run`,
          );
        }
      }
    }
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
        bos: run.prepend_bos ? m.tokenizer.bosTokenId ?? undefined : undefined,
        maxContext: m.cfg.nCtx,
        textColumn: run.text_column,
        vocabSize: m.cfg.dVocab,
      });
      datasetLabel = dataset.label;
      rows = () => dataset.rows();
      const stops = hooks.map(stopLayerFor);
      const stopAtLayer = stops.includes(undefined) ? undefined : Math.max(...(stops as number[]));
      source = async (batch) => {
        const { cache } = await m.runWithCache(batch, { names: hooks, stopAtLayer, returnType: "none" });
        return hooks.map((h) => cache.get(h)!.data);
      };
    }
    const names = await Promise.all(
      saes.map((s) => cache ? cache.info.model_name : portableModelName(s.model_name)),
    );
    return {
      resolved,
      hooks,
      widths: hooks.map(widthAt),
      rows,
      source,
      datasetLabel,
      metadata: saes.map((s, i) => ({
        model_name: names[i],
        hook_name: s.hook_name,
        hook_head_index: null,
        context_size: s.context_size,
        prepend_bos: s.prepend_bos,
        dataset_path: datasetLabel,
        model_from_pretrained_kwargs: s.model_from_pretrained_kwargs,
        trained_with: "sae",
      })),
      model,
      dispose: async () => await model?.dispose(),
    };
  } catch (error) {
    await model?.dispose();
    throw error;
  }
}
