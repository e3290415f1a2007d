/**
 * Streams a text file line by line, so corpora larger than memory can be read.
 *
 * @module
 */

import { openRegularFile } from "./read_regular_file.ts";

/** A line longer than this is refused: one line is held whole, and no corpus line of text is this long. */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

/**
 * The lines of a UTF-8 file, without their `\n` (or `\r\n`), read in chunks. A line is gathered from its pieces
 * once it ends, so a long one costs its length, not its length times its chunks.
 *
 * @example
 * ```ts
 * import { readLines } from "./read_lines.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "a\r\nbc\nd");
 * const lines = [];
 * for await (const line of readLines(path)) lines.push(line);
 * console.log(lines); // ["a", "bc", "d"]
 * ```
 *
 * @param path The file.
 * @param maxLineBytes The longest line accepted, in UTF-16 code units (about bytes for text). @default {MAX_LINE_BYTES}
 * @returns Its lines, the last one included when it has no final newline.
 * @throws {RangeError} When a line is longer than `maxLineBytes` (naming the file and the line).
 */
export async function* readLines(path: string, maxLineBytes = MAX_LINE_BYTES): AsyncGenerator<string> {
  // Streamed, so no size bound; but a FIFO or device is refused rather than read without end.
  const { file } = await openRegularFile(path, Number.MAX_SAFE_INTEGER, "a text file");
  let pieces: string[] = [], pending = 0, lineNumber = 0;
  const line = (last: string) => {
    const text = pieces.length === 0 ? last : pieces.join("") + last;
    pieces = [], pending = 0, lineNumber++;
    return text.endsWith("\r") ? text.slice(0, -1) : text;
  };
  try {
    for await (const chunk of file.readable.pipeThrough(new TextDecoderStream())) {
      let from = 0;
      for (let nl = chunk.indexOf("\n"); nl >= 0; nl = chunk.indexOf("\n", from)) {
        if (pending + nl - from > maxLineBytes) break;
        yield line(chunk.slice(from, nl));
        from = nl + 1;
      }
      pieces.push(chunk.slice(from));
      pending += chunk.length - from;
      if (pending > maxLineBytes) {
        throw new RangeError(
          `${path}: line ${
            lineNumber + 1
          } is longer than ${maxLineBytes} characters: split the document or use a .txt file`,
        );
      }
    }
    if (pending > 0) yield line("");
  } finally {
    try {
      file.close();
    } catch { /* the readable closed it at its end */ }
  }
}
