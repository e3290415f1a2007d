/**
 * A request's JSON object body, read up to a byte limit whatever Content-Length claims (a chunked body
 * names none).
 *
 * @module
 */

import { HttpError } from "./http_error.ts";

/**
 * Reads the body as a JSON object, stopping at `maxBytes`.
 *
 * @example Read a JSON body
 * ```ts
 * import { readJsonBody } from "./read_json_body.ts";
 * const body = await readJsonBody(new Request("http://x/", { method: "POST", body: '{"text":"hi"}' }), 1024);
 * console.log(body.text); // hi
 * ```
 *
 * @param req The request.
 * @param maxBytes Largest body read.
 * @returns The object.
 * @throws {HttpError} 413 when the body is longer, 400 when it is not a JSON object.
 */
export async function readJsonBody(req: Request, maxBytes: number): Promise<Record<string, unknown>> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (req.body) {
    for await (const chunk of req.body) {
      size += chunk.length;
      if (size > maxBytes) throw new HttpError(413, `The request body is over ${maxBytes} bytes`);
      chunks.push(chunk);
    }
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new HttpError(400, 'The request body is not JSON: expected an object such as {"text": "..."}');
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new HttpError(400, "The request body must be a JSON object");
  }
  return value as Record<string, unknown>;
}
