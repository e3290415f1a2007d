/**
 * Listing a Hub repo's files: the tree API's pages, or the cached snapshot when offline or when the Hub cannot
 * answer.
 *
 * @module
 */

import { join, relative } from "node:path";
import { exists } from "../io/exists.ts";
import { listFiles } from "../io/list_files.ts";
import { StallError, timedFetch, type TimedResponse } from "./_timed_fetch.ts";
import { NON_LFS_LIMIT } from "./_file_metadata.ts";
import { checkNames, hostOf, isPlainPath } from "./_hub_names.ts";
import { describeStatus, fetchProblem, quote } from "./_hub_messages.ts";
import { HubError } from "./hub_error.ts";
import { type HubOptions, hubSettings } from "./hub_settings.ts";
import { cachedCommit, repoCacheDir } from "./repo_cache.ts";

/**
 * The files of a repo at a revision, sorted by path: the Hub's tree API (all pages), or the cached
 * snapshot when offline, or when the Hub cannot answer (as for {@linkcode hfHubDownload}).
 *
 * @example List a dataset's Parquet files
 * ```ts ignore
 * import { hfListFiles } from "./hf_list_files.ts";
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
          : fetchProblem(error, "the Hub"),
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
