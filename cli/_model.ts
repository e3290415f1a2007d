/**
 * The model flags `sae run` and `sae generate` share, and loading the model they name.
 *
 * @module
 */

import { HookedTransformer } from "../core/lm/hooked_transformer.ts";
import type { Backend } from "../core/lm/ort_backend.ts";
import { NO_PROCESSING } from "../core/lm/process_weights.ts";
import { formatSeconds, logLine } from "./_progress.ts";
import { type Flags, UsageError } from "./_usage.ts";

/** `--model`, `--backend`, `--no-processing`. */
export const MODEL_FLAGS = {
  model: { type: "string" },
  backend: { type: "string" },
  "no-processing": { type: "boolean" },
} as const satisfies Flags;

/** Help lines of {@linkcode MODEL_FLAGS}. */
export const MODEL_HELP =
  `  --model M        model folder (Hugging Face layout), Hub id or TransformerLens name of a GPT-2, Llama, Mistral,
                   Qwen 2/3, Gemma 1/2/3 or GPT-NeoX (Pythia) model: gpt2-small, gemma-2-2b, meta-llama/Llama-3.1-8B,
                   pythia-70m-deduped, qwen3-0.6b
  --backend B      ONNX Runtime backend: auto (default: node where --allow-ffi is granted, else web), node, web, webgpu
  --no-processing  skip TransformerLens's weight processing (from_pretrained_no_processing)`;

const BACKENDS = ["auto", "node", "web", "webgpu"];

/**
 * The backend `--backend` names (auto when absent).
 *
 * @throws {UsageError} When it is not one of {@linkcode BACKENDS}.
 */
export function parseBackend(value: string | undefined): Backend | "auto" {
  const backend = value ?? "auto";
  if (!BACKENDS.includes(backend)) {
    throw new UsageError(`--backend must be one of ${BACKENDS.join(", ")}: current value is ${backend}`);
  }
  return backend as Backend | "auto";
}

/**
 * Loads the model the flags name. With `verb`, and stderr a log (not a terminal), a start line names the
 * model before the load and a second line the ONNX Runtime backend it runs on.
 *
 * @example
 * ```ts ignore
 * const model = await loadModel({ model: "gpt2" }, "generate");
 * ```
 *
 * @throws {UsageError} When --model is missing or --backend unknown.
 */
export async function loadModel(
  values: { model?: string; backend?: string; "no-processing"?: boolean },
  verb?: string,
): Promise<HookedTransformer> {
  if (!values.model) {
    throw new UsageError(
      "--model is required: a model folder, a Hub id or a TransformerLens name such as gpt2, gemma-2-2b or pythia-70m-deduped",
    );
  }
  const begun = performance.now();
  if (verb) logLine(`sae ${verb}: model ${values.model}; loading`);
  const model = await HookedTransformer.load(values.model, {
    backend: parseBackend(values.backend),
    processing: values["no-processing"] ? NO_PROCESSING : {},
  });
  if (verb) {
    logLine(
      `sae ${verb}: loaded in ${
        formatSeconds((performance.now() - begun) / 1000)
      }; device: ONNX Runtime ${model.backend}; model ${values.model} (${model.cfg.family}, ${model.cfg.nLayers} layers, ${model.cfg.dModel} wide, ${model.weights.embed.dtype})`,
    );
  }
  return model;
}

/**
 * The text argument of a verb that takes exactly one.
 *
 * @throws {UsageError} When there is not exactly one, or it is empty.
 */
export function oneText(positionals: string[], verb: string): string {
  if (positionals.length !== 1) {
    throw new UsageError(`sae ${verb} takes one TEXT argument (quote it): got ${positionals.length}`);
  }
  return nonEmptyTexts(positionals, verb)[0];
}

/**
 * The text arguments, none empty: an empty text would run on BOS alone and report on nothing.
 *
 * @throws {UsageError} Naming the first empty text.
 */
export function nonEmptyTexts(texts: string[], verb: string): string[] {
  const empty = texts.indexOf("");
  if (empty >= 0) {
    throw new UsageError(
      `sae ${verb}: TEXT${texts.length > 1 ? ` ${empty + 1}` : ""} is empty: give a text of at least one token`,
    );
  }
  return texts;
}
