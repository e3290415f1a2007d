/**
 * Hugging Face Hub downloads into the Hub's own cache layout (what `huggingface_hub` writes), so files a
 * Python user already downloaded are reused and ours are reused by Python:
 * `<cache>/models--org--name/{blobs/<etag>, snapshots/<commit>/<file> → blob, refs/<revision>}`.
 * Partial downloads resume from `blobs/<etag>.incomplete`; sizes are checked before a blob is kept.
 *
 * @module
 */

import { dirname, join, relative } from "node:path";
import { exists } from "../io/exists.ts";
import { listFiles } from "../io/list_files.ts";

/** Where and how to reach the Hub; each field defaults to the environment variable Python uses. */
export interface HubOptions {
  /** Hub address (`HF_ENDPOINT`). @default {"https://huggingface.co"} */
  endpoint?: string;
  /** Cache folder (`HF_HUB_CACHE`, else `HF_HOME`/hub, else ~/.cache/huggingface/hub). */
  cacheDir?: string;
  /** Access token for gated or private repos (`HF_TOKEN`). */
  token?: string;
  /** Use only the cache (`HF_HUB_OFFLINE=1`). @default {false} */
  offline?: boolean;
  /** Branch, tag or commit. @default {"main"} */
  revision?: string;
  /** Kind of repo: models and datasets live apart on the Hub and in its cache. @default {"model"} */
  repoType?: RepoType;
  /** Called as bytes arrive. */
  onProgress?: (file: string, received: number, total: number) => void;
}

/** A Hub repo's kind. */
export type RepoType = "model" | "dataset";

