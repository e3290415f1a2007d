/**
 * Reading the fields of an API request's JSON body, each checked, with a 400 naming the field and what
 * was expected.
 *
 * @module
 */

import { HttpError } from "./http_error.ts";

type Body = Record<string, unknown>;

function bad(field: string, expected: string, value: unknown): HttpError {
  return new HttpError(400, `Field "${field}" must be ${expected}: got ${JSON.stringify(value) ?? "nothing"}`);
}

/** A non-empty text of at most `maxLength` characters (413 beyond). */
export function textField(body: Body, field: string, maxLength: number): string {
  const value = body[field];
  if (typeof value !== "string" || value.length === 0) throw bad(field, "a non-empty string", value);
  if (value.length > maxLength) {
    throw new HttpError(413, `Field "${field}" holds ${value.length} characters: at most ${maxLength} are encoded`);
  }
  return value;
}

/** A list of 1..`maxItems` texts, each as {@linkcode textField} checks. */
export function textListField(body: Body, field: string, maxItems: number, maxLength: number): string[] {
  const value = body[field];
  if (!Array.isArray(value) || value.length === 0 || value.length > maxItems) {
    throw bad(field, `a list of 1 to ${maxItems} texts`, value);
  }
  return value.map((v, i) => textField({ [`${field}[${i}]`]: v }, `${field}[${i}]`, maxLength));
}

/** An integer in `min..max`, or `fallback` when absent. */
export function intField(body: Body, field: string, min: number, max: number, fallback?: number): number {
  const value = body[field] ?? fallback;
  if (!(Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max)) {
    throw bad(field, `an integer in ${min}..${max}`, value);
  }
  return value as number;
}

/** A finite number in `min..max`, or `fallback` when absent; undefined when both are. */
export function numberField(
  body: Body,
  field: string,
  min: number,
  max: number,
  fallback?: number,
): number | undefined {
  const value = body[field] ?? fallback;
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !(value >= min && value <= max)) {
    throw bad(field, `a number in ${min}..${max}`, value);
  }
  return value;
}

/** A boolean, or `fallback` when absent. */
export function boolField(body: Body, field: string, fallback: boolean): boolean {
  const value = body[field] ?? fallback;
  if (typeof value !== "boolean") throw bad(field, "true or false", value);
  return value;
}

/** One of `choices`, or `fallback` when absent. */
export function choiceField<T extends string>(body: Body, field: string, choices: readonly T[], fallback: T): T {
  const value = body[field] ?? fallback;
  if (!choices.includes(value as T)) throw bad(field, `one of ${choices.join(", ")}`, value);
  return value as T;
}

/** A list of 1..`maxItems` distinct feature indices below `dSae`. */
export function featureListField(body: Body, field: string, dSae: number, maxItems: number): number[] {
  const value = body[field];
  if (!Array.isArray(value) || value.length === 0 || value.length > maxItems) {
    throw bad(field, `a list of 1 to ${maxItems} feature indices`, value);
  }
  for (const v of value) {
    if (!(Number.isSafeInteger(v) && v >= 0 && v < dSae)) throw bad(field, `feature indices in 0..${dSae - 1}`, v);
  }
  if (new Set(value).size !== value.length) throw bad(field, "distinct feature indices", value);
  return value as number[];
}
