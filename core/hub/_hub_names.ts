/**
 * Names the Hub sends or the caller gives (commits, ETags, repo ids, file names, hosts), checked before they
 * become paths or decide where a token goes.
 *
 * @module
 */

import { join, sep } from "node:path";
import { quote } from "./_hub_messages.ts";

/** Commits are full SHA-1s; anything else in X-Repo-Commit or refs/ is refused before it becomes a path. */
export const COMMIT = /^[0-9a-f]{40}$/;

/** Blob names are the Hub's ETags: git blob SHA-1s, and SHA-256s for LFS files; both say what the bytes must be. */
export const ETAG = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** `parts` joined under `root`, refused when the result would leave `root`. */
export function inside(root: string, ...parts: string[]): string | undefined {
  const path = join(root, ...parts);
  return path.startsWith(root + sep) ? path : undefined;
}

/** Whether `path` is a plain relative path: no `..`, no empty or `.` part, no backslash. */
export function isPlainPath(path: string): boolean {
  return !path.includes("\\") && path.split("/").every((part) => part !== "" && part !== "." && part !== "..");
}

/** Refuses a repo id, revision or file name that is not a plain relative path, before it becomes a path or URL. */
export function checkNames(repoId: string, revision: string, filename?: string): void {
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

/** The host (and port) of a URL: a token goes only where the request it came with went. */
export function hostOf(url: string): string {
  return new URL(url).host;
}
