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

import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { createHash } from "node:crypto";
import { exists } from "../io/exists.ts";
import { listFiles } from "../io/list_files.ts";
import { writeFileAtomic } from "../io/atomic_write.ts";
import { withFileLock } from "./_file_lock.ts";
import { StallError, timedFetch, type TimedResponse } from "./_timed_fetch.ts";

/** Where and how to reach the Hub; each field defaults to the environment variable Python uses. */
export interface HubOptions {
  /** Hub address (`HF_ENDPOINT`). @default {"https://huggingface.co"} */
  endpoint?: string;
  /** Cache folder (`HF_HUB_CACHE`, else `HF_HOME`/hub, else ~/.cache/huggingface/hub). */
  cacheDir?: string;
  /** Access token for gated or private repos (`HF_TOKEN`, else `HUGGING_FACE_HUB_TOKEN`, else the file `HF_TOKEN_PATH` or `HF_HOME`/token). */
  token?: string;
  /** Use only the cache (`HF_HUB_OFFLINE=1`). @default {false} */
  offline?: boolean;
  /** Branch, tag or commit. @default {"main"} */
  revision?: string;
  /** Kind of repo: models and datasets live apart on the Hub and in its cache. @default {"model"} */
  repoType?: RepoType;
  /** Seconds to wait for the Hub's answer about a file (`HF_HUB_ETAG_TIMEOUT`). @default {10} */
  etagTimeout?: number;
  /** Seconds a download may wait for its answer or for its next bytes (`HF_HUB_DOWNLOAD_TIMEOUT`). @default {10} */
  downloadTimeout?: number;
  /** Largest size in bytes accepted for the file, for files expected to be small (configs). @default {Infinity} */
  maxSize?: number;
  /** Called as bytes arrive. */
  onProgress?: (file: string, received: number, total: number) => void;
}

/** A Hub repo's kind. */
export type RepoType = "model" | "dataset";

/** Raised when the Hub cannot provide a file (missing, gated, offline and not cached, wrong content). */
export class HubError extends Error {
  /** HTTP status, when the Hub answered with an error. */
  readonly status?: number;
  /**
   * Creates the error.
   *
   * @param message What failed and what to do.
   * @param options The HTTP status and the underlying error.
   */
  constructor(message: string, options?: { status?: number; cause?: unknown }) {
    super(message, { cause: options?.cause });
    this.name = "HubError";
    this.status = options?.status;
  }
}

/**
 * Raised when the repo has no such file (the Hub answered 404 EntryNotFound), or when offline mode is set and
 * the cache does not hold it, as huggingface_hub's EntryNotFoundError: the one error optional files may ignore.
 */
export class EntryNotFoundError extends HubError {
  /**
   * Creates the error.
   *
   * @param message What is missing.
   * @param options The HTTP status (404 when the Hub said so).
   */
  constructor(message: string, options?: { status?: number }) {
    super(message, options);
    this.name = "EntryNotFoundError";
  }
}

/** Commits are full SHA-1s; anything else in X-Repo-Commit or refs/ is refused before it becomes a path. */
const COMMIT = /^[0-9a-f]{40}$/;
/** Blob names are the Hub's ETags: git blob SHA-1s, and SHA-256s for LFS files; both say what the bytes must be. */
const ETAG = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
/** The Hub keeps files over 10 MB in LFS: a regular file announced far larger is not believed. */
const NON_LFS_LIMIT = 64 * 2 ** 20;
const MAX_REDIRECTS = 5;

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined; // no --allow-env: use the defaults
  }
}

function seconds(name: string, option: number | undefined): number {
  const raw = option ?? env(name);
  if (raw === undefined) return 10;
  const value = Number(raw);
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(`${name} must be a positive number of seconds: found ${JSON.stringify(String(raw))}`);
  }
  return value;
}

function tokenFile(hfHome: string): string | undefined {
  try {
    return Deno.readTextFileSync(env("HF_TOKEN_PATH") ?? join(hfHome, "token")).replace(/[\r\n]/g, "").trim() ||
      undefined;
  } catch {
    return undefined; // not logged in, or no --allow-read for it
  }
}

/**
 * The settings in effect: explicit options first, then the environment, then the Hub's defaults.
 *
 * @example
 * ```ts
 * import { hubSettings } from "./hf_hub.ts";
 * console.log(hubSettings({ endpoint: "http://localhost:1" }).endpoint); // "http://localhost:1"
 * ```
 *
 * @param options Overrides.
 * @returns Complete settings.
 * @throws {RangeError} When a timeout is not a positive number of seconds.
 */
