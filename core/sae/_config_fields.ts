/**
 * Reading the fields of the configs SAELens's other loaders take (Llama Scope's hyperparams.json,
 * dictionary_learning's config.json, wandb configs): each checked, never coerced, an error naming the file,
 * the field, what was expected and what was found.
 *
 * @module
 */

/** Whether a parsed JSON or YAML value is an object (not null, not a list). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * A field of a config, refused (not coerced) unless `ok` accepts it.
 *
 * @example
 * ```ts
 * import { configField, positiveInteger } from "./_config_fields.ts";
 * console.log(configField<number>({ d_model: 4096 }, "d_model", "hyperparams.json", positiveInteger, "a positive integer")); // 4096
 * ```
 *
 * @throws {TypeError} Naming the file, the field, what was expected and what was found.
 */
export function configField<T>(
  obj: Record<string, unknown>,
  key: string,
  path: string,
  ok: (v: unknown) => boolean,
  expected: string,
): T {
  if (!ok(obj[key])) throw new TypeError(`${path}: field ${key} is ${JSON.stringify(obj[key])}: expected ${expected}`);
  return obj[key] as T;
}

/** Checks for {@linkcode configField}. */
export const positiveInteger = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) > 0;
/** A layer number. */
export const nonNegativeInteger = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0;
/** A finite number above 0. */
export const positiveNumber = (v: unknown): boolean => typeof v === "number" && Number.isFinite(v) && v > 0;
/** A finite number at least 0. */
export const nonNegativeNumber = (v: unknown): boolean => typeof v === "number" && Number.isFinite(v) && v >= 0;
/** A string that is not empty (a hook or model name). */
export const nonEmptyString = (v: unknown): boolean => typeof v === "string" && v.length > 0;
