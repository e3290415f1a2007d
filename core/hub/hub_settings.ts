/**
 * Hub settings: what the caller passes, completed from the environment variables `huggingface_hub` reads.
 *
 * @module
 */

import { join } from "node:path";

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
  /**
   * Called as bytes arrive, with the bytes the file has so far: first where the download starts (0, or what a
   * resumed one already has), then after each chunk.
   */
  onProgress?: (file: string, received: number, total: number) => void;
}

/** A Hub repo's kind. */
export type RepoType = "model" | "dataset";

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

/** A token file holds one token: a few hundred bytes. */
const TOKEN_FILE_LIMIT = 64 * 1024;

/** The token file's token: a small regular file's text (a FIFO, a device, or megabytes are refused, never read). */
function tokenFile(hfHome: string): string | undefined {
  const path = env("HF_TOKEN_PATH") ?? join(hfHome, "token");
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch {
    return undefined; // not logged in, or no --allow-read for it
  }
  if (!info.isFile || info.size > TOKEN_FILE_LIMIT) {
    throw new TypeError(
      `The Hub token file ${path} is ${
        info.isFile ? `${info.size} bytes` : "not a regular file"
      }: expected a file holding one token (at most ${TOKEN_FILE_LIMIT} bytes)`,
    );
  }
  return Deno.readTextFileSync(path).replace(/[\r\n]/g, "").trim() || undefined;
}

/**
 * Refuses a token that could not be an HTTP header's value, naming where it came from and never showing it: a
 * newline in it would end the header, and the library's own error would quote the secret.
 */
function checkedToken(token: string | undefined, source: string): string | undefined {
  if (token !== undefined && !/^[\x21-\x7e]+$/.test(token)) {
    throw new TypeError(
      `The Hub token from ${source} holds a space, a control character or a non-ASCII character: a token is printable ASCII (check ${source})`,
    );
  }
  return token;
}

/**
 * The settings in effect: explicit options first, then the environment, then the Hub's defaults.
 *
 * @example
 * ```ts
 * import { hubSettings } from "./hub_settings.ts";
 * console.log(hubSettings({ endpoint: "http://localhost:1" }).endpoint); // "http://localhost:1"
 * ```
 *
 * @param options Overrides.
 * @returns Complete settings.
 * @throws {RangeError} When a timeout is not a positive number of seconds.
 * @throws {TypeError} When the token holds a character no HTTP header may (named by its source, never shown), or the
 * token file is not a small regular file.
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
    token: options.token !== undefined
      ? checkedToken(options.token, "the token option")
      : env("HF_TOKEN") !== undefined
      ? checkedToken(env("HF_TOKEN"), "HF_TOKEN")
      : env("HUGGING_FACE_HUB_TOKEN") !== undefined
      ? checkedToken(env("HUGGING_FACE_HUB_TOKEN"), "HUGGING_FACE_HUB_TOKEN")
      : checkedToken(tokenFile(hfHome), env("HF_TOKEN_PATH") ?? "the token file"),
    offline: options.offline ?? ["1", "true", "yes", "on"].includes(offlineVar.toLowerCase()),
    revision: options.revision ?? "main",
    etagTimeout: seconds("HF_HUB_ETAG_TIMEOUT", options.etagTimeout),
    downloadTimeout: seconds("HF_HUB_DOWNLOAD_TIMEOUT", options.downloadTimeout),
  };
}
