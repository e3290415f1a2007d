/**
 * Flag parsing shared by the verbs: `node:util` parseArgs with usage errors the CLI turns into exit 2.
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";
import { closeMatches, editDistance } from "../core/util/close_matches.ts";

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

const HELP_FLAG = { help: { type: "boolean", short: "h" } } as const satisfies Flags;

/** What `parseArgs` returns for a verb's flags, strict, with `--help`. */
type Parsed<T extends Flags> = ReturnType<
  typeof parseArgs<{ args: string[]; options: T & typeof HELP_FLAG; allowPositionals: true; strict: true }>
>;

/** A value that reads as a negative number (`-3`, `-0.5`, `-1e3`): a value, never a flag. */
const NEGATIVE_NUMBER = /^-(\d|\.\d)/;

/**
 * Parses `args` against `options`, adding `--help`. Checks what `parseArgs`'s strict mode checks, in words that
 * name the flag: an unknown flag gets the verb's closest one ("did you mean --strength?"), or, when none is a few
 * edits away, the verb's flags; a flag that takes a value takes the next argument, a negative number included
 * (`--strength -3`, where strict `parseArgs` calls it ambiguous), unless that argument is another flag; a boolean
 * flag takes no value. No flag takes an empty value: `--out ""` would otherwise read as "not given" and write
 * nothing, silently.
 *
 * @example A misspelt flag
 * ```ts
 * import { parseFlags } from "./_usage.ts";
 * try {
 *   parseFlags(["--strenght", "3"], { strength: { type: "string" } });
 * } catch (e) {
 *   console.log((e as Error).message); // unknown flag --strenght: did you mean --strength?
 * }
 * ```
 *
 * @throws {UsageError} On unknown flags, missing or empty values, values given to boolean flags.
 */
export function parseFlags<T extends Flags>(args: string[], options: T): Parsed<T> {
  const all: Flags = { ...options, ...HELP_FLAG };
  const { values, positionals, tokens } = parseArgs({
    args,
    options: all,
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  for (const token of tokens) {
    if (token.kind !== "option") continue;
    const flag = token.rawName;
    const option = all[token.name];
    if (option === undefined) {
      const names = Object.keys(all);
      const [closest] = closeMatches(token.name, names, 1);
      // a typo is a few edits away; anything further is another verb's flag or a guess: list the verb's flags
      throw new UsageError(
        editDistance(token.name, closest) <= Math.max(2, Math.floor(token.name.length / 3))
          ? `unknown flag ${flag}: did you mean --${closest}?`
          : names.length <= 16
          ? `unknown flag ${flag}: expected one of ${names.map((n) => `--${n}`).join(", ")}`
          : `unknown flag ${flag}: no flag of this command is close to it`,
      );
    }
    if (option.type === "boolean" && token.value !== undefined) {
      throw new UsageError(`${flag} takes no value: current value is ${JSON.stringify(token.value)}`);
    }
    if (option.type === "string") {
      if (token.value === undefined) throw new UsageError(`${flag} needs a value`);
      if (!token.inlineValue && token.value.startsWith("-") && !NEGATIVE_NUMBER.test(token.value)) {
        throw new UsageError(`${flag} needs a value: the next argument ${token.value} is a flag`);
      }
      if (token.value === "") throw new UsageError(`--${token.name} is empty: give it a value`);
    }
  }
  // Every option token was checked against `options` above, which is what strict mode would check.
  return { values, positionals } as Parsed<T>;
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
