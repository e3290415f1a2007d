/**
 * The SAE flags every text verb shares: `--sae` (a folder or RELEASE/SAE_ID, by default the embedded
 * SAE) and the model flags, the model defaulting to the one the SAE names.
 *
 * @module
 */

import { checkNeuronpediaId } from "../core/analysis/neuronpedia.ts";
import { loadSaeAndModel, type SaeAndModel, UnnamedModelError } from "../core/analysis/load_sae_and_model.ts";
import type { HookedTransformer } from "../core/lm/hooked_transformer.ts";
import { NO_PROCESSING } from "../core/lm/process_weights.ts";
import type { PulledSae } from "../core/sae/pretrained.ts";
import { type Device, DEVICES } from "../core/sae/device.ts";
import { MODEL_FLAGS, parseBackend } from "./_model.ts";
import { formatSeconds, logLine } from "./_progress.ts";
import { type Flags, listItems, UsageError, wholeNumber } from "./_usage.ts";

/** `--sae` and the model flags. */
export const SAE_FLAGS = {
  sae: { type: "string" },
  "neuronpedia-id": { type: "string" },
  device: { type: "string" },
  ...MODEL_FLAGS,
} as const satisfies Flags;

/** Help lines of {@linkcode SAE_FLAGS}. */
export const SAE_HELP =
  `  --sae S          SAE folder or RELEASE/SAE_ID, e.g. gpt2-small-res-jb/blocks.8.hook_resid_pre (default: the
                   embedded 1024-feature SAE on the embedded model's blocks.2.hook_resid_pre)
  --neuronpedia-id MODEL/SET
                   the SAE's Neuronpedia id, e.g. gpt2-small/8-res-jb, for links to its feature pages
                   (default: the cfg's metadata.neuronpedia_id; release SAEs carry theirs)
  --device D       where the SAE runs: auto (default: webgpu on a hardware GPU; cpu when WebGPU's only adapter
                   is a software fallback such as lavapipe, or there is none), webgpu (WGSL kernels), cpu
                   (ONNX Runtime's native kernels, onnxruntime-node, one thread per core)
  --model M        model folder or Hub id (default: the model the SAE's cfg.json names; gpt2-small is
                   openai-community/gpt2)
  --backend B      where the model runs, ONNX Runtime backend: auto (default: beside the SAE: webgpu when
                   the SAE runs on a hardware GPU, else node, the same native CPU engine as --device cpu, where
                   --allow-ffi is granted, else web), node, web, webgpu
  --no-processing  skip TransformerLens's weight processing (default: the processing the SAE was trained with)`;

/**
 * The device `--device` names (auto when absent).
 *
 * @example
 * ```ts
 * import { parseDevice } from "./_sae.ts";
 * console.log(parseDevice(undefined), parseDevice("cpu")); // auto cpu
 * ```
 *
 * @throws {UsageError} When it is not one of auto, webgpu, cpu.
 */
export function parseDevice(value: string | undefined): Device {
  const device = value ?? "auto";
  if (!(DEVICES as readonly string[]).includes(device)) {
    throw new UsageError(`--device must be one of ${DEVICES.join(", ")}: current value is ${device}`);
  }
  return device as Device;
}

/** An SAE, its model, and what `--sae` named. */
export interface LoadedSae extends SaeAndModel {
  /** What `--sae` named (or "embedded"). */
  saeLabel: string;
}

/**
 * Loads the SAE `--sae` names, then its model, and checks that the SAE's hook and width fit the model.
 *
 * @param values The flags.
 * @param pulled A registry SAE already downloaded, loaded from its folder in place of looking `values.sae` up
 * (which then only labels it). @default {none: `values.sae` is looked up}
 * @throws {UsageError} When --device or --backend is unknown or the SAE names no model and --model is not given.
 * @throws {TypeError} When the SAE does not fit the model.
 */
export async function loadSaeWithModel(
  values: {
    sae?: string;
    model?: string;
    device?: string;
    backend?: string;
    "no-processing"?: boolean;
    "neuronpedia-id"?: string;
  },
  pulled?: PulledSae,
): Promise<LoadedSae> {
  const device = parseDevice(values.device);
  const backend = parseBackend(values.backend);
  const neuronpediaId = values["neuronpedia-id"];
  if (neuronpediaId !== undefined) {
    try {
      checkNeuronpediaId(neuronpediaId);
    } catch (e) {
      throw new UsageError(`--neuronpedia-id ${(e as Error).message}`);
    }
  }
  try {
    const loaded = await loadSaeAndModel(pulled ?? values.sae, {
      model: values.model,
      device,
      backend,
      processing: values["no-processing"] ? NO_PROCESSING : undefined,
      neuronpediaId,
    });
    return { ...loaded, saeLabel: values.sae ?? "embedded" };
  } catch (e) {
    if (e instanceof UnnamedModelError) {
      throw new UsageError(`The SAE ${e.folder} does not name its model (metadata.model_name): pass --model`);
    }
    throw e;
  }
}

