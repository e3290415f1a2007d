/**
 * Atomic file writes: a reader sees the old file or the whole new one, never a part. Every writer of the project goes
 * through here, so one check decides what an output path may be: a new file or a regular one (replaced atomically), or
 * a character device such as `/dev/null` or `/dev/stdout` (written through, as `cat > /dev/null` does). A folder, FIFO,
 * socket or block device is never replaced.
 *
 * @module
 */

import { basename, dirname, join } from "node:path";

/** What stands at a path, in words, for the refusal. */
function kindOf(info: Deno.FileInfo): string {
  if (info.isDirectory) return "a folder";
  if (info.isFifo) return "a FIFO (named pipe)";
  if (info.isBlockDevice) return "a block device";
  if (info.isSocket) return "a socket";
  return "not a regular file";
}

/**
 * Writes `data` to a temporary file beside `path`, then renames it over `path`; into a character device, directly.
 *
 * @example Write a file
 * ```ts
 * import { writeFileAtomic } from "./atomic_write.ts";
 * const path = `${await Deno.makeTempDir()}/cfg.json`;
 * await writeFileAtomic(path, "{}");
 * await writeFileAtomic("/dev/null", "discarded"); // written through, never replaced
 * console.log(await Deno.readTextFile(path), (await Deno.stat("/dev/null")).isCharDevice); // {} true
 * ```
 *
 * @param path Destination.
 * @param data Contents.
 * @throws {TypeError} When the path is empty, or names a folder, FIFO, socket or block device.
 * @throws {Deno.errors.NotFound} When the destination folder does not exist.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  if (path === "") throw new TypeError("Cannot write to an empty path: give a file name");
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const info = await Deno.stat(path).catch((e) => {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  });
  if (info?.isCharDevice) {
    const file = await Deno.open(path, { write: true });
    try {
      for (let at = 0; at < bytes.length;) at += await file.write(bytes.subarray(at));
    } finally {
      file.close();
    }
    return;
  }
  if (info && !info.isFile) {
    throw new TypeError(`Cannot write ${path} as it is ${kindOf(info)}: expected a file name (it is never replaced)`);
  }
  const temp = join(dirname(path), `.${basename(path)}.${crypto.randomUUID()}.tmp`);
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
