/**
 * SAELens's `pretrained_saes.yaml` into the registry `releases.json` ships: what SAELens's
 * `get_pretrained_saes_directory` and `get_norm_scaling_factor` keep of each release (repo, model,
 * `conversion_func`, `config_overrides`, links, and per SAE its id, path, L0, variance explained, Neuronpedia
 * id and `norm_scaling_factor`), releases whose loader is not implemented here left out with the reason.
 * `deno task registry:import` runs it, so a new SAELens version is one rerun.
 *
 * @module
 */

import type { YamlValue } from "../io/read_yaml.ts";
import { encodeRelease, type RegistryFile } from "./_release_codec.ts";
import type { Release, ReleaseSae } from "./releases.ts";

/** What an import made, and what of the source it did not keep. */
export interface ImportedRegistry {
  /** The file to ship. */
  file: RegistryFile;
  /** Keys of the source that SAELens itself never reads, left out (e.g. a release pasted into an SAE entry). */
  ignored: string[];
}

const RELEASE_KEYS = ["repo_id", "model", "conversion_func", "config_overrides", "links", "saes"];
const SAE_KEYS = ["id", "path", "l0", "variance_explained", "neuronpedia", "norm_scaling_factor"];

function isMapping(v: unknown): v is Record<string, YamlValue> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function field<T>(
  obj: Record<string, YamlValue>,
  key: string,
  where: string,
  check: (v: YamlValue) => v is YamlValue & T,
  expected: string,
  optional: boolean,
): T | undefined {
  const v = obj[key];
  if (v === undefined && optional) return undefined;
  if (v === undefined || !check(v)) {
    throw new TypeError(`${where}: field ${key} is ${JSON.stringify(v)}: expected ${expected}`);
  }
  return v as T;
}

const isString = (v: YamlValue): v is string => typeof v === "string";
const isNumber = (v: YamlValue): v is number => typeof v === "number" && Number.isFinite(v);
const isStringOrNull = (v: YamlValue): v is string | null => v === null || typeof v === "string";
const isMappingOrNull = (v: YamlValue): v is Record<string, YamlValue> | null => v === null || isMapping(v);

function parseSae(raw: YamlValue, where: string, ignored: string[], prefix: number): ReleaseSae {
  if (!isMapping(raw)) throw new TypeError(`${where}: expected a mapping, found ${JSON.stringify(raw)}`);
  const id = field(raw, "id", where, isString, "a string", false)!;
  const at = `${where} (${id})`;
  // an integer path (the CLT releases' layer numbers) is what SAELens formats into file names
  const path = field(
    raw,
    "path",
    at,
    (v): v is string | number => isString(v) || Number.isSafeInteger(v),
    "a string or an integer",
    false,
  )!;
  const sae: ReleaseSae = {
    id,
    path: String(path),
    neuronpedia: field(raw, "neuronpedia", at, isStringOrNull, "a string or null", true) ?? null,
    l0: field(raw, "l0", at, isNumber, "a number", true) ?? null,
    variance_explained: field(raw, "variance_explained", at, isNumber, "a number", true) ?? null,
  };
  const scale = field(raw, "norm_scaling_factor", at, isNumber, "a number", true);
  if (scale !== undefined) sae.norm_scaling_factor = scale;
  for (const key of Object.keys(raw)) if (!SAE_KEYS.includes(key)) ignored.push(`${at}: ${key}`.slice(prefix));
  return sae;
}

function parseRelease(raw: YamlValue, name: string, source: string, ignored: string[]): Release {
  const where = `${source}: release ${name}`;
  if (!isMapping(raw)) throw new TypeError(`${where}: expected a mapping, found ${JSON.stringify(raw)}`);
  const saes = field(raw, "saes", where, Array.isArray, "a list of SAEs", false)!;
  const links = field(raw, "links", where, isMappingOrNull, "a mapping", true) ?? {};
  for (const [key, url] of Object.entries(links)) {
    if (typeof url !== "string") throw new TypeError(`${where}: link ${key} is ${JSON.stringify(url)}: expected a URL`);
  }
  const release: Release = {
    repo_id: field(raw, "repo_id", where, (v): v is string => isString(v) && v.includes("/"), "org/name", false)!,
    model: field(raw, "model", where, isString, "a string", false)!,
    conversion_func: field(raw, "conversion_func", where, isStringOrNull, "a string or null", true) ?? null,
    config_overrides: field(raw, "config_overrides", where, isMappingOrNull, "a mapping", true) ?? {},
    links: links as Record<string, string>,
    saes: saes.map((s, i) => parseSae(s, `${where} SAE ${i}`, ignored, source.length + 2)),
  };
  const ids = new Set<string>();
  for (const s of release.saes) {
    // SAELens keys its maps by id: a repeated id would silently shadow the first
    if (ids.has(s.id)) throw new TypeError(`${where}: SAE id ${s.id} appears twice`);
    ids.add(s.id);
  }
  for (const key of Object.keys(raw)) if (!RELEASE_KEYS.includes(key)) ignored.push(`release ${name}: ${key}`);
  return release;
}

/**
 * Builds the registry from SAELens's parsed `pretrained_saes.yaml`.
 *
 * @example
 * ```ts
 * import { importReleases } from "./import_releases.ts";
 * const yaml = { "r": { repo_id: "a/b", model: "m", conversion_func: "future_format", saes: [] } };
 * console.log(importReleases(yaml, "test", ["sae_lens"]).file.left_out); // { r: "its loader future_format is not implemented here" }
 * ```
 *
 * @param yaml The parsed file (`parseYaml`).
 * @param source What it is, e.g. "SAELens 6.18.0 sae_lens/pretrained_saes.yaml", kept in the file.
 * @param loaders The `conversion_func` names implemented here (`sae_lens` stands for null).
 * @returns The file and the source's keys SAELens ignores.
 * @throws {TypeError} When an entry lacks a field SAELens reads or has one of the wrong type.
 */
export function importReleases(yaml: YamlValue, source: string, loaders: readonly string[]): ImportedRegistry {
  if (!isMapping(yaml)) throw new TypeError(`${source}: expected a mapping of releases`);
  const ignored: string[] = [];
  const file: RegistryFile = { source, left_out: {}, releases: {} };
  for (const [name, raw] of Object.entries(yaml)) {
    const release = parseRelease(raw, name, source, ignored);
    const loader = release.conversion_func ?? "sae_lens";
    if (!loaders.includes(loader)) file.left_out[name] = `its loader ${loader} is not implemented here`;
    else file.releases[name] = encodeRelease(release);
  }
  return { file, ignored };
}
