// An advisory lock file beside the Hub cache, as huggingface_hub's `.locks/<repo>/<etag>.lock`: created with
// exclusive create, kept fresh by its holder, and broken when its holder stopped touching it. Correctness of the
// cache does not depend on it (each download writes its own partial file and renames it into place); it only
// keeps two runs from downloading the same blob at once.

import { dirname } from "node:path";

/** A holder touches its lock this often; a lock untouched for four times as long is stale. */
const HEARTBEAT_MS = 2_500;
/** A lock (or a partial download) untouched this long belongs to a run that stopped (crashed, killed). */
export const STALE_MS = 4 * HEARTBEAT_MS;

/**
 * Runs `fn` while holding the lock file `path`, waiting while another live holder has it.
 *
 * @example
 * ```ts ignore
 * await withFileLock("/cache/.locks/models--org--name/abc.lock", () => download());
 * ```
 *
 * @param path The lock file (its folder is created).
 * @param fn The work done under the lock.
 * @returns What `fn` returns.
 */
export async function withFileLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  await Deno.mkdir(dirname(path), { recursive: true });
  for (;;) {
    try {
      (await Deno.open(path, { createNew: true, write: true })).close();
      break;
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      const touched = (await Deno.stat(path).catch(() => undefined))?.mtime?.getTime();
      // a crashed holder leaves its lock behind: break it once it has gone stale
      if (touched !== undefined && Date.now() - touched > STALE_MS) await Deno.remove(path).catch(() => {});
      else await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  const heartbeat = setInterval(() => {
    const now = new Date();
    Deno.utime(path, now, now).catch(() => {});
  }, HEARTBEAT_MS);
  try {
    return await fn();
  } finally {
    clearInterval(heartbeat);
    await Deno.remove(path).catch(() => {});
  }
}
