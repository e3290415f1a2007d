/**
 * The errors of Hub downloads and listings, which callers catch.
 *
 * @module
 */

/** Raised when the Hub cannot provide a file (missing, gated, offline and not cached, wrong content). */
export class HubError extends Error {
  /** HTTP status, when the Hub answered with an error. */
  readonly status?: number;
  /**
   * Creates the error.
   *
   * @param message What failed and what to do.
   * @param options The HTTP status and the underlying error.
   */
  constructor(message: string, options?: { status?: number; cause?: unknown }) {
    super(message, { cause: options?.cause });
    this.name = "HubError";
    this.status = options?.status;
  }
}

/**
 * Raised when the repo has no such file (the Hub answered 404 EntryNotFound), or when offline mode is set and
 * the cache does not hold it, as huggingface_hub's EntryNotFoundError: the one error optional files may ignore.
 */
export class EntryNotFoundError extends HubError {
  /**
   * Creates the error.
   *
   * @param message What is missing.
   * @param options The HTTP status (404 when the Hub said so).
   */
  constructor(message: string, options?: { status?: number }) {
    super(message, options);
    this.name = "EntryNotFoundError";
  }
}
