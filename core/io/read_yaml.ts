/**
 * YAML as Python's `yaml.safe_load` reads it (YAML 1.1: `yes`/`no` are booleans), for SAELens's registry and
 * the `config.yaml` / `wandb-config.yaml` files some releases ship: plain values only (null, booleans, numbers,
 * strings, lists, mappings with their keys as strings). Timestamps stay strings; explicit tags (`!!python/object`, `!!binary`),
 * collections as keys, duplicate keys, more than {@linkcode MAX_YAML_ALIASES} aliases (billion laughs) and nesting deeper than
 * {@linkcode MAX_YAML_DEPTH} are refused.
 *
 * @module
 */

import { parseDocument } from "yaml";
import { readRegularTextFile } from "./read_regular_file.ts";

/** Bytes a YAML config may have unless the caller allows more: configs are a few kB. */
const MAX_YAML_BYTES = 8 * 1024 * 1024;

/** Aliases a document may expand (the `yaml` package's own default), so `&a [*a, *a, ...]` chains stay small. */
export const MAX_YAML_ALIASES = 100;

/** Nesting a document may have: configs are a few levels deep, a hostile one could exhaust the stack. */
export const MAX_YAML_DEPTH = 64;

/** YAML 1.1 tags `yaml.safe_load` would turn into objects that are no JSON value: left as strings or refused. */
const OBJECT_TAGS = ["timestamp", "binary", "omap", "pairs", "set"].map((t) => `tag:yaml.org,2002:${t}`);

/** PyYAML's booleans: YAML 1.1's without `y` and `n`, which it reads as strings. */
const PYYAML_BOOLEANS = [true, false].map((value) => ({
  identify: (v: unknown) => v === value,
  default: true,
  tag: "tag:yaml.org,2002:bool",
  test: value ? /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/ : /^(?:no|No|NO|false|False|FALSE|off|Off|OFF)$/,
  resolve: () => value,
}));

/** The first line of the `yaml` package's message (the rest draws the source around the error). */
function firstLine(error: unknown): string {
  return (error as Error).message.split("\n")[0].replace(/:$/, "");
}

/** The error of a parse that failed: the `yaml` package reads LOG_TOKENS and LOG_STREAM, which needs env access. */
function parseError(cause: unknown, path: string): Error {
  if (cause instanceof Deno.errors.NotCapable) {
    return new Deno.errors.NotCapable(
      `Cannot read ${path} without env access: the yaml parser reads LOG_TOKENS and LOG_STREAM (grant --allow-env)`,
      { cause },
    );
  }
  return new SyntaxError(`${path} is not valid YAML: ${firstLine(cause)}`, { cause });
}

/** A YAML (or JSON) value of plain data. */
export type YamlValue = null | boolean | number | string | YamlValue[] | { [key: string]: YamlValue };

function checkPlain(value: unknown, where: string, path: string, depth: number): YamlValue {
  if (depth > MAX_YAML_DEPTH) throw new SyntaxError(`${path} nests deeper than ${MAX_YAML_DEPTH} levels`);
  if (value === null || typeof value === "boolean" || typeof value === "string") return value;
  if (typeof value === "number") return value;
  if (Array.isArray(value)) {
    value.forEach((v, i) => checkPlain(v, `${where}[${i}]`, path, depth + 1));
    return value as YamlValue[];
  }
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [k, v] of Object.entries(value)) checkPlain(v, `${where}.${k}`, path, depth + 1);
    return value as YamlValue;
  }
  throw new SyntaxError(`${path}: ${where} is ${typeof value === "bigint" ? "a big integer" : "not plain data"}`);
}

/**
 * Parses YAML text into plain data, as `yaml.safe_load` does for the files SAELens reads.
 *
 * @example
 * ```ts
 * import { parseYaml } from "./read_yaml.ts";
 * console.log(parseYaml("d_model:\n  value: 2560\nok: yes\n", "wandb-config.yaml")); // { d_model: { value: 2560 }, ok: true }
 * ```
 *
 * @param text The YAML.
 * @param path Its file name, for errors.
 * @returns The value.
 * @throws {SyntaxError} When it is not valid YAML, has several documents, duplicate keys, explicit tags,
 * non-string keys, too many aliases or too deep a nesting (the message names the file and the line).
 * @throws {Deno.errors.NotCapable} Without env access, which the `yaml` package needs (LOG_TOKENS, LOG_STREAM).
 */
export function parseYaml(text: string, path: string): YamlValue {
  let doc;
  try {
    doc = parseDocument(text, {
      version: "1.1",
      uniqueKeys: true,
      prettyErrors: true,
      stringKeys: true,
      customTags: (tags) => [
        ...PYYAML_BOOLEANS,
        ...tags.filter((t) => {
          const tag = typeof t === "string" ? `tag:yaml.org,2002:${t}` : t.tag;
          return !OBJECT_TAGS.includes(tag) && tag !== "tag:yaml.org,2002:bool";
        }),
      ],
    });
  } catch (cause) {
    throw parseError(cause, path);
  }
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) throw new SyntaxError(`${path} is not valid YAML: ${firstLine(problem)}`);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (cause) {
    throw parseError(cause, path);
  }
  return checkPlain(value ?? null, "the document", path, 0);
}

/**
 * Reads a YAML file (a regular file of bounded size, see {@linkcode readRegularTextFile}) into plain data.
 *
 * @example
 * ```ts
 * import { readYaml } from "./read_yaml.ts";
 * const path = await Deno.makeTempFile({ suffix: ".yaml" });
 * await Deno.writeTextFile(path, "model_name: Qwen/Qwen3-4B\n");
 * console.log(await readYaml(path)); // { model_name: "Qwen/Qwen3-4B" }
 * ```
 *
 * @param path The file.
 * @param maxBytes The largest size accepted.
 * @returns The value.
 * @throws {Deno.errors.NotFound} When the file is missing.
 * @throws {TypeError} When it is a folder, FIFO or device.
 * @throws {RangeError} When it is larger than `maxBytes`.
 * @throws {SyntaxError} When it is not valid UTF-8 or YAML (see {@linkcode parseYaml}).
 */
export async function readYaml(path: string, maxBytes: number = MAX_YAML_BYTES): Promise<YamlValue> {
  return parseYaml(await readRegularTextFile(path, maxBytes, "a YAML file"), path);
}
