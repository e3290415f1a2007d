/**
 * Downloading a registry SAE the explorer's page picked into the Hugging Face cache, one download at a time,
 * with its progress readable while it runs (the page polls it for its bar). It does what `sae pull` does
 * (`planPretrained` for the sizes, `pullPretrained` for the bytes, resuming a broken-off file), then fetches what
 * the cache lacks of the model the release names, so that loading it later downloads nothing; the page names
 * the SAE only by RELEASE/SAE_ID, checked against the registry, so no path from the browser reaches the disk.
 *
 * @module
 */

import type { HubOptions } from "../hub/hub_settings.ts";
import { modelRepoId, resolveModelDir } from "../lm/model_source.ts";
import { planPretrained, type PulledSae, pullPretrained } from "../sae/pretrained.ts";
import { RELEASES } from "../sae/releases.ts";
import { HttpError } from "./http_error.ts";

/** A registry SAE id split into its release and SAE id. */
export interface RegistryId {
  /** Release name, e.g. `gpt2-small-res-jb`. */
  release: string;
  /** SAE id within it, e.g. `blocks.8.hook_resid_pre`. */
  saeId: string;
}

/**
 * The release and SAE id `label` names, when it is `RELEASE/SAE_ID` of the registry; only the registry's own
 * entries match (never a name an object inherits, such as `constructor`).
 *
 * @example
 * ```ts
 * import { registryId } from "./registry_download.ts";
 * console.log(registryId("gpt2-small-res-jb/blocks.8.hook_resid_pre")?.saeId); // blocks.8.hook_resid_pre
 * console.log(registryId("../shared/fixtures/sae-standard")); // undefined
 * ```
 *
 * @param label What the page sent.
 * @returns Its parts, or undefined when the registry has no such SAE.
 */
export function registryId(label: string): RegistryId | undefined {
  const slash = label.indexOf("/");
  if (slash <= 0) return undefined;
  const release = label.slice(0, slash), saeId = label.slice(slash + 1);
  if (!Object.hasOwn(RELEASES, release)) return undefined;
  return RELEASES[release].saes.some((s) => s.id === saeId) ? { release, saeId } : undefined;
}

/** Where the download is, as the page's progress bar reads it. */
export interface DownloadState {
  /** `none`: nothing asked yet; `running`; `done`: the last one finished; `failed`: the last one failed. */
  state: "none" | "running" | "done" | "failed";
  /** The SAE, RELEASE/SAE_ID (null before the first). */
  sae: string | null;
  /**
   * Each file (the SAE's, planned first, then the model's as their downloads start), its Hub repo, its size and the
   * bytes the cache has of it (a cached file counts in full).
   */
  files: { repo: string; file: string; size: number; received: number }[];
  /** Bytes of all files listed so far. */
  bytes_total: number;
  /** Bytes the cache has of them. */
  bytes_received: number;
  /** Why the last one failed, or null. */
  error: string | null;
}

/**
 * One registry download at a time, into the Hugging Face cache.
 *
 * @example Download an SAE while another request reads its progress
 * ```ts ignore
 * const downloads = new RegistryDownload();
 * const pulled = downloads.pull("gpt2-small-res-jb/blocks.8.hook_resid_pre");
 * console.log(downloads.progress().bytes_received);
 * const { folder, overrides } = await pulled;
 * ```
 */
export class RegistryDownload {
  #hub: HubOptions;
  #state: DownloadState = { state: "none", sae: null, files: [], bytes_total: 0, bytes_received: 0, error: null };

  /**
   * Creates it.
   *
   * @param hub Hub settings (endpoint, cache, token). @default {the environment's, as `sae pull` reads them}
   */
  constructor(hub: HubOptions = {}) {
    this.#hub = hub;
  }

  /** Whether a download is running. */
  get running(): boolean {
    return this.#state.state === "running";
  }

  /**
   * The download's progress (a copy).
   *
   * @returns Its state, files and bytes.
   */
  progress(): DownloadState {
    return structuredClone(this.#state);
  }

  /**
   * Downloads what the cache lacks of a registry SAE and, with `model`, of the model its release names.
   *
   * @param label RELEASE/SAE_ID.
   * @param options `model`: also the release's model (for an SAE that loads with its own). @default {false}
   * @returns Its folder and the release's overrides.
   * @throws {HttpError} 400 when `label` is no registry SAE or its loader is not implemented; 409 while another
   * download runs; 502 when the Hub fails.
   */
  async pull(label: string, options: { model?: boolean } = {}): Promise<PulledSae> {
    const id = registryId(label);
    if (!id) throw new HttpError(400, `${JSON.stringify(label)} is no SAE of the registry: expected RELEASE/SAE_ID`);
    if (this.running) {
      const { sae, bytes_received: got, bytes_total: all } = this.#state;
      throw new HttpError(409, `Another download is running (${sae}, ${got} of ${all} bytes): wait until it ends`);
    }
    const state: DownloadState = {
      state: "running",
      sae: label,
      files: [],
      bytes_total: 0,
      bytes_received: 0,
      error: null,
    };
    this.#state = state;
    try {
      const plan = await planPretrained(id.release, id.saeId, this.#hub);
      state.files = plan.files.map((f) => ({
        repo: plan.repo,
        file: f.file,
        size: f.size,
        received: f.cached ? f.size : f.partial,
      }));
      const sum = () => {
        state.bytes_total = state.files.reduce((n, f) => n + f.size, 0);
        state.bytes_received = state.files.reduce((n, f) => n + f.received, 0);
      };
      sum();
      const progress = (repo: string) => (file: string, received: number, size: number) => {
        const entry = state.files.find((f) => f.repo === repo && f.file === file);
        if (entry) entry.received = received;
        else state.files.push({ repo, file, size, received }); // a model file: no plan lists it
        sum();
      };
      const pulled = await pullPretrained(id.release, id.saeId, { ...this.#hub, onProgress: progress(plan.repo) });
      // every file is in the cache now, whether or not its last bytes were reported
      for (const f of state.files) f.received = f.size;
      sum();
      if (options.model) {
        const model = RELEASES[id.release].model;
        await resolveModelDir(model, { ...this.#hub, onProgress: progress(modelRepoId(model)) });
        for (const f of state.files) f.received = f.size;
        sum();
      }
      state.state = "done";
      return pulled;
    } catch (e) {
      state.state = "failed";
      state.error = (e as Error).message;
      throw new HttpError(e instanceof RangeError ? 400 : 502, `Cannot download ${label}: ${(e as Error).message}`);
    }
  }
}
