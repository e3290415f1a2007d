/**
 * Pretrained SAEs from the release registry, downloaded into the Hugging Face cache the way SAELens's
 * `SAE.from_pretrained` fetches them: the files of the release's loader (`pretrained_loaders.ts`), e.g.
 * `{folder}/cfg.json` and `{folder}/sae_weights.safetensors` for SAELens folders, `{folder}/params.npz` for Gemma
 * Scope. A download that broke off (killed, disconnected) resumes where it stopped.
 *
 * @module
 */

import { join } from "node:path";
import { hfFileInfo, hfHubDownload } from "../hub/hf_hub.ts";
import { EntryNotFoundError } from "../hub/hub_error.ts";
import type { HubOptions } from "../hub/hub_settings.ts";
import { type LoaderFile, LOADERS, type PretrainedLoader } from "./pretrained_loaders.ts";
import { lookupRelease, releaseOverrides, RELEASES } from "./releases.ts";
import { closeMatches } from "../util/close_matches.ts";

/** Configs are a few kB: a Hub announcing more than this is not believed. */
const CONFIG_LIMIT = 2 ** 20;

/** A pretrained SAE on disk. */
export interface PulledSae {
  /** What `SAE.load` reads: the SAE's snapshot folder or, for single-file layouts (`.pt`, `layer_N.safetensors`), its file. */
  folder: string;
  /** Config fields the release overrides (Neuronpedia id, `norm_scaling_factor` included). */
  overrides: Record<string, unknown>;
}

/** One file of a planned download. */
export interface PlannedFile {
  /** Its path in the repo. */
  file: string;
  /** Its size in bytes. */
  size: number;
  /** Whether the cache holds it already. */
  cached: boolean;
  /** Bytes of an earlier, broken-off download that the next one resumes from. */
  partial: number;
}

/** What `pullPretrained` would fetch for an SAE. */
export interface PullPlan {
  /** The release's Hub repo. */
  repo: string;
  /** SAELens's loader for it. */
  loader: string;
  /** The files, in download order (optional ones the repo lacks left out). */
  files: PlannedFile[];
  /** Bytes still to download: the files not cached, less what partial downloads have. */
  bytesToDownload: number;
}

function releaseLoader(release: string, saeId: string) {
  const found = lookupRelease(release, saeId);
  const name = found.release.conversion_func ?? "sae_lens";
  const loader: PretrainedLoader | undefined = LOADERS[name];
  if (!loader) throw new RangeError(`Release ${release} uses the loader ${name}, which sae does not implement`);
  return { ...found, name, loader };
}

/** Runs `fn` on the first of a file's paths the repo has; undefined when it has none and the file is optional. */
async function firstPresent<T>(spec: LoaderFile, fn: (path: string) => Promise<T>): Promise<T | undefined> {
  for (const [i, path] of spec.paths.entries()) {
    try {
      return await fn(path);
    } catch (e) {
      // only the file's absence moves on, as in SAELens: not a refused token or a Hub outage
      if (!(e instanceof EntryNotFoundError) || (i === spec.paths.length - 1 && !spec.optional)) throw e;
    }
  }
  return undefined;
}

/**
 * Downloads one SAE of a release (only what the cache lacks).
 *
 * @example
 * ```ts ignore
 * const { folder } = await pullPretrained("gemma-scope-2b-pt-res", "layer_20/width_16k/average_l0_71");
 * ```
 *
 * @param release Release name (see `sae releases`).
 * @param saeId SAE id within the release.
 * @param hub Hub settings (endpoint, cache, token, offline, `onProgress` for the bytes as they arrive).
 * @returns What to load and the release's overrides.
 * @throws {RangeError} For an unknown release or SAE id (with close matches).
 * @throws {HubError} When a file cannot be downloaded (an optional one only when it fails other than missing).
 */
export async function pullPretrained(release: string, saeId: string, hub: HubOptions = {}): Promise<PulledSae> {
  const { release: entry, sae, loader } = releaseLoader(release, saeId);
  let snapshot: string | undefined;
  for (const spec of loader.files(sae.path)) {
    await firstPresent(spec, async (file) => {
      const local = await hfHubDownload(entry.repo_id, file, {
        ...hub,
        maxSize: spec.small ? CONFIG_LIMIT : hub.maxSize,
      });
      snapshot ??= local.slice(0, local.length - file.length - 1);
    });
  }
  return { folder: join(snapshot!, loader.target(sae.path)), overrides: releaseOverrides(entry, sae) };
}

/**
 * What {@linkcode pullPretrained} would download, asking the Hub for each file's size without downloading.
 *
 * @example
 * ```ts ignore
 * const plan = await planPretrained("gemma-scope-2b-pt-res", "layer_20/width_16k/average_l0_71");
 * console.log(plan.bytesToDownload);
 * ```
 *
 * @param release Release name.
 * @param saeId SAE id within the release.
 * @param hub Hub settings.
 * @returns The files with their sizes and what the cache has.
 * @throws {RangeError} For an unknown release or SAE id.
 * @throws {HubError} When the Hub cannot say.
 */
export async function planPretrained(release: string, saeId: string, hub: HubOptions = {}): Promise<PullPlan> {
  const { release: entry, sae, loader, name } = releaseLoader(release, saeId);
  const files: PlannedFile[] = [];
  for (const spec of loader.files(sae.path)) {
    const found = await firstPresent(spec, async (file) => ({ file, ...await hfFileInfo(entry.repo_id, file, hub) }));
    if (found) files.push(found);
  }
  const bytesToDownload = files.reduce((n, f) => n + (f.cached ? 0 : f.size - f.partial), 0);
  return { repo: entry.repo_id, loader: name, files, bytesToDownload };
}

/**
 * Resolves what `--sae` names: an existing folder or file, or `RELEASE/SAE_ID`, downloaded.
 *
 * @example
 * ```ts ignore
 * await resolveSaeSource("../shared/fixtures/sae-standard"); // { folder: "../shared/fixtures/sae-standard", overrides: {} }
 * await resolveSaeSource("gpt2-small-res-jb/blocks.8.hook_resid_pre");
 * ```
 *
 * @param source A path or `RELEASE/SAE_ID`.
 * @param hub Hub settings.
 * @returns What to load and the release's overrides.
 * @throws {Deno.errors.NotFound} When it is neither a path nor a release (the message lists close releases).
 */
export async function resolveSaeSource(source: string, hub: HubOptions = {}): Promise<PulledSae> {
  try {
    await Deno.stat(source);
    return { folder: source, overrides: {} };
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const slash = source.indexOf("/");
  const release = slash > 0 ? source.slice(0, slash) : source;
  if (slash > 0 && Object.hasOwn(RELEASES, release)) return await pullPretrained(release, source.slice(slash + 1), hub);
  const looksLikePath = /^[./~]/.test(source) || source.includes("\\") || source.split("/").length > 2;
  throw new Deno.errors.NotFound(
    looksLikePath
      ? `SAE path ${source} does not exist`
      : `${source} is neither an SAE folder nor RELEASE/SAE_ID: ${
        slash > 0 ? `no release "${release}"` : "no such folder"
      }; closest releases are ${closeMatches(release, Object.keys(RELEASES)).join(", ")} (sae releases lists them)`,
  );
}