export function hubSettings(
  options: HubOptions = {},
): Required<Omit<HubOptions, "token" | "onProgress" | "repoType" | "maxSize">> & { token?: string } {
  const home = env("HOME") ?? env("USERPROFILE") ?? ".";
  const hfHome = env("HF_HOME") ?? join(env("XDG_CACHE_HOME") ?? join(home, ".cache"), "huggingface");
  const offlineVar = env("HF_HUB_OFFLINE") ?? "";
  return {
    endpoint: (options.endpoint ?? env("HF_ENDPOINT") ?? "https://huggingface.co").replace(/\/+$/, ""),
    cacheDir: options.cacheDir ?? env("HF_HUB_CACHE") ?? join(hfHome, "hub"),
    token: options.token ?? env("HF_TOKEN") ?? env("HUGGING_FACE_HUB_TOKEN") ?? tokenFile(hfHome),
    offline: options.offline ?? ["1", "true", "yes", "on"].includes(offlineVar.toLowerCase()),
    revision: options.revision ?? "main",
    etagTimeout: seconds("HF_HUB_ETAG_TIMEOUT", options.etagTimeout),
    downloadTimeout: seconds("HF_HUB_DOWNLOAD_TIMEOUT", options.downloadTimeout),
  };
}

/**
 * The repo's folder in the cache: `models--org--name` or `datasets--org--name`.
 *
 * @example
 * ```ts
 * import { repoCacheDir } from "./hf_hub.ts";
 * console.log(repoCacheDir("org/data", "/cache", "dataset")); // "/cache/datasets--org--data"
 * ```
 *
 * @param repoId E.g. `openai-community/gpt2`.
 * @param cacheDir The Hub cache.
 * @param repoType Model or dataset. @default {"model"}
 * @returns The folder.
 */
export function repoCacheDir(repoId: string, cacheDir: string, repoType: RepoType = "model"): string {
  return join(cacheDir, `${repoType}s--${repoId.replaceAll("/", "--")}`);
}

/** The URL path of a repo on the Hub: models at the root, datasets under `datasets/`. */
function repoPath(repoId: string, repoType: RepoType): string {
  return repoType === "dataset" ? `datasets/${repoId}` : repoId;
}

/** A server-sent value quoted for a one-line message, however long or odd. */
function quote(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}

/** Another error's message on one line, for the end of ours. */
function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s+/g, " ").trim().slice(0, 200);
}

/** `parts` joined under `root`, refused when the result would leave `root`. */
function inside(root: string, ...parts: string[]): string | undefined {
  const path = join(root, ...parts);
  return path.startsWith(root + sep) ? path : undefined;
}

/** Whether `path` is a plain relative path: no `..`, no empty or `.` part, no backslash. */
function isPlainPath(path: string): boolean {
  return !path.includes("\\") && path.split("/").every((part) => part !== "" && part !== "." && part !== "..");
}

function checkNames(repoId: string, revision: string, filename?: string): void {
  if (!/^[\w.-]+\/[\w.-]+$/.test(repoId) || !isPlainPath(repoId)) {
    throw new TypeError(`Hub repo id ${quote(repoId)} is not of the form org/name`);
  }
  if (!isPlainPath(revision)) {
    throw new TypeError(`Revision ${quote(revision)} of ${repoId} is not a branch, tag or commit`);
  }
  if (filename !== undefined && !isPlainPath(filename)) {
    throw new TypeError(`File name ${quote(filename)} of ${repoId} is not a relative path inside the repo`);
  }
}

/** The commit a revision names in the cache: itself when it is one, else what `refs/<revision>` holds. */
async function cachedCommit(repoDir: string, revision: string, label: string): Promise<string | undefined> {
  if (COMMIT.test(revision)) return revision;
  const ref = inside(join(repoDir, "refs"), revision);
  if (!ref) return undefined;
  const text = await Deno.readTextFile(ref).catch(() => undefined);
  if (text === undefined) return undefined;
  // refs hold a commit hash; anything else (an edited or damaged ref) must not steer us to another folder
  const commit = text.trim();
  if (!COMMIT.test(commit)) {
    throw new HubError(
      `Cannot use the cached ${label}: ${ref} holds ${quote(commit)}, not a commit hash (delete it and download again)`,
    );
  }
  return commit;
}