/** What a verb logs before loading: its name and the inputs beyond the SAE and model, e.g. the dataset. */
export interface StartInfo {
  /** The verb, e.g. "eval". */
  verb: string;
  /** More inputs to name, e.g. `{ dataset: "sotu" }`. */
  inputs?: Record<string, string>;
}

/**
 * Loads the SAE and model as {@linkcode loadSaeWithModel} does, runs `fn` on them and releases both,
 * whatever `fn` does. When stderr is a log (not a terminal), a start line names what runs before the
 * load, and a second line the devices (the SAE's, e.g. `cpu (onnxruntime-node, 2 threads)`, and the
 * model's ONNX Runtime backend) and what was loaded.
 *
 * @example
 * ```ts ignore
 * await withSaeAndModel({}, async ({ sae }) => sae.cfg.d_sae, { verb: "encode" });
 * ```
 *
 * @returns What `fn` returns (a verb's exit code).
 */
export async function withSaeAndModel<T>(
  values: Parameters<typeof loadSaeWithModel>[0],
  fn: (loaded: LoadedSae) => Promise<T>,
  start?: StartInfo,
): Promise<T> {
  const begun = performance.now();
  if (start) {
    const inputs = Object.entries(start.inputs ?? {}).map(([k, v]) => `, ${k} ${v}`).join("");
    logLine(
      `sae ${start.verb}: SAE ${values.sae ?? "embedded"}, model ${
        values.model ?? "named by the SAE"
      }${inputs}; loading`,
    );
  }
  const loaded = await loadSaeWithModel(values);
  if (start) {
    const { sae, model } = loaded;
    logLine(
      `sae ${start.verb}: loaded in ${
        formatSeconds((performance.now() - begun) / 1000)
      }; device: ${sae.deviceDescription} (SAE), ONNX Runtime ${model.backend} (model); ${sae.cfg.architecture} SAE ${sae.cfg.d_in} → ${sae.cfg.d_sae} at ${sae.cfg.metadata.hook_name}, model ${
        values.model ?? sae.cfg.metadata.model_name
      } (${model.cfg.nLayers} layers)`,
    );
  }
  try {
    return await fn(loaded);
  } finally {
    loaded.sae.destroy();
    await loaded.model.dispose();
  }
}

/**
 * Parses a feature index, checked against the SAE's width.
 *
 * @throws {UsageError} When it is not an integer in 0..d_sae − 1.
 */
export function featureIndex(value: string | undefined, dSae: number, what = "feature index"): number {
  if (value === undefined) throw new UsageError(`The ${what} is missing: expected a non-negative integer`);
  const n = wholeNumber(value, `The ${what}`);
  if (n >= dSae) throw new UsageError(`The ${what} ${n} is outside the SAE's ${dSae} features (0..${dSae - 1})`);
  return n;
}

/**
 * The token id of `--target`, which must be one token.
 *
 * @throws {UsageError} When it is not a single token (saying what it tokenizes to).
 */
export function targetToken(model: HookedTransformer, target: string): number {
  try {
    return model.toSingleToken(target);
  } catch (e) {
    throw new UsageError(`--target ${(e as Error).message}`);
  }
}

/**
 * Parses a feature list such as `0-9,14057`, each index checked against the SAE's width.
 *
 * @throws {UsageError} When an entry is malformed, a range is reversed or an index is ≥ d_sae.
 */
export function featureList(spec: string, dSae: number, flag = "--features"): number[] {
  const out: number[] = [];
  for (const part of listItems(spec, flag)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new UsageError(`${flag} ${spec}: "${part}" is neither an index nor a range such as 0-9`);
    const from = Number(m[1]), to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw new UsageError(`${flag} ${spec}: the range ${part} runs backwards`);
    if (to >= dSae) {
      throw new UsageError(`${flag} ${spec}: feature ${to} is outside the SAE's ${dSae} features (0..${dSae - 1})`);
    }
    for (let i = from; i <= to; i++) if (!out.includes(i)) out.push(i);
  }
  if (out.length === 0) throw new UsageError(`${flag} names no feature`);
  return out;
}