/** Raised when the Hub cannot provide a file (missing, gated, offline and not cached, size mismatch). */
export class HubError extends Error {
  /** HTTP status, when the Hub answered. */
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

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined; // no --allow-env: use the defaults
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
 */
export function hubSettings(
  options: HubOptions = {},
): Required<Omit<HubOptions, "token" | "onProgress" | "repoType">> & {
  token?: string;
} {
  const home = env("HOME") ?? env("USERPROFILE") ?? ".";
  const hfHome = env("HF_HOME") ?? join(env("XDG_CACHE_HOME") ?? join(home, ".cache"), "huggingface");
  const offlineVar = env("HF_HUB_OFFLINE") ?? "";
  return {
    endpoint: (options.endpoint ?? env("HF_ENDPOINT") ?? "https://huggingface.co").replace(/\/+$/, ""),
    cacheDir: options.cacheDir ?? env("HF_HUB_CACHE") ?? join(hfHome, "hub"),
    token: options.token ?? env("HF_TOKEN"),
    offline: options.offline ?? ["1", "true", "yes", "on"].includes(offlineVar.toLowerCase()),
    revision: options.revision ?? "main",
  };
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

/** The cached snapshot folder of a revision (a branch resolves through `refs/`). */
async function snapshotDir(repoDir: string, revision: string): Promise<string> {
  const ref = join(repoDir, "refs", revision);
  const commit = await exists(ref) ? (await Deno.readTextFile(ref)).trim() : revision;
  return join(repoDir, "snapshots", commit);
}

async function cachedPath(repoDir: string, revision: string, filename: string): Promise<string | undefined> {
  const path = join(await snapshotDir(repoDir, revision), filename);
  return await exists(path) ? path : undefined;
}

function describeStatus(status: number, url: string, hasToken: boolean): string {
  if (status === 401 || status === 403) {
    return `${url} answered ${status}: the repo is gated or private; ` +
      (hasToken ? "the token in HF_TOKEN has no access to it" : "set HF_TOKEN to a token with access");
  }
  if (status === 404) return `${url} answered 404: no such repo, revision or file`;
  return `${url} answered ${status}`;
}

/**
 * Downloads one file of a model repo into the Hub cache (or finds it there) and returns its local path.
 *
 * @example Fetch GPT-2's config
 * ```ts ignore
 * import { hfHubDownload } from "./hf_hub.ts";
 * const path = await hfHubDownload("openai-community/gpt2", "config.json");
 * ```
 *
 * @param repoId E.g. `openai-community/gpt2`.
 * @param filename Path inside the repo.
 * @param options Endpoint, cache, token, offline mode, revision.
 * @returns The file's path under `snapshots/<commit>/`.
 * @throws {HubError} When the file cannot be had (the message says why and what to do).
 */
export async function hfHubDownload(repoId: string, filename: string, options: HubOptions = {}): Promise<string> {
  const { endpoint, cacheDir, token, offline, revision } = hubSettings(options);
  const repoType = options.repoType ?? "model";
  const repoDir = repoCacheDir(repoId, cacheDir, repoType);
  if (offline) {
    const cached = await cachedPath(repoDir, revision, filename);
    if (cached) return cached;
    throw new HubError(
      `${repoId}/${filename} is not in the cache ${cacheDir} and HF_HUB_OFFLINE is set: download it once online`,
    );
  }
  const url = `${endpoint}/${repoPath(repoId, repoType)}/resolve/${encodeURIComponent(revision)}/${filename}`;
  const headers: Record<string, string> = { "Accept-Encoding": "identity" };
  if (token) headers.Authorization = `Bearer ${token}`;

  let head: Response;
  try {
    head = await fetch(url, { method: "HEAD", headers, redirect: "manual" });
    // a renamed repo answers with a relative redirect to its new name; a file on the CDN, an absolute one
    for (let hops = 0; hops < 5 && head.status >= 300 && head.status < 400; hops++) {
      const location = head.headers.get("location") ?? "";
      if (!location.startsWith("/") || head.headers.get("x-linked-etag")) break;
      head = await fetch(new URL(location, endpoint), { method: "HEAD", headers, redirect: "manual" });
    }
  } catch (e) {
    const cached = await cachedPath(repoDir, revision, filename);
    if (cached) return cached; // offline but cached: as huggingface_hub does
    throw new HubError(`Cannot reach ${endpoint} for ${repoId}/${filename}: ${(e as Error).message}`, { cause: e });
  }
  if (head.status >= 400) {
    throw new HubError(describeStatus(head.status, url, token !== undefined), { status: head.status });
  }
  const commit = head.headers.get("x-repo-commit");
  const etag = cleanEtag(head.headers.get("x-linked-etag") ?? head.headers.get("etag"));
  const sizeHeader = head.headers.get("x-linked-size") ?? head.headers.get("content-length");
  if (!commit || !etag) {
    throw new HubError(`${url} did not send X-Repo-Commit and ETag headers: is ${endpoint} a Hugging Face Hub?`);
  }
  const size = sizeHeader === null ? undefined : Number(sizeHeader);
  if (revision !== commit) {
    await Deno.mkdir(join(repoDir, "refs"), { recursive: true });
    await Deno.writeTextFile(join(repoDir, "refs", revision), commit);
  }
  const pointer = join(repoDir, "snapshots", commit, filename);
  const blob = join(repoDir, "blobs", etag);
  if (await exists(pointer)) return pointer;
  if (await exists(blob) && (size === undefined || (await Deno.stat(blob)).size === size)) {
    await link(blob, pointer);
    return pointer;
  }
  await Deno.mkdir(dirname(blob), { recursive: true });
  await downloadBlob(url, `${blob}.incomplete`, headers, size, filename, options.onProgress);
  await Deno.rename(`${blob}.incomplete`, blob);
  await link(blob, pointer);
  return pointer;
}

async function downloadBlob(
  url: string,
  partial: string,
  headers: Record<string, string>,
  size: number | undefined,
  filename: string,
  onProgress?: HubOptions["onProgress"],
): Promise<void> {
  let have = await exists(partial) ? (await Deno.stat(partial)).size : 0;
  if (size !== undefined && have > size) {
    await Deno.remove(partial);
    have = 0;
  }
  const response = await fetch(url, { headers: have > 0 ? { ...headers, Range: `bytes=${have}-` } : headers });
  if (response.status >= 400 && response.status !== 416) {
    await response.body?.cancel();
    throw new HubError(describeStatus(response.status, url, "Authorization" in headers), { status: response.status });
  }
  if (have > 0 && response.status === 200) have = 0; // the server ignored Range: start over
  const file = await Deno.open(partial, { create: true, write: true, append: have > 0, truncate: have === 0 });
  let received = have;
  try {
    if (response.status !== 416 && response.body) {
      for await (const chunk of response.body) {
        let written = 0;
        while (written < chunk.length) written += await file.write(chunk.subarray(written));
        received += chunk.length;
        onProgress?.(filename, received, size ?? received);
      }
    }
  } catch (e) {
    throw new HubError(
      `The download of ${url} broke off after ${received} bytes (kept; the next attempt resumes): ${
        (e as Error).message
      }`,
      { cause: e },
    );
  } finally {
    file.close();
  }
  if (size !== undefined && received !== size) {
    throw new HubError(`${url} gave ${received} bytes: the Hub announced ${size} (kept; the next attempt resumes)`);
  }
}

/**
 * The files of a repo at a revision, sorted by path: the Hub's tree API (all pages), or the cached
 * snapshot when offline or unreachable.
 *
 * @example List a dataset's Parquet files
 * ```ts ignore
 * import { hfListFiles } from "./hf_hub.ts";
 * const files = await hfListFiles("stas/openwebtext-10k", { repoType: "dataset" });
 * console.log(files.filter((f) => f.endsWith(".parquet")));
 * ```
 *
 * @param repoId E.g. `NeelNanda/pile-10k`.
 * @param options Endpoint, cache, token, offline mode, revision, repo type.
 * @returns Paths inside the repo.
 * @throws {HubError} When the Hub cannot list the repo and nothing is cached.
 */
export async function hfListFiles(repoId: string, options: HubOptions = {}): Promise<string[]> {
  const { endpoint, cacheDir, token, offline, revision } = hubSettings(options);
  const repoType = options.repoType ?? "model";
  const repoDir = repoCacheDir(repoId, cacheDir, repoType);
  const cached = async (): Promise<string[] | undefined> => {
    const root = await snapshotDir(repoDir, revision);
    if (!await exists(root)) return undefined;
    return (await listFiles(root)).map((path) => relative(root, path));
  };
  if (offline) {
    const files = await cached();
    if (files) return files;
    throw new HubError(`${repoId} is not in the cache ${cacheDir} and HF_HUB_OFFLINE is set: download it once online`);
  }
  const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
  let url: string | undefined = `${endpoint}/api/${repoType}s/${repoId}/tree/${
    encodeURIComponent(revision)
  }?recursive=true`;
  const files: string[] = [];
  while (url) {
    let response: Response;
    try {
      response = await fetch(url, { headers });
    } catch (e) {
      const fallback = await cached();
      if (fallback) return fallback;
      throw new HubError(`Cannot reach ${endpoint} to list ${repoId}: ${(e as Error).message}`, { cause: e });
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new HubError(describeStatus(response.status, url, token !== undefined), { status: response.status });
    }
    const entries = await response.json() as { type: string; path: string }[];
    for (const entry of entries) if (entry.type === "file") files.push(entry.path);
    // the tree API pages with a Link header, as GitHub's does
    url = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get("link") ?? "")?.[1];
  }
  return files.sort();
}
