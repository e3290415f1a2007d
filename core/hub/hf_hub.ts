/**
 * Hugging Face Hub downloads into the Hub's own cache layout (what `huggingface_hub` writes), so files a
 * Python user already downloaded are reused and ours are reused by Python:
 * `<cache>/models--org--name/{blobs/<etag>, snapshots/<commit>/<file> → blob, refs/<revision>}`.
 *
 * As `huggingface_hub` does: metadata and downloads have time limits, a cached file is used when the Hub
 * cannot answer, the token is not sent off the Hub's host, `refs/` is written only when it changes, and a
 * lock in `.locks/` keeps two runs from fetching one blob at once. Beyond it: ETags, commits and refs are
 * checked before they become paths, and a blob is kept only when its size and hash are the announced ones
 * (the ETag is the content's sha256 for LFS files, its git blob sha1 for the others); an LFS download that
 * broke off resumes from `blobs/<etag>.incomplete`.
 *
 * @module
 */

import { basename, dirname, join, sep } from "node:path";
import { exists } from "../io/exists.ts";
import { withFileLock } from "./_file_lock.ts";
import { downloadBlob, type Fail, resumableBytes } from "./_download_blob.ts";
import { type FileMetadata, fileMetadata, MetadataError, NON_LFS_LIMIT } from "./_file_metadata.ts";
import { checkNames, COMMIT, hostOf, inside } from "./_hub_names.ts";
import { oneLine } from "./_hub_messages.ts";
import { EntryNotFoundError, HubError } from "./hub_error.ts";
import { type HubOptions, hubSettings, type RepoType } from "./hub_settings.ts";
import { cachedFile, cachedPointer, link, repoCacheDir, writeRef } from "./repo_cache.ts";

/** The URL path of a repo on the Hub: models at the root, datasets under `datasets/`. */
function repoPath(repoId: string, repoType: RepoType): string {
  return repoType === "dataset" ? `datasets/${repoId}` : repoId;
}

/** The resolve URL of a file and the headers to ask it with. */
function resolveRequest(
  repoId: string,
  filename: string,
  settings: ReturnType<typeof hubSettings>,
  repoType: RepoType,
): { tail: string; url: string; headers: Record<string, string> } {
  const tail = `/resolve/${encodeURIComponent(settings.revision)}/${
    filename.split("/").map(encodeURIComponent).join("/")
  }`;
  const headers: Record<string, string> = { "Accept-Encoding": "identity" };
  if (settings.token) headers.Authorization = `Bearer ${settings.token}`;
  return { tail, url: `${settings.endpoint}/${repoPath(repoId, repoType)}${tail}`, headers };
}

/** What a download of one file would fetch. */
export interface HubFileInfo {
  /** Its size in bytes, as the Hub announces it. */
  size: number;
  /** Whether the cache already holds it (nothing to download). */
  cached: boolean;
  /** Bytes of an earlier, broken-off download the next one resumes from (LFS files). */
  partial: number;
}

/**
 * What {@linkcode hfHubDownload} would fetch for a file, asking the Hub for its size (HEAD) without downloading it.
 *
 * @example
 * ```ts ignore
 * const { size, cached } = await hfFileInfo("google/gemma-scope-2b-pt-res", "layer_20/width_16k/average_l0_71/params.npz");
 * ```
 *
 * @param repoId E.g. `google/gemma-scope-2b-pt-res`.
 * @param filename Path inside the repo.
 * @param options Endpoint, cache, token, revision, timeouts.
 * @returns Its size, and whether it is cached or partly downloaded.
 * @throws {EntryNotFoundError} When the repo has no such file.
 * @throws {HubError} When the Hub cannot say (the message says why).
 */
export async function hfFileInfo(repoId: string, filename: string, options: HubOptions = {}): Promise<HubFileInfo> {
  const settings = hubSettings(options);
  checkNames(repoId, settings.revision, filename);
  const repoType = options.repoType ?? "model";
  const repoDir = repoCacheDir(repoId, settings.cacheDir, repoType);
  const label = `${repoId}/${filename}`;
  if (settings.offline) {
    const cached = await cachedFile(repoDir, settings.revision, filename, label);
    if (!cached) {
      throw new EntryNotFoundError(`${label} is not in the cache ${settings.cacheDir} and HF_HUB_OFFLINE is set`);
    }
    return { size: (await Deno.stat(cached)).size, cached: true, partial: 0 };
  }
  const { tail, url, headers } = resolveRequest(repoId, filename, settings, repoType);
  let meta: FileMetadata;
  try {
    meta = await fileMetadata(url, tail, headers, settings.etagTimeout);
  } catch (error) {
    if (!(error instanceof HubError)) throw error;
    const Class = error instanceof EntryNotFoundError ? EntryNotFoundError : HubError;
    throw new Class(`Cannot ask ${settings.endpoint} about ${label}: ${error.message}`, { status: error.status });
  }
  const cached = await cachedPointer(repoDir, meta.commit, filename, label) !== undefined;
  const partial = await resumableBytes(join(repoDir, "blobs", meta.etag));
  return { size: meta.size, cached, partial: meta.lfs && !cached && partial < meta.size ? partial : 0 };
}

