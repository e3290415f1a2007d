/**
 * One training setting in one place: its default, its `--help` line and its check. The defaults, the
 * CLI flags, the help text and the range checks of `sae train` are all derived from tables of these.
 *
 * @module
 */

/** A setting: default, help line, and a check that says what was expected when a value is wrong. */
export interface Setting<T> {
  /** The value when the config leaves the field out. */
  default: T;
  /** One line for `sae train --help`. */
  help: string;
  /** Returns what was expected (e.g. "a positive integer") when `value` is out of range, else undefined. */
  check?(value: T): string | undefined;
  /** Other names of values (SAELens's older names, in lower case), each mapped to the value it means here. */
  aliases?: Record<string, T>;
}

/**
 * Declares a setting.
 *
 * @example
 * ```ts
 * import { positiveInteger, setting } from "./setting.ts";
 * const s = setting<number>(128, "tokens per row", positiveInteger);
 * console.log(s.default, s.check!(0)); // 128 a positive integer
 * ```
 *
 * @param value The default.
 * @param help One line for `--help`.
 * @param check The range check.
 * @param aliases Other names of values, in lower case, and the values they mean.
 * @returns The setting.
 */
export function setting<T>(
  value: T,
  help: string,
  check?: (value: T) => string | undefined,
  aliases?: Record<string, T>,
): Setting<T> {
  return { default: value, help, ...(check ? { check } : {}), ...(aliases ? { aliases } : {}) };
}

/**
 * Check: a whole number of at least 1.
 *
 * @example
 * ```ts
 * import { positiveInteger } from "./setting.ts";
 * console.log(positiveInteger(3), positiveInteger(0.5)); // undefined a positive integer
 * ```
 *
 * @param v The value.
 * @returns What was expected, when `v` is not.
 */
export function positiveInteger(v: number): string | undefined {
  return Number.isInteger(v) && v >= 1 ? undefined : "a positive integer";
}

/**
 * Check: a whole number of at least 0.
 *
 * @example
 * ```ts
 * import { countOrZero } from "./setting.ts";
 * console.log(countOrZero(0), countOrZero(-1)); // undefined an integer >= 0
 * ```
 *
 * @param v The value.
 * @returns What was expected, when `v` is not.
 */
export function countOrZero(v: number): string | undefined {
  return Number.isInteger(v) && v >= 0 ? undefined : "an integer >= 0";
}

/**
 * Check: a number above 0.
 *
 * @example
 * ```ts
 * import { positiveNumber } from "./setting.ts";
 * console.log(positiveNumber(1e-3), positiveNumber(0)); // undefined a positive number
 * ```
 *
 * @param v The value.
 * @returns What was expected, when `v` is not.
 */
export function positiveNumber(v: number): string | undefined {
  return v > 0 ? undefined : "a positive number";
}

/**
 * Check factory: one of the listed values.
 *
 * @example
 * ```ts
 * import { oneOf } from "./setting.ts";
 * console.log(oneOf("zeros", "mean")("median")); // one of zeros, mean
 * ```
 *
 * @param options The values allowed.
 * @returns The check.
 */
export function oneOf<T>(...options: readonly T[]): (v: T) => string | undefined {
  return (v) => options.includes(v) ? undefined : `one of ${options.join(", ")}`;
}

/**
 * The defaults of a table of settings.
 *
 * @example
 * ```ts
 * import { defaultsOf, setting } from "./setting.ts";
 * console.log(defaultsOf({ seed: setting(42, "seed") })); // { seed: 42 }
 * ```
 *
 * @param table Settings by field.
 * @returns Defaults by field.
 */
export function defaultsOf<T extends Record<string, Setting<unknown>>>(
  table: T,
): { [K in keyof T]: T[K]["default"] } {
  return Object.fromEntries(Object.entries(table).map(([k, s]) => [k, s.default])) as {
    [K in keyof T]: T[K]["default"];
  };
}
