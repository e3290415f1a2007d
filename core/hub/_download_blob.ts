/**
 * Fetching one blob into the cache: a partial file of its own, resumed for LFS files, kept only when its size and
 * hash are the announced ones.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { STALE_MS } from "./_file_lock.ts";
import { MIN_BYTES, StallError, timedFetch, type TimedResponse, TrickleError } from "./_timed_fetch.ts";
import { type FileMetadata, MAX_REDIRECTS, parseSize } from "./_file_metadata.ts";
import { hostOf } from "./_hub_names.ts";
import { fetchProblem, oneLine, quote } from "./_hub_messages.ts";
import { HubError } from "./hub_error.ts";
import type { HubOptions } from "./hub_settings.ts";

/** Builds the one-line error of the file being fetched. */
export type Fail = (what: string, options?: { status?: number; cause?: unknown }) => HubError;

/** The file's hash in the ETag's kind: sha256 of the bytes, or git's sha1 of `blob <size>\0` and the bytes. */
async function hashFile(path: string, etag: string, size: number): Promise<string> {
  const hash = etag.length === 64 ? createHash("sha256") : createHash("sha1").update(`blob ${size}\0`);
  using file = await Deno.open(path);
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

/** The partial files of runs that stopped (see {@linkcode adoptOrphans}). */
async function staleOrphans(blob: string): Promise<{ path: string; size: number }[]> {
  const pattern = new RegExp(`^${basename(blob)}\\.[0-9a-f]{8}\\.incomplete$`);
  const orphans: { path: string; size: number }[] = [];
  try {
    for await (const entry of Deno.readDir(dirname(blob))) {
      if (!entry.isFile || !pattern.test(entry.name)) continue;
      const path = join(dirname(blob), entry.name);
      const stat = await Deno.stat(path).catch(() => undefined);
      if (stat && Date.now() - (stat.mtime?.getTime() ?? 0) > STALE_MS) orphans.push({ path, size: stat.size });
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return orphans;
}

/**
 * Bytes the next download of an LFS blob resumes from: its `.incomplete` file's, or a stopped run's partial file's.
 *
 * @param blob The blob's path in the cache.
 * @returns The largest such size, 0 when there is none.
 */
export async function resumableBytes(blob: string): Promise<number> {
  const shared = (await Deno.stat(`${blob}.incomplete`).catch(() => undefined))?.size ?? 0;
  return Math.max(shared, ...(await staleOrphans(blob)).map((o) => o.size));
}

/**
 * A killed run leaves its own partial file (`<etag>.<run>.incomplete`) behind, never renamed to the shared
 * `<etag>.incomplete`: the largest one untouched for {@linkcode STALE_MS} (so no live run writes it) becomes what
 * the next download resumes from, and the other stale ones are removed.
 */
async function adoptOrphans(blob: string, resumable: string): Promise<void> {
  const orphans = await staleOrphans(blob);
  if (orphans.length === 0) return;
  orphans.sort((a, b) => b.size - a.size);
  const have = (await Deno.stat(resumable).catch(() => undefined))?.size ?? -1;
  const [best, ...rest] = orphans;
  if (best.size > have) await Deno.rename(best.path, resumable).catch(() => {});
  else rest.push(best);
  for (const o of rest) await Deno.remove(o.path).catch(() => {});
}

/**
 * Fetches a blob into a partial file of its own and renames it into place once its size and hash are the
 * announced ones. An LFS blob resumes: If-Range asks the server for the whole file when the content changed,
 * and the final hash catches a server that ignores it.
 */
export async function downloadBlob(
  meta: FileMetadata,
  blob: string,
  headers: Record<string, string>,
  timeout: number,
  filename: string,
  fail: Fail,
  onProgress?: HubOptions["onProgress"],
): Promise<void> {
  const resumable = `${blob}.incomplete`;
  // our own partial file: runs that broke the lock, or an older run's shared .incomplete, cannot mix into it
  const partial = `${blob}.${crypto.randomUUID().slice(0, 8)}.incomplete`;
  let have = 0;
  if (meta.lfs) {
    await adoptOrphans(blob, resumable);
    try {
      await Deno.rename(resumable, partial);
      have = (await Deno.stat(partial)).size;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  } else {
    await Deno.remove(resumable).catch(() => {}); // small files start over
  }
  if (have > meta.size) have = 0;
  let wrong = false;
  try {
    let actual = "";
    // a resumed download that hashes wrong began from a bad partial file (another content, an old run's
    // mix): once more from byte 0
    for (const start of have > 0 ? [have, 0] : [0]) {
      const file = await Deno.open(partial, { create: true, write: true });
      try {
        await file.truncate(start);
        await file.seek(start, Deno.SeekMode.Start);
        if (start < meta.size) {
          await fetchInto(file, meta, headers, start, timeout, fail, (received) => {
            onProgress?.(filename, received, meta.size);
          });
        }
      } finally {
        file.close();
      }
      actual = await hashFile(partial, meta.etag, meta.size);
      wrong = actual !== meta.etag;
      if (!wrong) break;
    }
    if (wrong) {
      const kind = meta.etag.length === 64 ? "sha256" : "git sha1";
      throw fail(`the downloaded bytes have ${kind} ${actual}, not the announced ${meta.etag} (discarded)`);
    }
    await Deno.rename(partial, blob);
  } catch (error) {
    // what a broken-off LFS download has is kept for the next attempt; the final hash judges it then
    const kept = (await Deno.stat(partial).catch(() => undefined))?.size ?? 0;
    if (meta.lfs && !wrong && kept > 0) await Deno.rename(partial, resumable).catch(() => {});
    else await Deno.remove(partial).catch(() => {});
    throw error;
  }
}

/** Streams the file's bytes after `have` into `file`; returns the size reached, which is `meta.size`. */
async function fetchInto(
  file: Deno.FsFile,
  meta: FileMetadata,
  baseHeaders: Record<string, string>,
  have: number,
  timeout: number,
  fail: Fail,
  progress: (received: number) => void,
): Promise<void> {
  let headers = have > 0 ? { ...baseHeaders, Range: `bytes=${have}-`, "If-Range": `"${meta.etag}"` } : baseHeaders;
  let url = meta.location;
  let answer: TimedResponse;
  try {
    for (let hops = 0;; hops++) {
      answer = await timedFetch(url, { headers, redirect: "manual" }, timeout);
      const location = answer.response.headers.get("location");
      if (answer.response.status < 300 || answer.response.status >= 400 || location === null) break;
      await answer.cancel();
      if (hops === MAX_REDIRECTS) throw fail(`the download redirects more than ${MAX_REDIRECTS} times`);
      const next = new URL(location, url).href;
      if (!/^https?:$/.test(new URL(next).protocol)) throw fail(`the download redirects to ${quote(next)}`);
      // a signed CDN URL needs no token, and another host must not see it
      if (hostOf(next) !== hostOf(url)) {
        headers = Object.fromEntries(Object.entries(headers).filter(([key]) => key !== "Authorization"));
      }
      url = next;
    }
  } catch (error) {
    if (error instanceof HubError) throw error;
    throw fail(
      error instanceof StallError
        ? `the download did not start within ${error.seconds} s (HF_HUB_DOWNLOAD_TIMEOUT)`
        : fetchProblem(error, "the download server"),
      { cause: error },
    );
  }
  const { response } = answer;
  if (response.status >= 400 || (response.status !== 200 && response.status !== 206)) {
    await answer.cancel();
    const why = response.status === 401 || response.status === 403 ? " (gated or private: set HF_TOKEN)" : "";
    throw fail(`the download answered ${response.status}${why}`, { status: response.status });
  }
  if (response.status === 206) {
    const start = /^bytes (\d+)-/.exec(response.headers.get("content-range") ?? "")?.[1];
    if (Number(start) !== have) {
      await answer.cancel();
      throw fail(`the server resumed at byte ${start ?? "?"} instead of ${have}`);
    }
  } else if (have > 0) {
    // the server ignored Range or If-Range found the content changed: start over
    have = 0;
    await file.truncate(0);
    await file.seek(0, Deno.SeekMode.Start);
  }
  const length = parseSize(response.headers.get("content-length"));
  if (length !== undefined && have + length !== meta.size) {
    await answer.cancel();
    throw fail(`the download sends ${have + length} bytes, the Hub announced ${meta.size}`);
  }
  let received = have;
  progress(received); // where this download starts: 0, or the bytes a resumed one already has
  try {
    for await (const chunk of answer.chunks()) {
      if (received + chunk.length > meta.size) {
        throw fail(`the download sends more than the ${meta.size} bytes the Hub announced (discarded)`);
      }
      let written = 0;
      while (written < chunk.length) written += await file.write(chunk.subarray(written));
      received += chunk.length;
      progress(received);
    }
  } catch (error) {
    if (error instanceof HubError) throw error;
    throw fail(
      error instanceof StallError
        ? `the download stalled after ${received} of ${meta.size} bytes: nothing for ${error.seconds} s (HF_HUB_DOWNLOAD_TIMEOUT)`
        : error instanceof TrickleError
        ? `the download slowed to ${error.bytes} bytes in ${error.seconds} s after ${received} of ${meta.size} bytes (at least ${MIN_BYTES} are needed in that time; run again to resume)`
        : `the download broke off after ${received} of ${meta.size} bytes (${oneLine(error)})`,
      { cause: error },
    );
  }
  if (received !== meta.size) {
    throw fail(`the download ended after ${received} bytes, the Hub announced ${meta.size}`);
  }
}
