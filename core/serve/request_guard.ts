/**
 * The explorer's request rules, checked before any work: the Host header must name the server (DNS
 * rebinding), the token must be given where one was set (`--host`), writes must come from the server's
 * own page (no cross-origin POST), as JSON, and within the body size limit.
 *
 * @module
 */

import { HttpError } from "./http_error.ts";

/** What {@linkcode guardRequest} checks against. */
export interface RequestRules {
  /** Host header values served, lower case, e.g. `127.0.0.1:8080`. */
  hosts: readonly string[];
  /** Token every request must carry (header `x-sae-token` or `?token=`); none when unset. */
  token?: string;
  /** Largest request body in bytes. */
  maxBodyBytes: number;
}

/**
 * The Host header values a server on `port` answers to: the loopback names, and `host` where one was bound.
 *
 * @example The loopback names on port 8080
 * ```ts
 * import { allowedHosts } from "./request_guard.ts";
 * console.log(allowedHosts(8080)); // ["127.0.0.1:8080", "localhost:8080", "[::1]:8080"]
 * ```
 *
 * @param port The bound port.
 * @param host The `--host` value, if any.
 * @returns Lower-case `name:port` values.
 */
export function allowedHosts(port: number, host?: string): string[] {
  const names = ["127.0.0.1", "localhost", "[::1]"];
  if (host !== undefined) {
    const name = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host; // an IPv6 address
    if (!names.includes(name.toLowerCase())) names.push(name.toLowerCase());
  }
  // on port 80 browsers leave the port out of Host and Origin
  return names.flatMap((n) => port === 80 ? [`${n}:80`, n] : [`${n}:${port}`]);
}

/** Compares in time independent of where the strings differ, so the token cannot be guessed byte by byte. */
function sameSecret(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= a.charCodeAt(i % Math.max(a.length, 1)) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * Checks a request against the rules.
 *
 * @example A Host header naming another site
 * ```ts
 * import { guardRequest } from "./request_guard.ts";
 * const req = new Request("http://evil.example:8080/api/info", { headers: { host: "evil.example:8080" } });
 * const refused = guardRequest(req, { hosts: ["127.0.0.1:8080"], maxBodyBytes: 65536 });
 * console.log(refused?.status); // 403
 * ```
 *
 * @param req The request.
 * @param rules Hosts, token and body limit.
 * @returns The refusal, or undefined when the request may go on.
 */
export function guardRequest(req: Request, rules: RequestRules): HttpError | undefined {
  const host = (req.headers.get("host") ?? "").toLowerCase();
  if (!rules.hosts.includes(host)) {
    return new HttpError(
      403,
      `Host ${JSON.stringify(host)} is not served here: expected one of ${rules.hosts.join(", ")}`,
    );
  }
  if (rules.token !== undefined) {
    const given = req.headers.get("x-sae-token") ?? new URL(req.url).searchParams.get("token") ?? "";
    if (!sameSecret(given, rules.token)) {
      return new HttpError(403, "The token is missing or wrong: open the URL sae serve printed, with its ?token=");
    }
  }
  if (req.method === "GET" || req.method === "HEAD") return undefined;
  const origin = req.headers.get("origin");
  if (origin !== null && !rules.hosts.some((h) => origin.toLowerCase() === `http://${h}`)) {
    return new HttpError(403, `Cross-origin ${req.method} from ${origin} refused: only this server's page may write`);
  }
  if (!(req.headers.get("content-type") ?? "").toLowerCase().startsWith("application/json")) {
    return new HttpError(415, `${req.method} ${new URL(req.url).pathname} takes a JSON body (application/json)`);
  }
  const length = Number(req.headers.get("content-length") ?? 0);
  if (length > rules.maxBodyBytes) {
    return new HttpError(413, `The request body is ${length} bytes: at most ${rules.maxBodyBytes} are read`);
  }
  return undefined;
}
