/**
 * An error a request ends with: its HTTP status and a one-line message the server sends back as JSON.
 *
 * @module
 */

/** A request refused or failed with an HTTP status (403, 413, 503...): the server answers `{ "error": message }`. */
export class HttpError extends Error {
  /** The HTTP status. */
  readonly status: number;

  /**
   * Creates the error.
   *
   * @example A refused Host header
   * ```ts
   * import { HttpError } from "./http_error.ts";
   * const e = new HttpError(403, "Host evil.example is not served here");
   * console.log(e.status, e.message); // 403 Host evil.example is not served here
   * ```
   *
   * @param status The HTTP status.
   * @param message What went wrong, one line.
   */
  constructor(status: number, message: string) {
    super(message);
    this.name = "HttpError";
    this.status = status;
  }
}
