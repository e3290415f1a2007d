/**
 * Reading the JSON files of model and SAE folders with errors that name the file.
 *
 * @module
 */

/**
 * Parses a JSON file.
 *
 * @example
 * ```ts ignore
 * import { readJson } from "./read_json.ts";
 * const cfg = await readJson("path/to/cfg.json");
 * ```
 *
 * @param path The file.
 * @returns The parsed value.
 * @throws {Deno.errors.NotFound} When the file is missing.
 * @throws {SyntaxError} When it is not valid JSON (the message names the file).
 */
export async function readJson(path: string): Promise<unknown> {
  const text = await Deno.readTextFile(path);
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new SyntaxError(`${path} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
}
