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
 * Parses `args` against `options` (strict), adding `--help`.
 *
 * @throws {UsageError} On unknown flags or missing values.
 */
export function parseFlags<T extends Flags>(args: string[], options: T) {
  try {
    return parseArgs({
      args,
      options: { ...options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/**
 * Parses a positive integer flag value.
 *
 * @throws {UsageError} When the value is not a positive integer.
 */
export function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) {
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
