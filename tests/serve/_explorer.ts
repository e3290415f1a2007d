// The explorer on the embedded SAE and model (no network), its dashboards reading the reference fixture's rows,
// served on a free port; and raw HTTP/1.1 requests, whose Host, Origin and framing fetch would not let a test set.
import { loadSaeAndModel } from "../../core/analysis/load_sae_and_model.ts";
import { openTokenDataset } from "../../core/data/token_dataset.ts";
import type { ExplorerSession } from "../../core/serve/explorer_api.ts";
import { type RunningExplorer, serveExplorer, type ServeOptions } from "../../core/serve/serve_explorer.ts";
import { FIXTURES } from "../_fixtures.ts";

export const ORT = { sanitizeOps: false, sanitizeResources: false };

export async function embeddedSession(): Promise<ExplorerSession> {
  const { sae, model } = await loadSaeAndModel();
  const dataset = await openTokenDataset(`${FIXTURES}reference-dev.safetensors`, {
    tokenizer: model,
    defaultContextSize: 128,
    maxContext: model.cfg.nCtx,
    vocabSize: model.cfg.dVocab,
  });
  return {
    sae,
    model,
    saeLabel: "embedded",
    modelLabel: "embedded",
    dataset: { label: dataset.label, rows: () => dataset.rows() },
    dashboardTokens: 2048,
  };
}

/** Serves `session` on a free port until the returned stop() (which waits for the server to end). */
export function startExplorer(session: ExplorerSession, options: ServeOptions = {}): Served {
  const controller = new AbortController();
  const server = serveExplorer(session, { port: 0, ...options, signal: controller.signal });
  return {
    ...server,
    base: `http://127.0.0.1:${server.port}`,
    stop: async () => {
      controller.abort();
      await server.finished;
    },
  };
}

type Served = RunningExplorer & { base: string; stop: () => Promise<void> };

/** Runs `fn` on the explorer served with `options`, then stops the server and releases the SAE and model. */
export async function withExplorer(
  options: ServeOptions,
  fn: (server: Served, session: ExplorerSession) => Promise<void>,
): Promise<void> {
  const session = await embeddedSession();
  const server = startExplorer(session, options);
  try {
    await fn(server, session);
  } finally {
    await server.stop();
    session.sae.destroy();
    await session.model.dispose();
  }
}

export interface RawResponse {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/** One HTTP/1.1 request over a fresh connection, written byte for byte; `chunks` sends the body chunked. */
export async function rawRequest(
  port: number,
  request: { method?: string; path?: string; headers?: Record<string, string>; body?: string; chunks?: string[] },
): Promise<RawResponse> {
  const { method = "GET", path = "/", headers = {}, body, chunks } = request;
  const all: Record<string, string> = { host: `127.0.0.1:${port}`, connection: "close", ...headers };
  if (body !== undefined && !("content-length" in all)) {
    all["content-length"] = String(new TextEncoder().encode(body).length);
  }
  if (chunks) all["transfer-encoding"] = "chunked";
  let text = `${method} ${path} HTTP/1.1\r\n${Object.entries(all).map(([k, v]) => `${k}: ${v}\r\n`).join("")}\r\n`;
  if (body !== undefined) text += body;
  if (chunks) {
    text += chunks.map((c) => `${new TextEncoder().encode(c).length.toString(16)}\r\n${c}\r\n`).join("") + "0\r\n\r\n";
  }
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const bytes = new TextEncoder().encode(text);
    // the server may answer (413) and close before reading a long body: a broken pipe then is expected
    for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at)).catch(() => bytes.length);
    const received: Uint8Array[] = [];
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      received.push(buf.slice(0, n));
    }
    const raw = new TextDecoder().decode(new Uint8Array(received.flatMap((c) => [...c])));
    const [head, ...rest] = raw.split("\r\n\r\n");
    const [statusLine, ...headerLines] = head.split("\r\n");
    const map = new Map(headerLines.map((l) => {
      const i = l.indexOf(":");
      return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()] as [string, string];
    }));
    let payload = rest.join("\r\n\r\n");
    if (map.get("transfer-encoding") === "chunked") {
      let out = "";
      for (let at = 0;;) {
        const eol = payload.indexOf("\r\n", at);
        const size = parseInt(payload.slice(at, eol), 16);
        if (!size) break;
        out += payload.slice(eol + 2, eol + 2 + size);
        at = eol + 2 + size + 2;
      }
      payload = out;
    }
    return { status: Number(statusLine.split(" ")[1]), headers: map, body: payload };
  } finally {
    conn.close();
  }
}
