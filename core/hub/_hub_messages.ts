/**
 * Parts of the Hub's one-line error messages: server-sent values quoted, other errors on one line, HTTP statuses
 * explained.
 *
 * @module
 */

/** A server-sent value quoted for a one-line message, however long or odd. */
export function quote(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}

/** Another error's message on one line, for the end of ours. */
export function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s+/g, " ").trim().slice(0, 200);
}

/** What an HTTP error status of the Hub means, and what to do about it. */
export function describeStatus(status: number, hasToken: boolean): string {
  if (status === 401 || status === 403) {
    return `the Hub answered ${status}: the repo is gated or private; ` +
      (hasToken ? "the token in HF_TOKEN has no access to it" : "set HF_TOKEN to a token with access");
  }
  if (status === 404) return "the Hub answered 404: no such repo, revision or file";
  if (status === 429) return "the Hub answered 429: too many requests, try again later";
  return `the Hub answered ${status}`;
}

/**
 * Why a request failed before any HTTP status, in words: the server could not be reached (no connection), or it
 * answered with something no HTTP client reads (a header flood, control characters in a header). fetch's own message
 * is "fetch failed"; its cause says which.
 */
export function fetchProblem(error: unknown, who: string): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : "";
  const detail = oneLine(cause || error);
  if (cause === "" || /\(Connect\)|dns error|Connection refused|No route|timed out/i.test(cause)) {
    return `${who} is unreachable (${detail})`;
  }
  return `${who} sent an answer no HTTP client can read (${detail})`;
}
