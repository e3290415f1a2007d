/**
 * `sae serve`'s server: the explorer page and its JSON API on Deno's HTTP server, bound to 127.0.0.1
 * unless a host is given (then with a token every request must carry), every request checked by
 * {@linkcode guardRequest} first, model runs one at a time behind a bounded queue, and every failure
 * answered as JSON without stopping the server.
 *
 * @module
 */

import type { ExplorerSession } from "./explorer_api.ts";
import { explorerPageHtml } from "./explorer_page.ts";
import { ExplorerSessions, type SaeChoices } from "./explorer_sessions.ts";
import { HttpError } from "./http_error.ts";
import { readJsonBody } from "./read_json_body.ts";
import { allowedHosts, guardRequest } from "./request_guard.ts";
import { RunQueue } from "./run_queue.ts";

/** Options of {@linkcode serveExplorer}. */
export interface ServeOptions {
  /** Port; 0 picks a free one. @default {8080} */
  port?: number;
  /**
   * Name or address to bind besides loopback's 127.0.0.1, e.g. a LAN address; with it, a token is required.
   * @default {none: 127.0.0.1 only}
   */
  host?: string;
  /** The token required on every request. @default {a random one where `host` is given, else none} */
  token?: string;
  /** Largest request body, in bytes. @default {65536} */
  maxBodyBytes?: number;
  /** Longest text, in characters. @default {4000} */
  maxTextLength?: number;
  /** Requests that may wait behind the model run in progress. @default {8} */
  maxWaiting?: number;
  /** Stops the server. */
  signal?: AbortSignal;
  /**
   * What the page may switch to: SAEs and models given at start (by label, never paths from the browser) and,
   * where allowed, registry SAEs by RELEASE/SAE_ID. @default {none}
   */
  saes?: SaeChoices;
}

/** A running explorer. */
export interface RunningExplorer {
  /** The page's URL, with its token where one is required. */
  url: string;
  /** The bound port. */
  port: number;
  /** The token, where one is required. */
  token?: string;
  /** Settles once the server has stopped and released the SAEs it loaded. */
  finished: Promise<void>;
}

function json(status: number, value: unknown): Response {
  return new Response(JSON.stringify(value), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
  });
}

/** Headers that keep a page from being framed by another site or loading anything from elsewhere. */
function pageHeaders(framedBySelf: boolean): Record<string, string> {
  return {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    "x-frame-options": framedBySelf ? "SAMEORIGIN" : "DENY",
    "content-security-policy":
      "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; " +
      `frame-src 'self'; img-src data:; frame-ancestors ${framedBySelf ? "'self'" : "'none'"}`,
    "referrer-policy": "no-referrer",
  };
}

/**
 * Serves the explorer for a loaded SAE and model until `signal` aborts.
 *
 * @example On a free port, stopped again
 * ```ts ignore
 * const { sae, model } = await loadSaeAndModel();
 * const stop = new AbortController();
 * const server = serveExplorer(
 *   { sae, model, saeLabel: "embedded", modelLabel: "embedded", dataset: { label: "sotu", rows } },
 *   { port: 0, signal: stop.signal },
 * );
 * console.log(server.url); // http://127.0.0.1:PORT/
 * stop.abort();
 * await server.finished;
 * ```
 *
 * @param session The SAE, model and dataset.
 * @param options Port, host, token, bounds, stop signal.
 * @returns The URL, port and token, and a promise of the end.
 * @throws {RangeError} When a bound is not a positive integer or the port is outside 0..65535.
 */
export function serveExplorer(session: ExplorerSession, options: ServeOptions = {}): RunningExplorer {
  const { port = 8080, host, maxBodyBytes = 65536, maxTextLength = 4000, maxWaiting = 8, signal } = options;
  if (!(Number.isSafeInteger(port) && port >= 0 && port <= 65535)) {
    throw new RangeError(`The port must be an integer in 0..65535: current value is ${port}`);
  }
  for (const [name, v] of [["maxBodyBytes", maxBodyBytes], ["maxTextLength", maxTextLength]] as const) {
    if (!(Number.isSafeInteger(v) && v > 0)) {
      throw new RangeError(`${name} must be a positive integer: current value is ${v}`);
    }
  }
  const token = options.token ?? (host === undefined ? undefined : randomToken());
  const queue = new RunQueue(maxWaiting);
  const sessions = new ExplorerSessions(session, queue, { maxTextLength, maxBodyBytes }, options.saes);
  let hosts: string[] = [];

  const handle = async (req: Request): Promise<Response> => {
    try {
      return await answer(req);
    } catch (error) {
      if (error instanceof HttpError) return json(error.status, { error: error.message });
      // bad input reaching the library (a feature out of range, a text beyond n_ctx) is the client's error
      const status = error instanceof RangeError || error instanceof TypeError || error instanceof SyntaxError
        ? 400
        : 500;
      return json(status, { error: error instanceof Error ? error.message : String(error) });
    }
  };

  const answer = async (req: Request): Promise<Response> => {
    const refused = guardRequest(req, { hosts, token, maxBodyBytes });
    if (refused) return json(refused.status, { error: refused.message });
    const url = new URL(req.url);
    if (url.pathname === "/" && (req.method === "GET" || req.method === "HEAD")) {
      return new Response(explorerPageHtml(sessions.current.saeLabel), { headers: pageHeaders(false) });
    }
    const endpoint = sessions.endpoint(url.pathname);
    if (!endpoint) return json(404, { error: `No page ${url.pathname}: the API is under /api/ (GET /api/info)` });
    if (req.method !== endpoint.method) {
      return json(405, { error: `${url.pathname} takes ${endpoint.method}, not ${req.method}` });
    }
    const body = req.method === "POST" ? await readJsonBody(req, maxBodyBytes) : {};
    const result = await endpoint.run({ body, query: url.searchParams });
    // a feature's dashboard, shown in the explorer's frame
    if (endpoint.page) return new Response(result as string, { headers: pageHeaders(true) });
    return json(200, result);
  };

  const server = Deno.serve({
    port,
    hostname: host ?? "127.0.0.1",
    signal,
    onListen: () => {}, // sae serve prints its own line, with the token
  }, handle);
  const bound = server.addr.port;
  hosts = allowedHosts(bound, host);
  const shown = host === undefined ? "127.0.0.1" : host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  return {
    url: `http://${shown}:${bound}/${token === undefined ? "" : `?token=${token}`}`,
    port: bound,
    token,
    finished: server.finished.then(() => sessions.close()),
  };
}

function randomToken(): string {
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
}
