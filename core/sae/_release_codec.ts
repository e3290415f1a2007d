/**
 * The shipped registry's compact form (`releases.json`): a release's SAEs as columns rather than
 * objects, a column left out when it is all null (or, for `path`, equal to `id`), and strings front-coded:
 * `[n, "suffix"]` stands for the first n characters of the column's previous string followed by the suffix.
 * Gemma Scope's 4,000 SAEs differ from their neighbours in a few characters, so the file is a third of
 * plain JSON's size.
 *
 * @module
 */

import type { Release, ReleaseSae } from "./releases.ts";

/** A front-coded string column: strings, `[prefixLength, suffix]` pairs, and nulls. */
export type StringColumn = (string | [number, string] | null)[];

/** A release's SAEs as columns. */
export interface EncodedSaes {
  id: StringColumn;
  path?: StringColumn;
  neuronpedia?: StringColumn;
  l0?: (number | null)[];
  variance_explained?: (number | null)[];
  norm_scaling_factor?: (number | null)[];
}

/** A release in the shipped file. */
export interface EncodedRelease {
  repo_id: string;
  model: string;
  conversion_func: string | null;
  config_overrides?: Record<string, unknown>;
  links?: Record<string, string>;
  saes: EncodedSaes;
}

/** The shipped file. */
export interface RegistryFile {
  /** Where it was generated from, e.g. "SAELens 6.18.0 sae_lens/pretrained_saes.yaml". */
  source: string;
  /** Releases of the source not in the registry, with the reason. */
  left_out: Record<string, string>;
  /** The releases, in the source's order. */
  releases: Record<string, EncodedRelease>;
}

/** A shared prefix shorter than this costs more as a pair than it saves. */
const MIN_PREFIX = 4;

function encodeStrings(values: (string | null)[]): StringColumn {
  let previous = "";
  return values.map((v) => {
    if (v === null) return null;
    let n = 0;
    while (n < v.length && n < previous.length && v[n] === previous[n]) n++;
    previous = v;
    return n >= MIN_PREFIX ? [n, v.slice(n)] : v;
  });
}

function decodeStrings(column: StringColumn, n: number, what: string): (string | null)[] {
  if (column.length !== n) throw new TypeError(`releases.json: ${what} has ${column.length} entries, expected ${n}`);
  let previous = "";
  return column.map((v) => {
    if (v === null) return null;
    previous = typeof v === "string" ? v : previous.slice(0, v[0]) + v[1];
    return previous;
  });
}

function numbers(column: (number | null)[] | undefined, n: number, what: string): (number | null)[] {
  if (column === undefined) return new Array(n).fill(null);
  if (column.length !== n) throw new TypeError(`releases.json: ${what} has ${column.length} entries, expected ${n}`);
  return column;
}

/**
 * A release's SAEs as columns.
 *
 * @example
 * ```ts
 * import { encodeSaes } from "./_release_codec.ts";
 * const saes = [
 *   { id: "layer_0/width_16k/average_l0_105", path: "layer_0/width_16k/average_l0_105", neuronpedia: null, l0: 105, variance_explained: null },
 *   { id: "layer_0/width_16k/average_l0_13", path: "layer_0/width_16k/average_l0_13", neuronpedia: null, l0: 13, variance_explained: null },
 * ];
 * console.log(encodeSaes(saes)); // { id: [ "layer_0/width_16k/average_l0_105", [ 30, "3" ] ], l0: [ 105, 13 ] }
 * ```
 */
export function encodeSaes(saes: readonly ReleaseSae[]): EncodedSaes {
  const out: EncodedSaes = { id: encodeStrings(saes.map((s) => s.id)) };
  if (saes.some((s) => s.path !== s.id)) out.path = encodeStrings(saes.map((s) => s.path));
  if (saes.some((s) => s.neuronpedia !== null)) out.neuronpedia = encodeStrings(saes.map((s) => s.neuronpedia));
  if (saes.some((s) => s.l0 !== null)) out.l0 = saes.map((s) => s.l0);
  if (saes.some((s) => s.variance_explained !== null)) out.variance_explained = saes.map((s) => s.variance_explained);
  if (saes.some((s) => s.norm_scaling_factor !== undefined)) {
    out.norm_scaling_factor = saes.map((s) => s.norm_scaling_factor ?? null);
  }
  return out;
}

