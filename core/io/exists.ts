/**
 * Whether a path exists, for the loaders that pick a file layout by what a folder holds.
 *
 * @module
 */

/** Options of {@linkcode exists}. */
export interface ExistsOptions {
  /**
   * Count a symbolic link to nothing as existing, so that its reader reports it rather than the file
   * being silently taken as absent (an optional file of an SAE folder, say). @default {false}
   */
  danglingLinks?: boolean;
}

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
 * @param options Whether a dangling link counts.
 * @returns Whether it exists.
 */
export async function exists(path: string, options: ExistsOptions = {}): Promise<boolean> {
  const { danglingLinks = false } = options;
  try {
    await (danglingLinks ? Deno.lstat(path) : Deno.stat(path));
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