/** The cached file of a commit, if there is one and it stays inside the repo's folder. */
async function cachedPointer(
  repoDir: string,
  commit: string,
  filename: string,
  label: string,
): Promise<string | undefined> {
  const pointer = inside(join(repoDir, "snapshots", commit), filename);
  if (!pointer || !await exists(pointer)) return undefined;
  const stat = await Deno.lstat(pointer);
  if (stat.isSymlink) {
    const target = resolve(dirname(pointer), await Deno.readLink(pointer));
    if (!target.startsWith(resolve(repoDir) + sep)) {
      throw new HubError(
        `Cannot use the cached ${label}: ${pointer} links to ${target}, outside ${repoDir} (delete it and download again)`,
      );
    }
  }
  return stat.isSymlink || stat.isFile ? pointer : undefined;
}

async function cachedFile(
  repoDir: string,
  revision: string,
  filename: string,
  label: string,
): Promise<string | undefined> {
  const commit = await cachedCommit(repoDir, revision, label);
  return commit === undefined ? undefined : await cachedPointer(repoDir, commit, filename, label);
}

/** `refs/<revision>` written only when it changes, atomically, as huggingface_hub does. */
async function writeRef(repoDir: string, revision: string, commit: string): Promise<void> {
  if (revision === commit) return;
  const ref = inside(join(repoDir, "refs"), revision)!;
  if ((await Deno.readTextFile(ref).catch(() => undefined)) === commit) return;
  await Deno.mkdir(dirname(ref), { recursive: true });
  await writeFileAtomic(ref, commit);
}

async function link(blob: string, pointer: string): Promise<void> {
  await Deno.mkdir(dirname(pointer), { recursive: true });
  await Deno.remove(pointer).catch(() => {});
  try {
    await Deno.symlink(relative(dirname(pointer), blob), pointer);
  } catch {
    await Deno.copyFile(blob, pointer); // file systems without symlinks, as huggingface_hub does
  }
}

