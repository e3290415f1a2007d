/**
 * Flag parsing shared by the verbs: `node:util` parseArgs with usage errors the CLI turns into exit 2.
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";

/** Bad command-line usage: printed with the verb's help hint, exit code 2. */
export class UsageError extends Error {
  /**
   * Creates the error.
   *
   * @param message What was wrong with the arguments.
   */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Options declared by a verb. */
export type Flags = NonNullable<ParseArgsConfig["options"]>;

/**
 * Parses `args` against `options` (strict), adding `--help`. No flag takes an empty value: `--out ""`
 * would otherwise read as "not given" and write nothing, silently.
 *
 * @throws {UsageError} On unknown flags, missing or empty values.
 */
export function parseFlags<T extends Flags>(args: string[], options: T) {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { ...options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  for (const [name, value] of Object.entries(parsed.values)) {
    if (value === "" || (Array.isArray(value) && value.includes(""))) {
      throw new UsageError(`--${name} is empty: give it a value`);
    }
  }
  return parsed;
}

/**
 * Parses a whole number written in plain digits (no sign, exponent, hex or spaces).
 *
 * @example
 * ```ts
 * import { wholeNumber } from "./_usage.ts";
 * console.log(wholeNumber("42", "--top")); // 42
 * ```
 *
 * @throws {UsageError} Naming `what` when the value is anything else.
 */
export function wholeNumber(value: string, what: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) {
    throw new UsageError(`${what} must be a whole number such as 3: current value is ${JSON.stringify(value)}`);
  }
  return n;
}

/**
 * Splits a comma-separated flag value, refusing empty items (`,,` or a trailing comma).
 *
 * @example
 * ```ts
 * import { listItems } from "./_usage.ts";
 * console.log(listItems("1, 2", "--features")); // ["1", "2"]
 * ```
 *
 * @throws {UsageError} When an item is empty.
 */
export function listItems(value: string, flag: string): string[] {
  const items = value.split(",").map((s) => s.trim());
  const empty = items.indexOf("");
  if (empty >= 0) {
    throw new UsageError(
      `${flag} ${JSON.stringify(value)}: item ${empty + 1} is empty: expected items separated by commas`,
    );
  }
  return items;
}

/**
 * Parses a positive integer flag value.
 *
 * @throws {UsageError} When the value is not a positive integer.
 */
export function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`${flag} must be a positive integer: current value is ${value}`);
  }
  return n;
}

/**
 * Checks, before any long work, that an output file's folder exists.
 *
 * @throws {UsageError} When the folder is missing or not a folder.
 */
export async function checkWritableFolder(path: string, flag = "--out"): Promise<void> {
  const folder = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) || "/" : ".";
  try {
    if (!(await Deno.stat(folder)).isDirectory) throw new UsageError(`${flag} ${path}: ${folder} is not a folder`);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw new UsageError(`${flag} ${path}: folder ${folder} does not exist`);
    throw error;
  }
}
