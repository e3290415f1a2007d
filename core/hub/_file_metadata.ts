/**
 * What the Hub says of a file before it is downloaded (a HEAD request): commit, ETag, size and where the bytes are,
 * each checked before it is believed.
 *
 * @module
 */

import { StallError, timedFetch, type TimedResponse } from "./_timed_fetch.ts";
import { COMMIT, ETAG } from "./_hub_names.ts";
import { describeStatus, fetchProblem, quote } from "./_hub_messages.ts";
import { EntryNotFoundError, HubError } from "./hub_error.ts";

/** The Hub keeps files over 10 MB in LFS: a regular file announced far larger is not believed. */
export const NON_LFS_LIMIT = 64 * 2 ** 20;

export const MAX_REDIRECTS = 5;

/** An ETag header without its weak prefix and quotes. */
export function cleanEtag(etag: string | null): string | undefined {
  return etag?.replace(/^W\//, "").replace(/"/g, "") || undefined;
}

/** What the Hub says of a file before it is downloaded. */
export interface FileMetadata {
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
export class MetadataError extends HubError {
  readonly cacheable: boolean;
  constructor(message: string, cacheable: boolean, options?: { status?: number; cause?: unknown }) {
    super(message, options);
    this.cacheable = cacheable;
  }
}

/** A byte count from a header, if it is one. */
export function parseSize(value: string | null): number | undefined {
  return value !== null && /^\d{1,16}$/.test(value.trim()) ? Number(value) : undefined;
}

/** Asks the Hub (HEAD) for a file's commit, ETag, size and location, following a renamed repo's redirects. */
export async function fileMetadata(
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
        : fetchProblem(error, "the Hub"),
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
