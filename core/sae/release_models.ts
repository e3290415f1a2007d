/**
 * The Hub repos of the models SAELens's registry names by a TransformerLens alias (`gemma-2-2b`, `qwen3-4b`):
 * the model a release's SAEs read, for `sae releases` and for loading that model by its registry name.
 *
 * @module
 */

/** TransformerLens's aliases of the registry's models and the Hub repos that hold them. */
export const RELEASE_MODEL_REPOS: Readonly<Record<string, string>> = {
  "gpt2-small": "openai-community/gpt2",
  "gemma-2b": "google/gemma-2b",
  "gemma-2b-it": "google/gemma-2b-it",
  "gemma-2-2b": "google/gemma-2-2b",
  "gemma-2-9b": "google/gemma-2-9b",
  "gemma-2-9b-it": "google/gemma-2-9b-it",
  "gemma-2-27b": "google/gemma-2-27b",
  // the release's SAEs were trained on the pretrained (not instruction-tuned) 1B model its links name
  "gemma-3-1b": "google/gemma-3-1b-pt",
  "mistral-7b": "mistralai/Mistral-7B-v0.1",
  "pythia-70m-deduped": "EleutherAI/pythia-70m-deduped",
  "qwen3-0.6b": "Qwen/Qwen3-0.6B",
  "qwen3-1.7b": "Qwen/Qwen3-1.7B",
  "qwen3-4b": "Qwen/Qwen3-4B",
  "qwen3-8b": "Qwen/Qwen3-8B",
  "qwen3-14b": "Qwen/Qwen3-14B",
};

/**
 * The Hub repo of a registry model: its alias's repo, or the name itself when it is already `org/name`.
 *
 * @example
 * ```ts
 * import { releaseModelRepo } from "./release_models.ts";
 * console.log(releaseModelRepo("gemma-2-2b"), releaseModelRepo("meta-llama/Llama-3.1-8B")); // google/gemma-2-2b meta-llama/Llama-3.1-8B
 * ```
 *
 * @param model The release's `model`.
 * @returns The repo id, or null for a name that is neither.
 */
export function releaseModelRepo(model: string): string | null {
  if (Object.hasOwn(RELEASE_MODEL_REPOS, model)) return RELEASE_MODEL_REPOS[model];
  return /^[\w.-]+\/[\w.-]+$/.test(model) ? model : null;
}
