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
 * @throws {TypeError} When the file is not UTF-8 (naming it, and the line and byte of the first bad sequence).
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
  // fatal: a byte that is not UTF-8 is an error naming the line, not a U+FFFD slipped into the text
  const chunks = file.readable.pipeThrough(new TextDecoderStream("utf-8", { fatal: true }));
  try {
    for await (const chunk of readUtf8(chunks, path)) {
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
          } is longer than ${maxLineBytes} characters: split it, or give the document as a .txt file in a folder (read whole)`,
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

/** The decoded chunks; a decoding failure names the file, and the line and byte of the first bad sequence. */
async function* readUtf8(chunks: ReadableStream<string>, path: string): AsyncGenerator<string> {
  try {
    yield* chunks;
  } catch (cause) {
    if (!(cause instanceof TypeError)) throw cause;
    const at = await firstInvalidUtf8(path);
    throw new TypeError(
      `${path} is not UTF-8 text: ${
        at
          ? `line ${at.line} holds a byte that is not UTF-8 (byte ${at.offset} of the file)`
          : "it holds bytes that are not UTF-8"
      }`,
      { cause },
    );
  }
}

/** Where a file first breaks UTF-8 (a stray continuation, a bad lead byte, a cut or overlong sequence). */
async function firstInvalidUtf8(path: string): Promise<{ line: number; offset: number } | undefined> {
  const { file } = await openRegularFile(path, Number.MAX_SAFE_INTEGER, "a text file");
  let line = 1, offset = 0, need = 0, min = 0, code = 0, start = 0;
  try {
    for await (const chunk of file.readable) {
      for (const b of chunk) {
        if (need > 0) {
          if ((b & 0xc0) !== 0x80) return { line, offset: start };
          code = (code << 6) | (b & 0x3f);
          if (--need === 0 && (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))) {
            return { line, offset: start };
          }
        } else if (b >= 0x80) {
          start = offset;
          [need, min, code] = b >= 0xc2 && b <= 0xdf
            ? [1, 0x80, b & 0x1f]
            : b >= 0xe0 && b <= 0xef
            ? [2, 0x800, b & 0x0f]
            : b >= 0xf0 && b <= 0xf4
            ? [3, 0x10000, b & 0x07]
            : [-1, 0, 0];
          if (need < 0) return { line, offset };
        } else if (b === 0x0a) line++;
        offset++;
      }
    }
    return need > 0 ? { line, offset: start } : undefined;
  } finally {
    try {
      file.close();
    } catch { /* closed by the readable */ }
  }
}
