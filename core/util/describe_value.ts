/**
 * A value as an error message shows it: JSON where JSON can say it, and what JSON cannot (NaN, infinities,
 * undefined, functions, bigints) by name, so a caller's `NaN` is not reported as `null`.
 *
 * @module
 */

/**
 * Describes a value for a message, cut to 80 characters.
 *
 * @example
 * ```ts
 * import { describeValue } from "./describe_value.ts";
 * console.log(describeValue(NaN), describeValue("4"), describeValue(undefined), describeValue([1, 2])); // NaN "4" undefined [1,2]
 * ```
 *
 * @param value Anything.
 * @returns Its description.
 */
export function describeValue(value: unknown): string {
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  if (value === undefined) return "undefined";
  if (typeof value === "function") return "a function";
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "symbol") return value.toString();
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = Object.prototype.toString.call(value); // cyclic
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
