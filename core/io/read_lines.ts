/**
 * Streams a text file line by line, so corpora larger than memory can be read.
 *
 * @module
 */

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
  const file = await Deno.open(path);
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
