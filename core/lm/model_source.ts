/**
 * Where a model comes from: a local Hugging Face folder, or a Hub id (TransformerLens's short names such as
 * `gpt2-small`, `gemma-2-2b` or `pythia-70m-deduped` included) downloaded into the Hub cache: config.json, the weights
 * (one `model.safetensors`, or the shards `model.safetensors.index.json` lists) and the tokenizer files.
 *
 * @module
 */

import { dirname } from "node:path";
import { readJson } from "../io/read_json.ts";
import { hfHubDownload } from "../hub/hf_hub.ts";
import { EntryNotFoundError, HubError } from "../hub/hub_error.ts";
import type { HubOptions } from "../hub/hub_settings.ts";
import { MODEL_ALIASES } from "./model_aliases.ts";

export { MODEL_ALIASES };

/** A model's config.json is a few KiB: a Hub announcing more than this is not believed. */
const CONFIG_LIMIT = 2 ** 20;
/** A shard index is a few hundred KiB. */
const INDEX_LIMIT = 64 * 2 ** 20;

/**
 * The Hub repo of a model name, or undefined when it is neither a short name from {@linkcode MODEL_ALIASES} (matched
 * case-insensitively, as TransformerLens does) nor `org/name` (then the name itself).
 *
 * @example A registry release's model
 * ```ts
 * import { findModelRepo } from "./model_source.ts";
 * console.log(findModelRepo("gemma-3-1b"), findModelRepo("meta-llama/Llama-3.1-8B"), findModelRepo("nope")); // google/gemma-3-1b-pt meta-llama/Llama-3.1-8B undefined
 * ```
 *
 * @param name Alias or repo id.
 * @returns The repo id, or undefined.
 */
export function findModelRepo(name: string): string | undefined {
  const alias = MODEL_ALIASES[name.toLowerCase()];
  if (alias) return alias;
  return /^[\w.-]+\/[\w.-]+$/.test(name) ? name : undefined;
}

/**
 * The Hub repo of a model name: a short name from {@linkcode MODEL_ALIASES} (matched case-insensitively, as
 * TransformerLens does), or `org/name` as given.
 *
 * @example
 * ```ts
 * import { modelRepoId } from "./model_source.ts";
 * console.log(modelRepoId("gpt2-small"), modelRepoId("Gemma-2-2B")); // "openai-community/gpt2" "google/gemma-2-2b"
 * ```
 *
 * @param name Alias or repo id.
 * @returns The repo id.
 * @throws {RangeError} When the name is neither.
 */
export function modelRepoId(name: string): string {
  const repo = findModelRepo(name);
  if (repo !== undefined) return repo;
  throw new RangeError(
    `Unknown model "${name}": give a folder, a Hub repo id (org/name) or a TransformerLens name such as gpt2-small, ` +
      "gemma-2-2b, pythia-70m-deduped, qwen3-0.6b or mistral-7b",
  );
}

/** Downloads `file`, or returns undefined when the repo has no such file. */
async function optional(repo: string, file: string, options: HubOptions): Promise<string | undefined> {
  try {
    return await hfHubDownload(repo, file, options);
  } catch (e) {
    if (e instanceof EntryNotFoundError) return undefined;
    throw e;
  }
}

/**
 * A local folder holding the model: `source` itself when it is a folder, else the Hub snapshot folder after
 * downloading config.json, the weights (single file or shards) and the tokenizer files. Gated repos (Llama, Gemma)
 * need a token (`HF_TOKEN` or the token file).
 *
 * @example
 * ```ts ignore
 * import { resolveModelDir } from "./model_source.ts";
 * const dir = await resolveModelDir("gemma-2-2b"); // ~/.cache/huggingface/hub/models--google--gemma-2-2b/snapshots/...
 * ```
 *
 * @param source Folder, alias or repo id.
 * @param options Hub settings.
 * @returns The folder.
 * @throws {HubError} When a required file cannot be downloaded.
 * @throws {TypeError} When `source` names a file or device, not a folder.
 */
export async function resolveModelDir(source: string, options: HubOptions = {}): Promise<string> {
  const info = await Deno.stat(source).catch((e) => {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  });
  if (info?.isDirectory) return source;
  if (info) {
    throw new TypeError(
      `${source} is ${
        info.isFile ? "a file" : "not a folder"
      }: expected a model folder (config.json, the safetensors weights, the tokenizer) or a Hub model id`,
    );
  }
  if (source.startsWith(".") || source.startsWith("/") || source.includes("\\")) {
    throw new Deno.errors.NotFound(`${source} does not exist: expected a model folder or a Hub model id`);
  }
  const repo = modelRepoId(source);
  const config = await hfHubDownload(repo, "config.json", { ...options, maxSize: CONFIG_LIMIT });
  const single = await optional(repo, "model.safetensors", options);
  if (single === undefined) {
    const index = await optional(repo, "model.safetensors.index.json", { ...options, maxSize: INDEX_LIMIT });
    if (index === undefined) {
      throw new EntryNotFoundError(
        `${repo} has neither model.safetensors nor model.safetensors.index.json: sae reads safetensors weights only`,
      );
    }
    const map = (await readJson(index, INDEX_LIMIT) as { weight_map?: Record<string, unknown> }).weight_map ?? {};
    for (const shard of new Set(Object.values(map))) {
      if (typeof shard !== "string") {
        throw new HubError(`${repo}/model.safetensors.index.json maps a tensor to ${JSON.stringify(shard)}`);
      }
      await hfHubDownload(repo, shard, options);
    }
  }
  await optional(repo, "generation_config.json", { ...options, maxSize: CONFIG_LIMIT });
  if (await optional(repo, "tokenizer.json", options) !== undefined) {
    await optional(repo, "tokenizer_config.json", options);
  } else {
    // GPT-2's original repo has only vocab.json + merges.txt
    await hfHubDownload(repo, "vocab.json", options);
    await hfHubDownload(repo, "merges.txt", options);
  }
  return dirname(config);
}
