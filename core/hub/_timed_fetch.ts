// fetch() with the two time limits huggingface_hub applies: one for an answer (its headers), and one for each
// wait on the body, so that a server that stalls halfway through a file fails instead of hanging.

/** Raised when the server sent nothing for the allowed time; `seconds` is that time. */
export class StallError extends Error {
  /** The limit that ran out, in seconds. */
  readonly seconds: number;
  /**
   * Creates the error.
   *
   * @param seconds The limit that ran out.
   */
  constructor(seconds: number) {
    super(`no data for ${seconds} s`);
    this.name = "StallError";
    this.seconds = seconds;
  }
}

/**
 * Raised when a body arrives slower than {@linkcode MIN_BYTES} per window of {@linkcode WINDOW_LIMITS} read limits
 * (a minute by default): a server sending a byte every few seconds never stalls, and must not hang a run.
 */
export class TrickleError extends Error {
  /** Bytes that came in the window. */
  readonly bytes: number;
  /** The window, in seconds. */
  readonly seconds: number;
  /**
   * Creates the error.
   *
   * @param bytes Bytes that came in the last window.
   * @param seconds The window.
   */
  constructor(bytes: number, seconds: number) {
    super(`only ${bytes} bytes in ${seconds} s`);
    this.name = "TrickleError";
    this.bytes = bytes;
    this.seconds = seconds;
  }
}

/** A body must bring at least this much in each window (16 KiB a minute: a modem's second brings more). */
export const MIN_BYTES = 16 * 1024;
/** The window, in read limits (HF_HUB_DOWNLOAD_TIMEOUT's 10 s: a minute). */
export const WINDOW_LIMITS = 6;

/** A response whose body is read chunk by chunk, each wait bounded by the same limit as its headers. */
export interface TimedResponse {
  response: Response;
  /**
   * The body's chunks; throws {@linkcode StallError} when a chunk takes longer than the limit, {@linkcode TrickleError}
   * when they bring less than {@linkcode MIN_BYTES} in {@linkcode WINDOW_LIMITS} limits.
   */
  chunks(): AsyncGenerator<Uint8Array>;
  /** Drops the body (and the connection's wait). */
  cancel(): Promise<void>;
}

/**
 * Sends a request and waits at most `seconds` for its headers, then at most `seconds` for each body chunk.
 *
 * @example
 * ```ts ignore
 * const { response, chunks } = await timedFetch("http://127.0.0.1:1/x", {}, 10);
 * ```
 *
 * @param url Where to.
 * @param init Method and headers (`redirect` is the caller's: nothing is followed here unless it says so).
 * @param seconds The limit for the headers and for each wait on the body.
 * @returns The response and a reader of its body.
 * @throws {StallError} When the headers do not come in time.
 * @throws {TypeError} When the server cannot be reached (fetch's own error).
 */
export async function timedFetch(url: string | URL, init: RequestInit, seconds: number): Promise<TimedResponse> {
  const controller = new AbortController();
  let stalled = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      stalled = true;
      controller.abort(new StallError(seconds));
    }, seconds * 1000);
  };
  arm();
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: controller.signal });
  } catch (error) {
    clearTimeout(timer);
    throw stalled ? new StallError(seconds) : error;
  }
  clearTimeout(timer);
  return {
    response,
    async *chunks() {
      if (!response.body) return;
      const reader = response.body.getReader();
      let windowStart = performance.now(), windowBytes = 0;
      try {
        for (;;) {
          arm();
          const { done, value } = await reader.read().catch((error) => {
            throw stalled ? new StallError(seconds) : error;
          });
          clearTimeout(timer);
          if (done) return;
          windowBytes += value.length;
          if (performance.now() - windowStart >= WINDOW_LIMITS * seconds * 1000) {
            if (windowBytes < MIN_BYTES) throw new TrickleError(windowBytes, WINDOW_LIMITS * seconds);
            windowStart = performance.now(), windowBytes = 0;
          }
          yield value;
        }
      } finally {
        clearTimeout(timer);
        await reader.cancel().catch(() => {});
      }
    },
    async cancel() {
      clearTimeout(timer);
      await response.body?.cancel().catch(() => {});
    },
  };
}
