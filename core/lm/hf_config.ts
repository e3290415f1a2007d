/**
 * Typed reads of a Hugging Face `config.json`: each field checked for its type, errors naming the file and the field.
 *
 * @module
 */

/**
 * A parsed `config.json` with typed field readers.
 *
 * @example
 * ```ts
 * import { HfConfig } from "./hf_config.ts";
 * const hf = new HfConfig({ hidden_size: 64, rms_norm_eps: 1e-6 }, "config.json");
 * console.log(hf.int("hidden_size"), hf.number("rms_norm_eps"), hf.int("head_dim", 16)); // 64 0.000001 16
 * ```
 */
export class HfConfig {
  /** The file, for error messages. */
  readonly path: string;
  readonly #raw: Record<string, unknown>;

  /**
   * Wraps a parsed config.
   *
   * @param json The parsed file.
   * @param path The file, for error messages.
   * @throws {TypeError} When it is not a JSON object.
   */
  constructor(json: unknown, path: string) {
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      throw new TypeError(`${path} must hold a JSON object`);
    }
    this.#raw = json as Record<string, unknown>;
    this.path = path;
  }

  /** Whether the field is present and not null. */
  has(key: string): boolean {
    return this.#raw[key] !== undefined && this.#raw[key] !== null;
  }

  /** The raw value of a field. */
  get(key: string): unknown {
    return this.#raw[key];
  }

  /** A field's value, or `fallback` when it is absent (null is a value, refused by the typed readers: no coercion). */
  #value(key: string, fallback: unknown): unknown {
    return this.#raw[key] === undefined ? fallback : this.#raw[key];
  }

  #fail(key: string, expected: string, value: unknown): never {
    if (value === undefined) throw new TypeError(`${this.path} has no field ${key}: expected ${expected}`);
    throw new TypeError(`${this.path} field ${key} must be ${expected}: got ${JSON.stringify(value)}`);
  }

  /**
   * A positive integer field; `fallback` when absent.
   *
   * @throws {TypeError} When it is missing without a fallback, or not a positive integer.
   */
  int(key: string, fallback?: number): number {
    const v = this.#value(key, fallback);
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) this.#fail(key, "a positive integer", v);
    return v;
  }

  /**
   * A finite number field; `fallback` when absent.
   *
   * @throws {TypeError} When it is missing without a fallback, or not a finite number.
   */
  number(key: string, fallback?: number): number {
    const v = this.#value(key, fallback);
    if (typeof v !== "number" || !Number.isFinite(v)) this.#fail(key, "a finite number", v);
    return v;
  }

  /**
   * A positive number field; `fallback` when absent.
   *
   * @throws {TypeError} When it is missing without a fallback, or not a positive finite number.
   */
  positive(key: string, fallback?: number): number {
    const v = this.#value(key, fallback);
    if (typeof v !== "number" || !Number.isFinite(v) || !(v > 0)) this.#fail(key, "a positive number", v);
    return v;
  }

  /**
   * A boolean field; `fallback` when absent.
   *
   * @throws {TypeError} When it is not a boolean.
   */
  bool(key: string, fallback: boolean): boolean {
    const v = this.#value(key, fallback);
    if (typeof v !== "boolean") this.#fail(key, "true or false", v);
    return v;
  }

  /**
   * A string field; `fallback` when absent.
   *
   * @throws {TypeError} When it is missing without a fallback, or not a string.
   */
  string(key: string, fallback?: string): string {
    const v = this.#value(key, fallback);
    if (typeof v !== "string") this.#fail(key, "a string", v);
    return v;
  }

  /**
   * Token ids: an integer or a list of them (`eos_token_id`); empty when absent or null.
   *
   * @throws {TypeError} When it is neither.
   */
  ids(key: string): number[] {
    if (!this.has(key)) return [];
    const v = this.#raw[key];
    const list = Array.isArray(v) ? v : [v];
    if (!list.every((id) => typeof id === "number" && Number.isInteger(id) && id >= 0)) {
      this.#fail(key, "a token id or a list of them", v);
    }
    return list as number[];
  }

  /**
   * A JSON object field, wrapped; undefined when absent or null (`rope_scaling`).
   *
   * @throws {TypeError} When it is not an object.
   */
  object(key: string): HfConfig | undefined {
    if (!this.has(key)) return undefined;
    const v = this.#raw[key];
    if (typeof v !== "object" || Array.isArray(v)) this.#fail(key, "a JSON object", v);
    return new HfConfig(v, `${this.path} field ${key}`);
  }

  /**
   * Refuses a field whose value the model does not run, naming what it does run.
   *
   * @throws {TypeError} When the field is present with a value other than `allowed`.
   */
  expect(key: string, allowed: readonly unknown[], why: string): void {
    if (this.has(key) && !allowed.includes(this.#raw[key])) {
      throw new TypeError(
        `${this.path} field ${key} is ${JSON.stringify(this.#raw[key])}: sae runs ${
          allowed.map((a) => JSON.stringify(a)).join(" or ")
        } (${why})`,
      );
    }
  }
}
