/**
 * Reads one column of a Parquet file row group by row group (hyparquet), so large files stream.
 *
 * @module
 */

import {
  type AsyncBuffer,
  type FileMetaData,
  parquetMetadataAsync,
  parquetReadObjects,
  parquetSchema,
} from "hyparquet";
import { openRegularFile } from "./read_regular_file.ts";

/** A Parquet file on disk read by byte ranges. */
async function fileBuffer(path: string): Promise<AsyncBuffer & { close(): void }> {
  const { file, size } = await openRegularFile(path, Number.MAX_SAFE_INTEGER, "a Parquet file");
  return {
    byteLength: size,
    async slice(start: number, end = size): Promise<ArrayBuffer> {
      const bytes = new Uint8Array(end - start);
      await file.seek(start, Deno.SeekMode.Start);
      let read = 0;
      while (read < bytes.length) {
        const n = await file.read(bytes.subarray(read));
        if (n === null) throw new RangeError(`${path} ended at byte ${start + read}, before ${end}`);
        read += n;
      }
      return bytes.buffer;
    },
    close: () => file.close(),
  };
}

/** Opens a Parquet file and reads its footer. */
async function openParquet(path: string): Promise<{ file: AsyncBuffer & { close(): void }; metadata: FileMetaData }> {
  const file = await fileBuffer(path);
  try {
    return { file, metadata: await parquetMetadataAsync(file) };
  } catch (e) {
    file.close();
    // hyparquet's own errors say what is wrong; a TypeError is its code tripping over a damaged footer
    const why = e instanceof TypeError ? "its footer (the file's metadata) is damaged" : (e as Error).message;
    throw new SyntaxError(`${path} is not a readable Parquet file: ${why}`, { cause: e });
  }
}

/**
 * The top-level column names of a Parquet file.
 *
 * @example
 * ```ts ignore
 * console.log(await parquetColumns("train-00000.parquet")); // ["text", "meta"]
 * ```
 *
 * @param path The file.
 * @returns Column names.
 * @throws {SyntaxError} When the file is not Parquet.
 */
export async function parquetColumns(path: string): Promise<string[]> {
  const { file, metadata } = await openParquet(path);
  try {
    return parquetSchema(metadata).children.map((c) => c.element.name);
  } finally {
    file.close();
  }
}

/**
 * The values of one column, row by row, reading one row group at a time.
 *
 * @example
 * ```ts ignore
 * for await (const text of readParquetColumn("train-00000.parquet", "text")) console.log(text);
 * ```
 *
 * @param path The file.
 * @param column The column's name.
 * @returns Its values.
 * @throws {SyntaxError} When the file is not Parquet or cannot be decoded.
 */
export async function* readParquetColumn(path: string, column: string): AsyncGenerator<unknown> {
  const { file, metadata } = await openParquet(path);
  try {
    let rowStart = 0;
    for (const group of metadata.row_groups) {
      const rowEnd = rowStart + Number(group.num_rows);
      const rows = await parquetReadObjects({ file, metadata, columns: [column], rowStart, rowEnd }).catch((e) => {
        throw new SyntaxError(`Cannot decode column ${column} of ${path}: ${(e as Error).message}`, { cause: e });
      });
      for (const row of rows) yield row[column];
      rowStart = rowEnd;
    }
  } finally {
    file.close();
  }
}