function cleanEtag(etag: string | null): string | undefined {
  return etag?.replace(/^W\//, "").replace(/"/g, "") || undefined;
}

/** What the Hub says of a file before it is downloaded. */
interface FileMetadata {
  commit: string;
  etag: string;
  size: number;
  /** Where the bytes are: the resolve URL itself, or the CDN it redirects to. */
  location: string;
  /** LFS (the Hub sent X-Linked-Etag): no size bound, and a download that broke off resumes. */
  lfs: boolean;
}

/**
 * A failed look-up of a file's metadata; `cacheable` when huggingface_hub would then use a cached copy
 * (unreachable, timeout, 401/403/429/5xx, a repo-level 404, headers missing or unusable).
 */
class MetadataError extends HubError {
  readonly cacheable: boolean;
  constructor(message: string, cacheable: boolean, options?: { status?: number; cause?: unknown }) {
    super(message, options);
    this.cacheable = cacheable;
  }
}

function describeStatus(status: number, hasToken: boolean): string {
  if (status === 401 || status === 403) {
    return `the Hub answered ${status}: the repo is gated or private; ` +
      (hasToken ? "the token in HF_TOKEN has no access to it" : "set HF_TOKEN to a token with access");
  }
  if (status === 404) return "the Hub answered 404: no such repo, revision or file";
  if (status === 429) return "the Hub answered 429: too many requests, try again later";
  return `the Hub answered ${status}`;
}

function hostOf(url: string): string {
  return new URL(url).host;
}

function parseSize(value: string | null): number | undefined {
  return value !== null && /^\d{1,16}$/.test(value.trim()) ? Number(value) : undefined;
}

async function fileMetadata(
  url: string,
  tail: string,
  headers: Record<string, string>,
  etagTimeout: number,
): Promise<FileMetadata> {
  let current = url;
  let head: TimedResponse;
  try {
    for (let hops = 0;; hops++) {
      head = await timedFetch(current, { method: "HEAD", headers, redirect: "manual" }, etagTimeout);
      await head.cancel();
      const location = head.response.headers.get("location");
      // a renamed repo answers with a relative redirect to its new name; a file on the CDN, an absolute one
      const relativeRedirect = head.response.status >= 300 && head.response.status < 400 &&
        location?.startsWith("/") && !location.startsWith("//");
      if (!relativeRedirect) break;
      if (hops === MAX_REDIRECTS) throw new MetadataError(`the Hub redirects more than ${MAX_REDIRECTS} times`, true);
      current = new URL(location!, current).href;
      // a new repo name, never another file or revision: a redirect must not swap the file we asked for
      if (!new URL(current).pathname.endsWith(tail)) {
        throw new MetadataError(`the Hub redirects to ${quote(location!)}, not to ${tail} of a renamed repo`, true);
      }
    }
  } catch (error) {
    if (error instanceof MetadataError) throw error;
    throw new MetadataError(
      error instanceof StallError
        ? `the Hub did not answer within ${error.seconds} s (HF_HUB_ETAG_TIMEOUT)`
        : `the Hub is unreachable (${oneLine(error)})`,
      true,
      { cause: error },
    );
  }
  const response = head.response;
  if (response.status >= 400) {
    const code = response.headers.get("x-error-code");
    const message = describeStatus(response.status, "Authorization" in headers);
    if (response.status === 404 && code === "EntryNotFound") throw new EntryNotFoundError(message, { status: 404 });
    throw new MetadataError(message, !(response.status === 404 && code === "RevisionNotFound"), {
      status: response.status,
    });
  }
  const redirect = response.status >= 300 && response.status < 400;
  const commit = response.headers.get("x-repo-commit");
  const linkedEtag = response.headers.get("x-linked-etag");
  const etag = cleanEtag(linkedEtag ?? response.headers.get("etag"));
  // on a redirect Content-Length is the redirect's own body: only X-Linked-Size gives the file's size
  const size = parseSize(
    response.headers.get("x-linked-size") ?? (redirect ? null : response.headers.get("content-length")),
  );
  if (!commit || !etag || size === undefined) {
    throw new MetadataError("the answer has no X-Repo-Commit, ETag or size: is the endpoint a Hugging Face Hub?", true);
  }
  if (!COMMIT.test(commit)) throw new MetadataError(`X-Repo-Commit ${quote(commit)} is not a commit hash`, true);
  if (!ETAG.test(etag)) throw new MetadataError(`ETag ${quote(etag)} is not a sha1 or sha256 hash`, true);
  let location = current;
  if (redirect) {
    try {
      location = new URL(response.headers.get("location") ?? "", current).href;
    } catch {
      throw new MetadataError(`the redirect to ${quote(response.headers.get("location") ?? "")} is no URL`, true);
    }
    if (!/^https?:$/.test(new URL(location).protocol)) {
      throw new MetadataError(`the redirect to ${quote(location)} is not http(s)`, true);
    }
  }
  return { commit, etag, size, location, lfs: linkedEtag !== null };
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

async function downloadToCache(
  repoId: string,
  filename: string,
  label: string,
  settings: ReturnType<typeof hubSettings>,
  options: HubOptions,
): Promise<string> {
  const { endpoint, cacheDir, token, offline, revision } = settings;
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
  const tail = `/resolve/${encodeURIComponent(revision)}/${filename.split("/").map(encodeURIComponent).join("/")}`;
  const url = `${endpoint}/${repoPath(repoId, repoType)}${tail}`;
  const headers: Record<string, string> = { "Accept-Encoding": "identity" };
  if (token) headers.Authorization = `Bearer ${token}`;
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
  await Deno.mkdir(join(repoDir, "blobs"), { recursive: true });
  await writeRef(repoDir, revision, meta.commit);
  const blob = join(repoDir, "blobs", meta.etag);
  await withFileLock(join(cacheDir, ".locks", basename(repoDir), `${meta.etag}.lock`), async () => {
    // another run may have fetched it while we waited; a blob of the wrong size is fetched again
    if (!await exists(blob) || (await Deno.stat(blob)).size !== meta.size) {
      const authorized = hostOf(meta.location) === hostOf(url) ? headers : { "Accept-Encoding": "identity" };
      await downloadBlob(meta, blob, authorized, settings.downloadTimeout, filename, fail, options.onProgress);
    }
    await link(blob, pointer);
  });
  return pointer;
}

/** Builds the one-line error of the file being fetched. */
type Fail = (what: string, options?: { status?: number; cause?: unknown }) => HubError;

/** The file's hash in the ETag's kind: sha256 of the bytes, or git's sha1 of `blob <size>\0` and the bytes. */
async function hashFile(path: string, etag: string, size: number): Promise<string> {
  const hash = etag.length === 64 ? createHash("sha256") : createHash("sha1").update(`blob ${size}\0`);
  using file = await Deno.open(path);
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

/**
 * Fetches a blob into a partial file of its own and renames it into place once its size and hash are the
 * announced ones. An LFS blob resumes: If-Range asks the server for the whole file when the content changed,
 * and the final hash catches a server that ignores it.
 */
async function downloadBlob(
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
        : `the download server is unreachable (${oneLine(error)})`,
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
        : `the download broke off after ${received} of ${meta.size} bytes (${oneLine(error)})`,
      { cause: error },
    );
  }
  if (received !== meta.size) {
    throw fail(`the download ended after ${received} bytes, the Hub announced ${meta.size}`);
  }
}

/**
 * The files of a repo at a revision, sorted by path: the Hub's tree API (all pages), or the cached
 * snapshot when offline, or when the Hub cannot answer (as for {@linkcode hfHubDownload}).
 *
 * @example List a dataset's Parquet files
 * ```ts ignore
 * import { hfListFiles } from "./hf_hub.ts";
 * const files = await hfListFiles("stas/openwebtext-10k", { repoType: "dataset" });
 * console.log(files.filter((f) => f.endsWith(".parquet")));
 * ```
 *
 * @param repoId E.g. `NeelNanda/pile-10k`.
 * @param options Endpoint, cache, token, offline mode, revision, repo type, timeouts.
 * @returns Paths inside the repo.
 * @throws {HubError} When the Hub cannot list the repo and nothing is cached.
 */
export async function hfListFiles(repoId: string, options: HubOptions = {}): Promise<string[]> {
  const settings = hubSettings(options);
  const { endpoint, cacheDir, token, offline, revision } = settings;
  checkNames(repoId, revision);
  const repoType = options.repoType ?? "model";
  const repoDir = repoCacheDir(repoId, cacheDir, repoType);
  const label = `${repoType === "dataset" ? "dataset " : ""}${repoId}`;
  const cached = async (): Promise<string[] | undefined> => {
    const commit = await cachedCommit(repoDir, revision, label);
    const root = commit === undefined ? undefined : join(repoDir, "snapshots", commit);
    if (!root || !await exists(root)) return undefined;
    return (await listFiles(root)).map((path) => relative(root, path));
  };
  if (offline) {
    const files = await cached();
    if (files) return files;
    throw new HubError(`${label} is not in the cache ${cacheDir} and HF_HUB_OFFLINE is set: download it once online`);
  }
  const fail = async (what: string, cacheable: boolean, options?: { status?: number; cause?: unknown }) => {
    const fallback = cacheable ? await cached() : undefined;
    if (fallback) return fallback;
    const none = cacheable ? "; no cached copy to fall back on" : "";
    throw new HubError(`Cannot list ${label} on ${endpoint}: ${what}${none}`, options);
  };
  const auth: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
  let url: string | undefined = `${endpoint}/api/${repoType}s/${repoId}/tree/${
    encodeURIComponent(revision)
  }?recursive=true`;
  const seen = new Set<string>();
  const files: string[] = [];
  while (url) {
    seen.add(url);
    let answer: TimedResponse;
    let entries: unknown;
    try {
      const headers = hostOf(url) === hostOf(endpoint) ? auth : {}; // a next page elsewhere gets no token
      answer = await timedFetch(url, { headers }, settings.etagTimeout);
      if (!answer.response.ok) {
        await answer.cancel();
        const { status } = answer.response;
        return await fail(describeStatus(status, token !== undefined), status !== 404, { status });
      }
      const decoder = new TextDecoder();
      let text = "";
      for await (const chunk of answer.chunks()) {
        text += decoder.decode(chunk, { stream: true });
        if (text.length > NON_LFS_LIMIT) return await fail("a tree API page is larger than 64 MiB", true);
      }
      entries = JSON.parse(text + decoder.decode());
    } catch (error) {
      return await fail(
        error instanceof StallError
          ? `the Hub did not answer within ${error.seconds} s (HF_HUB_ETAG_TIMEOUT)`
          : error instanceof SyntaxError
          ? "the tree API answered with invalid JSON"
          : `the Hub is unreachable (${oneLine(error)})`,
        true,
        { cause: error },
      );
    }
    if (!Array.isArray(entries)) return await fail("the tree API answered with no list of files", true);
    for (const entry of entries as { type?: unknown; path?: unknown }[]) {
      if (entry?.type !== "file") continue;
      if (typeof entry.path !== "string" || !isPlainPath(entry.path)) {
        return await fail(`the tree API lists ${quote(String(entry.path))}, not a relative path`, true);
      }
      files.push(entry.path);
    }
    // the tree API pages with a Link header, as GitHub's does
    const next: string | undefined = /<([^>]+)>;\s*rel="next"/.exec(answer.response.headers.get("link") ?? "")?.[1];
    url = next === undefined ? undefined : new URL(next, url).href;
    if (url !== undefined && (seen.has(url) || !/^https?:$/.test(new URL(url).protocol))) {
      return await fail(`the tree API's next page ${quote(url)} is not a new http(s) page`, true);
    }
  }
  return files.sort();
}
