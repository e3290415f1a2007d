/**
 * Documents → fixed-length training/eval rows, exactly as SAELens's `concat_and_batch_sequences` cuts them
 * (with `begin_batch_token` and `sequence_separator_token` both BOS): token sequences are concatenated
 * with BOS between them, every row starts with BOS, and a trailing partial row is dropped.
 *
 * @module
 */

/**
 * Cuts token sequences into rows of `contextSize` tokens.
 *
 * A sequence that already starts with BOS gets no second one, so rows that are already cut (each of
 * `contextSize` tokens starting with BOS) pass through unchanged.
 *
 * @example Two short documents in rows of 4
 * ```ts
 * import { concatAndChunk } from "./token_rows.ts";
 * const rows = [];
 * for await (const row of concatAndChunk([[1, 2], [3, 4, 5, 6]], 4, 0)) rows.push(row);
 * console.log(rows); // [[0, 1, 2, 0], [0, 3, 4, 5]]: BOS separates the documents; [0, 6] is dropped
 * ```
 *
 * @param sequences Token sequences (documents tokenized without BOS).
 * @param contextSize Tokens per row.
 * @param bos BOS token id, put first in every row and between documents; undefined for neither.
 * @returns The rows, in order.
 */
export async function* concatAndChunk(
  sequences: AsyncIterable<readonly number[]> | Iterable<readonly number[]>,
  contextSize: number,
  bos: number | undefined,
): AsyncGenerator<number[]> {
  let row: number[] | undefined;
  for await (const tokens of sequences) {
    let offset = 0;
    while (offset < tokens.length) {
      // a new row opens with BOS; a document joining a started row is preceded by BOS as separator
      const prefix = bos !== undefined && tokens[offset] !== bos ? [bos] : [];
      const have = row?.length ?? 0;
      const take = Math.max(contextSize - have - prefix.length, 0);
      row = [...(row ?? []), ...prefix.slice(0, contextSize - have), ...tokens.slice(offset, offset + take)];
      offset += take;
      if (row.length === contextSize) {
        yield row;
        row = undefined;
      }
    }
  }
}

/**
 * Groups rows into batches for the model, which takes rows of one length.
 *
 * @example
 * ```ts
 * import { batchRows } from "./token_rows.ts";
 * const batches = [];
 * for await (const b of batchRows([[1, 2], [3, 4], [5, 6]], 2)) batches.push(b);
 * console.log(batches); // [[[1, 2], [3, 4]], [[5, 6]]]
 * ```
 *
 * @param rows Token rows.
 * @param batchSize Rows per batch; the last batch may be smaller.
 * @returns The batches.
 * @throws {TypeError} When a row's length differs from the first row's.
 */
export async function* batchRows(
  rows: AsyncIterable<number[]> | Iterable<number[]>,
  batchSize: number,
): AsyncGenerator<number[][]> {
  let batch: number[][] = [];
  let width: number | undefined;
  for await (const row of rows) {
    width ??= row.length;
    if (row.length !== width) throw new TypeError(`Rows must all have one length: got ${row.length} after ${width}`);
    batch.push(row);
    if (batch.length === batchSize) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}
