/**
 * Where a model comes from: a local Hugging Face folder, or a Hub id (TransformerLens aliases such as
 * `gpt2-small` included) downloaded into the Hub cache.
 *
 * @module
 */

import { dirname } from "node:path";
import { hfHubDownload } from "../hub/hf_hub.ts";
import { EntryNotFoundError, HubError } from "../hub/hub_error.ts";
import type { HubOptions } from "../hub/hub_settings.ts";

/** A model's config.json is a few KiB: a Hub announcing more than this is not believed. */
const CONFIG_LIMIT = 2 ** 20;

/** TransformerLens's names for the GPT-2 family and the Hub repos that hold them. */
export const MODEL_ALIASES: Readonly<Record<string, string>> = {
  "gpt2": "openai-community/gpt2",
  "gpt2-small": "openai-community/gpt2",
  "gpt2-medium": "openai-community/gpt2-medium",
  "gpt2-large": "openai-community/gpt2-large",
  "gpt2-xl": "openai-community/gpt2-xl",
  "distilgpt2": "distilbert/distilgpt2",
};

/**
 * The Hub repo of a model name: an alias from {@linkcode MODEL_ALIASES}, or `org/name` as given.
 *
 * @example
 * ```ts
 * import { modelRepoId } from "./model_source.ts";
 * console.log(modelRepoId("gpt2-small")); // "openai-community/gpt2"
 * ```
 *
 * @param name Alias or repo id.
 * @returns The repo id.
 * @throws {RangeError} When the name is neither.
 */
export function modelRepoId(name: string): string {
  const alias = MODEL_ALIASES[name];
  if (alias) return alias;
  if (/^[\w.-]+\/[\w.-]+$/.test(name)) return name;
  throw new RangeError(
    `Unknown model "${name}": give a folder, a Hub repo id (org/name) or one of ${
      Object.keys(MODEL_ALIASES).join(", ")
    }`,
  );
}

/**
 * A local folder holding the model: `source` itself when it is a folder, else the Hub snapshot folder
 * after downloading config.json, model.safetensors and the tokenizer files.
 *
 * @example
 * ```ts ignore
 * import { resolveModelDir } from "./model_source.ts";
 * const dir = await resolveModelDir("gpt2"); // ~/.cache/huggingface/hub/models--openai-community--gpt2/snapshots/...
 * ```
 *
 * @param source Folder, alias or repo id.
 * @param options Hub settings.
 * @returns The folder.
 * @throws {HubError} When a required file cannot be downloaded.
 */
export async function resolveModelDir(source: string, options: HubOptions = {}): Promise<string> {
  try {
    if ((await Deno.stat(source)).isDirectory) return source;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  if (source.startsWith(".") || source.startsWith("/") || source.includes("\\")) {
    throw new Deno.errors.NotFound(`${source} does not exist: expected a model folder or a Hub model id`);
  }
  const repo = modelRepoId(source);
  const config = await hfHubDownload(repo, "config.json", { ...options, maxSize: CONFIG_LIMIT });
  await hfHubDownload(repo, "model.safetensors", options);
  try {
    await hfHubDownload(repo, "tokenizer.json", options);
  } catch (e) {
    if (!(e instanceof HubError)) throw e;
    // GPT-2's original repo has only vocab.json + merges.txt; with the Hub down, a cached pair still serves
    try {
      await hfHubDownload(repo, "vocab.json", options);
      await hfHubDownload(repo, "merges.txt", options);
    } catch (fallback) {
      throw e instanceof EntryNotFoundError ? fallback : e;
    }
  }
  return dirname(config);
}
