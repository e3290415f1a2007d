// A local server that answers like the Hugging Face Hub: /{repo}/resolve/{revision}/{file} with
// X-Repo-Commit and ETag headers; LFS files (*.safetensors) redirect to a CDN path with X-Linked-Etag
// and X-Linked-Size and serve byte ranges. It can demand a token and cut a download short once.

export interface HubRepo {
  commit: string;
  files: Record<string, Uint8Array<ArrayBuffer>>;
}

export interface HubServer {
  endpoint: string;
  requests: string[];
  /** Bytes after which the next CDN download breaks off (then cleared). */
  breakAfter?: number;
  close(): Promise<void>;
}

async function sha(algorithm: string, bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = await crypto.subtle.digest(algorithm, bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function startHubServer(repos: Record<string, HubRepo>, token?: string): Promise<HubServer> {
  const blobs = new Map<string, Uint8Array<ArrayBuffer>>();
  const etags = new Map<Uint8Array, string>();
  for (const repo of Object.values(repos)) {
    for (const [name, bytes] of Object.entries(repo.files)) {
      const tag = name.endsWith(".safetensors") ? await sha("SHA-256", bytes) : await sha("SHA-1", bytes);
      etags.set(bytes, tag);
      blobs.set(tag, bytes);
    }
  }
  const state: HubServer = { endpoint: "", requests: [], close: () => Promise.resolve() };
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (req) => {
    const url = new URL(req.url);
    state.requests.push(`${req.method} ${url.pathname}`);
    if (token && req.headers.get("authorization") !== `Bearer ${token}`) {
      return new Response("Unauthorized", { status: 401, headers: { "x-error-code": "GatedRepo" } });
    }
    const cdn = url.pathname.match(/^\/cdn\/(\w+)$/);
    if (cdn) {
      const bytes = blobs.get(cdn[1]);
      if (!bytes) return new Response("no blob", { status: 404 });
      const range = req.headers.get("range")?.match(/bytes=(\d+)-/);
      const start = range ? Number(range[1]) : 0;
      const body = bytes.subarray(start);
      const headers = { "content-length": String(body.length) } as Record<string, string>;
      if (range) headers["content-range"] = `bytes ${start}-${bytes.length - 1}/${bytes.length}`;
      const breakAfter = state.breakAfter;
      state.breakAfter = undefined;
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          if (breakAfter === undefined) {
            controller.enqueue(body);
            controller.close();
          } else {
            controller.enqueue(body.subarray(0, breakAfter));
            setTimeout(() => controller.error(new Error("connection reset")), 10);
          }
        },
      });
      return new Response(req.method === "HEAD" ? null : stream, { status: range ? 206 : 200, headers });
    }
    const m = url.pathname.match(/^\/([\w.-]+\/[\w.-]+)\/resolve\/([^/]+)\/(.+)$/);
    const repo = m ? repos[m[1]] : undefined;
    const bytes = repo && (m![2] === "main" || m![2] === repo.commit) ? repo.files[m![3]] : undefined;
    if (!repo || !bytes) {
      return new Response("Entry not found", { status: 404, headers: { "x-error-code": "EntryNotFound" } });
    }
    const tag = etags.get(bytes)!;
    if (m![3].endsWith(".safetensors")) {
      return new Response(null, {
        status: 302,
        headers: {
          location: `${url.origin}/cdn/${tag}`,
          "x-repo-commit": repo.commit,
          "x-linked-etag": `"${tag}"`,
          "x-linked-size": String(bytes.length),
          etag: `"${tag}"`,
        },
      });
    }
    return new Response(req.method === "HEAD" ? null : bytes, {
      headers: { "x-repo-commit": repo.commit, etag: `"${tag}"`, "content-length": String(bytes.length) },
    });
  });
  state.endpoint = `http://127.0.0.1:${server.addr.port}`;
  state.close = () => server.shutdown();
  return state;
}
