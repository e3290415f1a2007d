// A local server that answers like the Hugging Face Hub: /{repo}/resolve/{revision}/{file} (datasets under
// /datasets/) with X-Repo-Commit and ETag headers, the paged tree API /api/{models,datasets}/{repo}/tree/{rev};
// LFS files (*.safetensors, *.parquet) redirect to a CDN path with X-Linked-Etag
// and X-Linked-Size and serve byte ranges. It can demand a token and cut a download short once.

export interface HubRepo {
  commit: string;
  files: Record<string, Uint8Array<ArrayBuffer>>;
  /** Datasets answer under /datasets/ and /api/datasets/. @default "model" */
  type?: "model" | "dataset";
}

/** Entries per page of the tree API, small so that paging (Link: rel="next") is exercised. */
const TREE_PAGE = 2;

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
      const tag = /\.(safetensors|parquet)$/.test(name) ? await sha("SHA-256", bytes) : await sha("SHA-1", bytes);
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
    const tree = url.pathname.match(/^\/api\/(models|datasets)\/([\w.-]+\/[\w.-]+)\/tree\/([^/]+)$/);
    if (tree) {
      const repo = repos[tree[2]];
      if (!repo || `${repo.type ?? "model"}s` !== tree[1]) return new Response("Repository not found", { status: 404 });
      const names = Object.keys(repo.files).sort();
      const start = Number(url.searchParams.get("cursor") ?? 0);
      const page = names.slice(start, start + TREE_PAGE).map((path) => ({
        type: "file",
        path,
        size: repo.files[path].length,
      }));
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (start + TREE_PAGE < names.length) {
        headers.link = `<${url.origin}${url.pathname}?recursive=true&cursor=${start + TREE_PAGE}>; rel="next"`;
      }
      return new Response(JSON.stringify(page), { headers });
    }
    const m = url.pathname.match(/^\/(datasets\/)?([\w.-]+\/[\w.-]+)\/resolve\/([^/]+)\/(.+)$/);
    const repo = m && (m[1] ? "dataset" : "model") === (repos[m[2]]?.type ?? "model") ? repos[m[2]] : undefined;
    const bytes = repo && (m![3] === "main" || m![3] === repo.commit) ? repo.files[m![4]] : undefined;
    if (!repo || !bytes) {
      return new Response("Entry not found", { status: 404, headers: { "x-error-code": "EntryNotFound" } });
    }
    const tag = etags.get(bytes)!;
    if (/\.(safetensors|parquet)$/.test(m![4])) {
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