/**
 * Downloads one file of a repo into the Hub cache (or finds it there) and returns its local path.
 *
 * @example Fetch GPT-2's config
 * ```ts ignore
 * import { hfHubDownload } from "./hf_hub.ts";
 * const path = await hfHubDownload("openai-community/gpt2", "config.json");
 * ```
 *
 * @param repoId E.g. `openai-community/gpt2`.
 * @param filename Path inside the repo.
 * @param options Endpoint, cache, token, offline mode, revision, timeouts, size bound.
 * @returns The file's path under `snapshots/<commit>/`.
 * @throws {EntryNotFoundError} When the repo has no such file, or offline mode is set and it is not cached.
 * @throws {HubError} When the file cannot be had otherwise (the message says why and what to do).
 * @throws {TypeError} When the repo id or file name is not a plain relative path.
 */
export async function hfHubDownload(repoId: string, filename: string, options: HubOptions = {}): Promise<string> {
  const settings = hubSettings(options);
  checkNames(repoId, settings.revision, filename);
  const label = `${options.repoType === "dataset" ? "dataset " : ""}${repoId}/${filename}`;
  try {
    return await downloadToCache(repoId, filename, label, settings, options);
  } catch (error) {
    // the file system's own errors (a cache on a full or read-only disk, a file where a folder belongs)
    if (error instanceof HubError) throw error;
    throw new HubError(`Cannot get ${label}: the cache ${settings.cacheDir} failed (${oneLine(error)})`, {
      cause: error,
    });
  }
}

/**
 * Makes a cache folder, refusing one that resolves outside the cache (a `blobs/`, repo or snapshot folder that is a
 * symbolic link elsewhere): its nearest existing ancestor is resolved before anything is created, the folder after.
 */
async function makeInsideCache(cacheDir: string, folder: string, label: string): Promise<void> {
  const root = await Deno.realPath(cacheDir);
  const check = async (path: string) => {
    const real = await Deno.realPath(path);
    if (real !== root && !real.startsWith(root + sep)) {
      throw new HubError(
        `Cannot get ${label}: the cache folder ${path} leads to ${real}, outside the cache ${root} (a symbolic link?): nothing is written there`,
      );
    }
  };
  let existing = folder;
  while (!await exists(existing)) existing = dirname(existing);
  await check(existing);
  await Deno.mkdir(folder, { recursive: true });
  await check(folder);
}

async function downloadToCache(
  repoId: string,
  filename: string,
  label: string,
  settings: ReturnType<typeof hubSettings>,
  options: HubOptions,
): Promise<string> {
  const { endpoint, cacheDir, offline, revision } = settings;
  const repoType = options.repoType ?? "model";
  const repoDir = repoCacheDir(repoId, cacheDir, repoType);
  if (COMMIT.test(revision)) {
    const cached = await cachedPointer(repoDir, revision, filename, label);
    if (cached) return cached; // a commit's files never change: no need to ask the Hub
  }
  if (offline) {
    const cached = await cachedFile(repoDir, revision, filename, label);
    if (cached) return cached;
    throw new EntryNotFoundError(
      `${label} is not in the cache ${cacheDir} and HF_HUB_OFFLINE is set: download it once online`,
    );
  }
  const { tail, url, headers } = resolveRequest(repoId, filename, settings, repoType);
  let meta: FileMetadata;
  try {
    meta = await fileMetadata(url, tail, headers, settings.etagTimeout);
  } catch (error) {
    if (!(error instanceof HubError)) throw error;
    // the Hub down, the token refused, a proxy in the way: a cached copy serves, as huggingface_hub's does
    const cached = error instanceof MetadataError && error.cacheable
      ? await cachedFile(repoDir, revision, filename, label)
      : undefined;
    if (cached) return cached;
    const Class = error instanceof EntryNotFoundError ? EntryNotFoundError : HubError;
    const fallback = error instanceof MetadataError && error.cacheable ? "; no cached copy to fall back on" : "";
    throw new Class(`Cannot get ${label} from ${endpoint}: ${error.message}${fallback}`, { status: error.status });
  }
  const fail: Fail = (what, options) => new HubError(`Cannot get ${label} from ${endpoint}: ${what}`, options);
  const limit = Math.min(options.maxSize ?? Infinity, meta.lfs ? Infinity : NON_LFS_LIMIT);
  if (meta.size > limit) {
    throw fail(`the Hub announces ${meta.size} bytes, more than the ${limit} expected for it`);
  }
  const pointer = inside(join(repoDir, "snapshots", meta.commit), filename)!;
  if (await cachedPointer(repoDir, meta.commit, filename, label)) {
    await writeRef(repoDir, revision, meta.commit).catch(() => {}); // a read-only cache still serves its files
    return pointer;
  }
  const locks = join(cacheDir, ".locks", basename(repoDir));
  await Deno.mkdir(cacheDir, { recursive: true });
  for (const folder of [join(repoDir, "blobs"), join(repoDir, "refs"), dirname(pointer), locks]) {
    await makeInsideCache(cacheDir, folder, label);
  }
  await writeRef(repoDir, revision, meta.commit);
  const blob = join(repoDir, "blobs", meta.etag);
  await withFileLock(join(locks, `${meta.etag}.lock`), async () => {
    // another run may have fetched it while we waited; a blob of the wrong size is fetched again
    if (!await exists(blob) || (await Deno.stat(blob)).size !== meta.size) {
      const authorized = hostOf(meta.location) === hostOf(url) ? headers : { "Accept-Encoding": "identity" };
      await downloadBlob(meta, blob, authorized, settings.downloadTimeout, filename, fail, options.onProgress);
    }
    await link(blob, pointer);
  });
  return pointer;
}
