/**
 * Token rows for the model: documents from any {@linkcode resolveDocuments} source, tokenized and cut
 * into `context_size` rows that start with BOS, or the rows of a safetensors `tokens` / `eval_tokens`
 * tensor [rows, ctx] used as they are. Rows stream: the corpus is never held whole.
 *
 * @module
 */

import { extname } from "node:path";
import { readSafetensors, toIntegers } from "../io/safetensors.ts";
import { type DocumentOptions, resolveDocuments } from "./documents.ts";
import { concatAndChunk } from "./token_rows.ts";

/** Rows of token ids, checked to hold at least one row. */
export interface TokenDataset {
  /** What the rows come from. */
  label: string;
  /** Tokens per row. */
  contextSize: number;
  /** The rows, in order (a new pass each call). */
  rows(): AsyncGenerator<number[]>;
}

/** Options of {@linkcode openTokenDataset}. */
export interface TokenDatasetOptions extends DocumentOptions {
  /** Turns text into token ids (without BOS): a `HookedTransformer` or `ModelTokenizer`. */
  tokenizer: { toTokens(text: string, options: { prependBos: boolean }): number[] };
  /** Tokens per row; when left out, a tokens file's own width and `defaultContextSize` for documents. */
  contextSize?: number;
  /** Tokens per row of documents when `contextSize` is left out. @default {128} */
  defaultContextSize?: number;
  /** BOS id opening every row and separating documents; undefined for neither (SAELens `prepend_bos`). */
  bos?: number;
  /** The model's context length (`n_ctx`): longer rows are refused. */
  maxContext?: number;
  /** The model's vocabulary size: token ids outside 0..vocabSize − 1 are refused, naming where they are. */
  vocabSize?: number;
}

/** The first id of `ids` outside 0..vocabSize − 1, as its index, or −1. */
function firstBadId(ids: ArrayLike<number>, vocabSize: number | undefined): number {
  for (let i = 0; i < ids.length; i++) {
    const t = ids[i];
    if (!(Number.isInteger(t) && t >= 0 && (vocabSize === undefined || t < vocabSize))) return i;
  }
  return -1;
}

function vocabRange(vocabSize: number | undefined): string {
  return vocabSize === undefined
    ? "a non-negative integer"
    : `an integer in 0..${vocabSize - 1} (the model's vocabulary)`;
}

// eval_tokens first: a reference file may also hold a prompt as "tokens"
const TOKEN_TENSORS = ["eval_tokens", "tokens"];

async function tokensFile(
  path: string,
  contextSize: number | undefined,
  vocabSize: number | undefined,
): Promise<TokenDataset> {
  const { tensors } = await readSafetensors(path);
  const name = TOKEN_TENSORS.find((n) => tensors.has(n));
  if (!name) {
    throw new TypeError(
      `${path} has no "eval_tokens" or "tokens" tensor of token rows: it has ${[...tensors.keys()].join(", ")}`,
    );
  }
  const entry = tensors.get(name)!;
  if (entry.shape.length !== 2) {
    throw new TypeError(`${path} tensor "${name}" has shape [${entry.shape}]: expected [rows, context_size]`);
  }
  const [count, width] = entry.shape;
  if (contextSize !== undefined && contextSize !== width) {
    throw new RangeError(
      `${path} holds rows of ${width} tokens, used as they are: the context size ${contextSize} asked for differs`,
    );
  }
  const flat = toIntegers(entry, `${path} ${name}`);
  const bad = firstBadId(flat, vocabSize);
  if (bad >= 0) {
    throw new RangeError(
      `${path}: tensor "${name}" holds token id ${flat[bad]} at row ${Math.floor(bad / width)}, position ${
        bad % width
      }: expected ${vocabRange(vocabSize)}`,
    );
  }
  return {
    label: `${path} (${name} [${count}, ${width}])`,
    contextSize: width,
    async *rows() {
      for (let r = 0; r < count; r++) yield flat.slice(r * width, (r + 1) * width);
    },
  };
}

/**
 * Opens a dataset as token rows and checks, before any long work, that the rows fit the model and that
 * there is at least one.
 *
 * @example Rows of 128 tokens from a folder of .txt files
 * ```ts ignore
 * import { openTokenDataset } from "./token_dataset.ts";
 * const data = await openTokenDataset("corpus/", { tokenizer: model, contextSize: 128, bos: 50256 });
 * for await (const row of data.rows()) console.log(row.length); // 128
 * ```
 *
 * @param source A {@linkcode resolveDocuments} source or a .safetensors file of token rows.
 * @param options Tokenizer, context size, BOS, the model's context length, document options.
 * @returns The dataset.
 * @throws {RangeError} When rows would be longer than the model's context, or a token id is outside the
 * vocabulary (the message names the file, tensor, row and position).
 * @throws {TypeError} When the source is missing, malformed or yields no full row.
 */
export async function openTokenDataset(source: string, options: TokenDatasetOptions): Promise<TokenDataset> {
  const { tokenizer, bos, maxContext, vocabSize } = options;
  const checkWidth = (width: number): void => {
    if (!Number.isInteger(width) || width < 1) {
      throw new RangeError(`The context size must be a positive integer: ${width}`);
    }
    if (maxContext !== undefined && width > maxContext) {
      throw new RangeError(`The context size ${width} is above the model's ${maxContext} positions (n_ctx)`);
    }
  };
  if (options.contextSize !== undefined) checkWidth(options.contextSize);
  let dataset: TokenDataset;
  if (extname(source).toLowerCase() === ".safetensors") {
    dataset = await tokensFile(source, options.contextSize, vocabSize);
    checkWidth(dataset.contextSize);
  } else {
    const contextSize = options.contextSize ?? options.defaultContextSize ?? 128;
    checkWidth(contextSize);
    const documents = await resolveDocuments(source, options);
    dataset = {
      label: documents.label,
      contextSize,
      rows: () =>
        concatAndChunk(
          (async function* () {
            for await (const doc of documents.documents()) {
              if (typeof doc === "string") {
                yield tokenizer.toTokens(doc, { prependBos: false });
                continue;
              }
              const bad = firstBadId(doc, vocabSize);
              if (bad >= 0) {
                throw new RangeError(
                  `The dataset ${documents.label} holds token id ${doc[bad]}: expected ${vocabRange(vocabSize)}`,
                );
              }
              yield doc;
            }
          })(),
          contextSize,
          bos,
        ),
    };
  }
  const rows = dataset.rows();
  const first = await rows.next();
  await rows.return(undefined); // closes the file it reads
  if (first.done) {
    throw new TypeError(`The dataset ${dataset.label} is empty: it gives no full row of ${dataset.contextSize} tokens`);
  }
  return dataset;
}