/**
 * The SAEs of an encoded release, as {@linkcode encodeSaes} took them.
 *
 * @example
 * ```ts
 * import { decodeSaes } from "./_release_codec.ts";
 * console.log(decodeSaes({ id: ["blocks.0.hook_z", [7, "1.hook_z"]] }, "r")[1].id); // "blocks.1.hook_z"
 * ```
 *
 * @throws {TypeError} When the columns disagree in length (a damaged file).
 */
export function decodeSaes(saes: EncodedSaes, release: string): ReleaseSae[] {
  const ids = decodeStrings(saes.id, saes.id.length, `${release} id`) as string[];
  const n = ids.length;
  const paths = saes.path ? decodeStrings(saes.path, n, `${release} path`) as string[] : ids;
  const neuronpedia = saes.neuronpedia ? decodeStrings(saes.neuronpedia, n, `${release} neuronpedia`) : [];
  const l0 = numbers(saes.l0, n, `${release} l0`);
  const ev = numbers(saes.variance_explained, n, `${release} variance_explained`);
  const scale = numbers(saes.norm_scaling_factor, n, `${release} norm_scaling_factor`);
  return ids.map((id, i) => {
    const sae: ReleaseSae = {
      id,
      path: paths[i],
      neuronpedia: neuronpedia[i] ?? null,
      l0: l0[i],
      variance_explained: ev[i],
    };
    if (scale[i] !== null) sae.norm_scaling_factor = scale[i]!;
    return sae;
  });
}

/**
 * A release as the shipped file keeps it.
 *
 * @example
 * ```ts
 * import { encodeRelease } from "./_release_codec.ts";
 * const r = encodeRelease({ repo_id: "a/b", model: "m", conversion_func: null, config_overrides: {}, links: {}, saes: [] });
 * console.log(r); // { repo_id: "a/b", model: "m", conversion_func: null, saes: { id: [] } }
 * ```
 */
export function encodeRelease(release: Release): EncodedRelease {
  const { config_overrides: overrides, links } = release;
  return {
    repo_id: release.repo_id,
    model: release.model,
    conversion_func: release.conversion_func,
    ...(Object.keys(overrides).length > 0 ? { config_overrides: overrides } : {}),
    ...(Object.keys(links).length > 0 ? { links } : {}),
    saes: encodeSaes(release.saes),
  };
}

/**
 * A release of the shipped file, decoded.
 *
 * @example
 * ```ts
 * import { decodeRelease } from "./_release_codec.ts";
 * const r = decodeRelease({ repo_id: "a/b", model: "m", conversion_func: null, saes: { id: ["x"] } }, "r");
 * console.log(r.saes[0].path); // "x"
 * ```
 */
export function decodeRelease(release: EncodedRelease, name: string): Release {
  return {
    repo_id: release.repo_id,
    model: release.model,
    conversion_func: release.conversion_func,
    config_overrides: release.config_overrides ?? {},
    links: release.links ?? {},
    saes: decodeSaes(release.saes, name),
  };
}

/**
 * The file's text: one release per line, so a new SAELens version's diff shows the releases that changed.
 *
 * @example
 * ```ts
 * import { registryText } from "./_release_codec.ts";
 * console.log(registryText({ source: "s", left_out: {}, releases: {} }).split("\n")[1]); // "  \"source\": \"s\","
 * ```
 */
export function registryText(file: RegistryFile): string {
  const entries = (o: object) =>
    Object.entries(o).map(([name, v]) => `    ${JSON.stringify(name)}: ${JSON.stringify(v)}`).join(",\n");
  const block = (o: object) => Object.keys(o).length === 0 ? "{}" : `{\n${entries(o)}\n  }`;
  return `{\n  "source": ${JSON.stringify(file.source)},\n  "left_out": ${block(file.left_out)},\n` +
    `  "releases": ${block(file.releases)}\n}\n`;
}
