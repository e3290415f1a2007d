/**
 * Streams a text file line by line, so corpora larger than memory can be read.
 *
 * @module
 */

import { openRegularFile } from "./read_regular_file.ts";

/**
 * The lines of a UTF-8 file, without their `\n` (or `\r\n`), read in chunks.
 *
 * @example
 * ```ts ignore
 * for await (const line of readLines("corpus.jsonl")) console.log(JSON.parse(line).text);
 * ```
 *
 * @param path The file.
 * @returns Its lines, the last one included when it has no final newline.
 */
export async function* readLines(path: string): AsyncGenerator<string> {
  // Streamed, so no size bound; but a FIFO or device is refused rather than read without end.
  const { file } = await openRegularFile(path, Number.MAX_SAFE_INTEGER, "a text file");
  let rest = "";
  try {
    for await (const chunk of file.readable.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const line of parts) yield line.endsWith("\r") ? line.slice(0, -1) : line;
    }
    if (rest !== "") yield rest;
  } finally {
    try {
      file.close();
    } catch { /* the readable closed it at its end */ }
  }
}
