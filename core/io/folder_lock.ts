/**
 * A run's hold on its folder: an exclusive lock (the operating system's flock, released when the holder's process
 * ends, however it ends) on a lock file inside the folder, so a second run writing into the same folder stops at
 * once, naming the first, instead of interleaving its metrics and overwriting its saves.
 *
 * @module
 */

import { join } from "node:path";

/** The lock file's name inside a locked folder. */
export const LOCK_FILE = ".sae.lock";

/** A held folder lock; `release()` lets the next run in. */
export interface FolderLock {
  /** The folder held. */
  readonly folder: string;
  /** Removes the lock file and releases the lock. */
  release(): void;
}

/**
 * Locks `folder` (created if missing) for this process, or fails at once when another process holds it.
 *
 * @example
 * ```ts
 * import { lockFolder } from "./folder_lock.ts";
 * const dir = await Deno.makeTempDir();
 * const lock = await lockFolder(dir, "sae train");
 * try {
 *   await lockFolder(dir, "sae train").catch((e) => console.log(e.message)); // "... is in use by sae train (pid ...)"
 * } finally {
 *   lock.release();
 * }
 * ```
 *
 * @param folder The folder to hold.
 * @param holder What holds it, for the message another run sees (e.g. "sae train").
 * @returns The held lock.
 * @throws {Deno.errors.Busy} When another run holds the folder, naming it (its process id and start time).
 */
export async function lockFolder(folder: string, holder: string): Promise<FolderLock> {
  await Deno.mkdir(folder, { recursive: true });
  const path = join(folder, LOCK_FILE);
  const file = await Deno.open(path, { read: true, write: true, create: true });
  // flock locks are per open file, so a second lockFolder in this very process is refused as another run would be
  if (!await file.tryLock(true)) {
    const owner = new TextDecoder().decode(await readAll(file)).trim();
    file.close();
    throw new Deno.errors.Busy(
      `${folder} is in use by ${owner || "another run"}: wait for it to end, or give this run another folder`,
    );
  }
  await file.truncate(0);
  await file.write(new TextEncoder().encode(`${holder} (pid ${Deno.pid}, since ${new Date().toISOString()})\n`));
  let held = true;
  return {
    folder,
    release() {
      if (!held) return;
      held = false;
      // removed before unlocking: a run that opened the old file then finds it still locked, a later one a new file
      try {
        Deno.removeSync(path);
      } catch { /* already gone: the lock is still ours to release */ }
      file.close();
    },
  };
}

async function readAll(file: Deno.FsFile): Promise<Uint8Array> {
  await file.seek(0, Deno.SeekMode.Start);
  const buffer = new Uint8Array(4096); // a holder line is short; more is not a lock file of ours
  const n = await file.read(buffer);
  return buffer.subarray(0, n ?? 0);
}
