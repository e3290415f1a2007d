/**
 * The dataset flags `sae eval` and `sae dashboard` share, and opening the rows they name against the
 * model (context size checked before any long work).
 *
 * @module
 */

import { SOTU } from "../core/data/documents.ts";
import { openTokenDataset, type TokenDataset } from "../core/data/token_dataset.ts";
import type { HookedTransformer } from "../core/lm/hooked_transformer.ts";
import type { SAE } from "../core/sae/sae.ts";
import { type Flags, positiveInt } from "./_usage.ts";

/** `--dataset`, `--context-size`, `--text-column`, `--split`. */
export const DATASET_FLAGS = {
  dataset: { type: "string" },
  "context-size": { type: "string" },
  "text-column": { type: "string" },
  split: { type: "string" },
} as const satisfies Flags;

/** Help lines of {@linkcode DATASET_FLAGS}. */
export const DATASET_HELP =
  `  --dataset D      a folder of .txt files, a .txt (one document per line), .jsonl or .parquet file, a
                   .safetensors file whose "eval_tokens" (else "tokens") tensor [rows, ctx] is used as is, a Hugging
                   Face dataset id (org/name[@revision]), or "${SOTU}", the State of the Union addresses
                   (default). Documents are joined with BOS and cut into rows that start with BOS.
  --context-size C tokens per row (default: the SAE's context_size, at most the model's n_ctx)
  --text-column T  the text field or column (default "text"; "tokens"/"input_ids" are read as token ids)
  --split S        split of a Hugging Face dataset (default "train")`;

/**
 * Opens `--dataset` as rows for the model and SAE.
 *
 * @throws {UsageError} When --context-size is not a positive integer.
 * @throws {RangeError} When rows would be longer than the model's context.
 * @throws {TypeError} When the dataset is missing, malformed or empty.
 */
export async function openDataset(
  values: { dataset?: string; "context-size"?: string; "text-column"?: string; split?: string },
  model: HookedTransformer,
  sae: SAE,
): Promise<TokenDataset> {
  const saeContext = sae.cfg.metadata.context_size;
  return await openTokenDataset(values.dataset ?? SOTU, {
    tokenizer: model,
    contextSize: positiveInt(values["context-size"], "--context-size"),
    defaultContextSize: Math.min(typeof saeContext === "number" ? saeContext : 128, model.cfg.nCtx),
    bos: sae.cfg.metadata.prepend_bos === false ? undefined : model.tokenizer.bosTokenId ?? undefined,
    maxContext: model.cfg.nCtx,
    vocabSize: model.cfg.dVocab,
    ...(values["text-column"] ? { textColumn: values["text-column"] } : {}),
    ...(values.split ? { split: values.split } : {}),
  });
}
