/**
 * The model families, registered by the `model_type` of the Hugging Face configs they read.
 *
 * @module
 */

import type { ModelFamily } from "./model_family.ts";
import { gemmaFamily } from "./families/gemma.ts";
import { gemma2Family } from "./families/gemma2.ts";
import { gemma3Family } from "./families/gemma3.ts";
import { gpt2Family } from "./families/gpt2.ts";
import { gptNeoxFamily } from "./families/gpt_neox.ts";
import { llamaFamily } from "./families/llama.ts";
import { qwen2Family } from "./families/qwen2.ts";
import { qwen3Family } from "./families/qwen3.ts";

/** Every family, by name. */
export const MODEL_FAMILIES: ReadonlyMap<string, ModelFamily> = new Map(
  [gpt2Family, llamaFamily, qwen2Family, qwen3Family, gemmaFamily, gemma2Family, gemma3Family, gptNeoxFamily].map((
    f,
  ) => [f.name, f]),
);

const BY_MODEL_TYPE = new Map<string, ModelFamily>();
for (const family of MODEL_FAMILIES.values()) {
  for (const type of family.modelTypes) {
    if (BY_MODEL_TYPE.has(type)) throw new Error(`model_type ${type} is registered twice`);
    BY_MODEL_TYPE.set(type, family);
  }
}

/**
 * The family that reads a config's `model_type`.
 *
 * @example
 * ```ts
 * import { familyOf } from "./model_families.ts";
 * console.log(familyOf("gemma2", "config.json").name, familyOf("mistral", "config.json").name); // gemma2 llama
 * ```
 *
 * @param modelType The config's `model_type` (GPT-2 configs may omit it).
 * @param path The config, for the error.
 * @returns The family.
 * @throws {TypeError} When no family reads it.
 */
export function familyOf(modelType: unknown, path: string): ModelFamily {
  const family = BY_MODEL_TYPE.get(modelType === undefined ? "gpt2" : String(modelType));
  if (!family) {
    throw new TypeError(
      `${path} has model_type ${JSON.stringify(modelType)}: sae runs ${[...BY_MODEL_TYPE.keys()].join(", ")}`,
    );
  }
  return family;
}
