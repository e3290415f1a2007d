/**
 * The Hub cache's layout, as `huggingface_hub` writes it:
 * `<cache>/models--org--name/{blobs/<etag>, snapshots/<commit>/<file> → blob, refs/<revision>}`. Reads check that
 * refs hold commits and links stay inside the repo's folder.
 *
 * @module
 */

import { dirname, join, relative, resolve, sep } from "node:path";
import { exists } from "../io/exists.ts";
import { readRegularTextFile } from "../io/read_regular_file.ts";
import { writeFileAtomic } from "../io/atomic_write.ts";
import { COMMIT, inside } from "./_hub_names.ts";
import { quote } from "./_hub_messages.ts";
import { HubError } from "./hub_error.ts";
import type { RepoType } from "./hub_settings.ts";

/**
 * The repo's folder in the cache: `models--org--name` or `datasets--org--name`.
 *
 * @example
 * ```ts
 * import { repoCacheDir } from "./repo_cache.ts";
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

/** A ref holds a commit hash and a newline. */
const REF_LIMIT = 1024;

/** The commit a revision names in the cache: itself when it is one, else what `refs/<revision>` holds. */
export async function cachedCommit(repoDir: string, revision: string, label: string): Promise<string | undefined> {
  if (COMMIT.test(revision)) return revision;
  const ref = inside(join(repoDir, "refs"), revision);
  if (!ref) return undefined;
  const text = await readRegularTextFile(ref, REF_LIMIT, "a ref").catch((e) => {
    if (e instanceof Deno.errors.NotFound) return undefined;
    // a FIFO, a device or megabytes where a 40-character commit belongs
    throw new HubError(`Cannot use the cached ${label}: ${(e as Error).message} (delete it and download again)`);
  });
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
export async function cachedPointer(
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

/** The cached file a revision names, if the cache holds it. */
export async function cachedFile(
  repoDir: string,
  revision: string,
  filename: string,
  label: string,
): Promise<string | undefined> {
  const commit = await cachedCommit(repoDir, revision, label);
  return commit === undefined ? undefined : await cachedPointer(repoDir, commit, filename, label);
}

/** `refs/<revision>` written only when it changes, atomically, as huggingface_hub does. */
export async function writeRef(repoDir: string, revision: string, commit: string): Promise<void> {
  if (revision === commit) return;
  const ref = inside(join(repoDir, "refs"), revision)!;
  if ((await readRegularTextFile(ref, REF_LIMIT, "a ref").catch(() => undefined)) === commit) return;
  await Deno.mkdir(dirname(ref), { recursive: true });
  await writeFileAtomic(ref, commit);
}

/** Points `pointer` at `blob` with a relative symlink, or a copy where the file system has none. */
export async function link(blob: string, pointer: string): Promise<void> {
  await Deno.mkdir(dirname(pointer), { recursive: true });
  await Deno.remove(pointer).catch(() => {});
  try {
    await Deno.symlink(relative(dirname(pointer), blob), pointer);
  } catch {
    await Deno.copyFile(blob, pointer); // file systems without symlinks, as huggingface_hub does
  }
}
