/**
 * Atomic file writes: a reader sees the old file or the whole new one, never a part.
 *
 * @module
 */

import { basename, dirname, join } from "node:path";

/**
 * Writes `data` to a temporary file beside `path`, then renames it over `path`.
 *
 * @example Write a file
 * ```ts ignore
 * await writeFileAtomic("cfg.json", new TextEncoder().encode("{}"));
 * ```
 *
 * @param path Destination.
 * @param data Contents.
 * @throws {Deno.errors.NotFound} When the destination folder does not exist.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${crypto.randomUUID()}.tmp`);
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  try {
    await Deno.writeFile(temp, bytes);
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    if (error instanceof Deno.errors.NotFound) {
      throw new Deno.errors.NotFound(`Cannot write ${path} as its folder ${dirname(path)} does not exist`);
    }
    throw error;
  }
}
