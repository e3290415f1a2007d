/**
 * Reading the JSON files of model and SAE folders with errors that name the file.
 *
 * @module
 */

import { readRegularTextFile } from "./read_regular_file.ts";

/** Bytes a JSON config may have unless the caller allows more: configs are a few kB. */
const MAX_JSON_BYTES = 8 * 1024 * 1024;

/**
 * Parses a JSON file (a regular file of bounded size, see {@linkcode readRegularTextFile}).
 *
 * @example
 * ```ts ignore
 * import { readJson } from "./read_json.ts";
 * const cfg = await readJson("path/to/cfg.json");
 * ```
 *
 * @param path The file.
 * @param maxBytes The largest size accepted (tokenizer files need more than configs).
 * @returns The parsed value.
 * @throws {Deno.errors.NotFound} When the file is missing.
 * @throws {TypeError} When it is a folder, FIFO or device.
 * @throws {RangeError} When it is larger than `maxBytes`.
 * @throws {SyntaxError} When it is not valid UTF-8 JSON (the message names the file).
 */
export async function readJson(path: string, maxBytes: number = MAX_JSON_BYTES): Promise<unknown> {
  const text = await readRegularTextFile(path, maxBytes, "a JSON file");
  try {
    return JSON.parse(text);
  } catch (cause) {
    // V8 quotes the text around the error, newlines included: keep the message on one line.
    throw new SyntaxError(`${path} is not valid JSON: ${(cause as Error).message.replace(/\s+/g, " ")}`, { cause });
  }
}
