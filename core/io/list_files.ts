/**
 * Lists the files under a folder, at any depth.
 *
 * @module
 */

import { join } from "node:path";

/**
 * The paths of every file under `root` (sub-folders walked), sorted.
 *
 * @example
 * ```ts ignore
 * const texts = (await listFiles("corpus")).filter((p) => p.endsWith(".txt"));
 * ```
 *
 * @param root The folder.
 * @returns Paths starting with `root`.
 */
export async function listFiles(root: string): Promise<string[]> {
  const files: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for await (const entry of Deno.readDir(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) await walk(path);
      else files.push(path);
    }
  };
  await walk(root);
  return files.sort();
}
