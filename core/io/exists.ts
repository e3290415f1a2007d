/**
 * Whether a path exists, for the loaders that pick a file layout by what a folder holds.
 *
 * @module
 */

/**
 * True when `path` exists; other errors (e.g. permissions) propagate.
 *
 * @example
 * ```ts
 * import { exists } from "./exists.ts";
 * console.log(await exists("/no/such/file")); // false
 * ```
 *
 * @param path A file or folder.
 * @returns Whether it exists.
 */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
