// A local server that answers like the Hugging Face Hub: /{repo}/resolve/{revision}/{file} (datasets under
// /datasets/) with X-Repo-Commit and ETag headers (git's blob sha1 for regular files), the paged tree API
// /api/{models,datasets}/{repo}/tree/{rev}; LFS files (*.safetensors, *.parquet) redirect to a CDN on another
// port (another host, as the Hub's is) with X-Linked-Etag (the sha256) and X-Linked-Size, and the CDN serves
// byte ranges (If-Range honoured). It can demand a token, cut a download short once, and let a test answer any
// request its own way (`hook`), e.g. stall.

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
  /** The CDN's address (same handler, another port). */
  cdn: string;
  /** `METHOD /path` of every request, Hub and CDN. */
  requests: string[];
  /** CDN requests that carried an Authorization header (a signed CDN URL must not get the token). */
  cdnAuthorized: number;
  /** Bytes after which the next CDN download breaks off (then cleared). */
  breakAfter?: number;
  /** Answers a request instead of the Hub when it returns a response; `honest()` is the Hub's own answer. */
  hook?: (
    req: Request,
    url: URL,
    honest: () => Promise<Response>,
  ) => Response | undefined | Promise<Response | undefined>;
  /** Resolves when the server closes: a stall that ends. */
  stall(): Promise<void>;
  /** A 200 body that sends `head` and then nothing until the server closes. */
  stalledBody(head?: Uint8Array<ArrayBuffer>): ReadableStream<Uint8Array>;
  close(): Promise<void>;
}

export async function sha(algorithm: string, bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = await crypto.subtle.digest(algorithm, bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The Hub's ETag of a regular (non-LFS) file: git's blob id, sha1 of `blob <size>\0` and the bytes. */
export function gitSha1(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const header = new TextEncoder().encode(`blob ${bytes.length}\0`);
  const all = new Uint8Array(header.length + bytes.length);
  all.set(header);
  all.set(bytes, header.length);
  return sha("SHA-1", all);
}

/** Whether the server treats `name` as an LFS file. */
export function isLfs(name: string): boolean {
  return /\.(safetensors|parquet|npz|pt)$/.test(name);
}

export async function startHubServer(repos: Record<string, HubRepo>, token?: string): Promise<HubServer> {
  const blobs = new Map<string, Uint8Array<ArrayBuffer>>();
  const etags = new Map<Uint8Array, string>();
  for (const repo of Object.values(repos)) {
    for (const [name, bytes] of Object.entries(repo.files)) {
      const tag = isLfs(name) ? await sha("SHA-256", bytes) : await gitSha1(bytes);
      etags.set(bytes, tag);
      blobs.set(tag, bytes);
    }
  }
  let closed!: () => void;
  const closing = new Promise<void>((resolve) => closed = resolve);
  // req.signal would end a stall when the client gives up, but Deno warns on its legacy semantics: a stall
  // ends when the server closes (the client has long timed out by then)
  const stall = () => closing;
  const state: HubServer = {
    endpoint: "",
    cdn: "",
    requests: [],
    cdnAuthorized: 0,
    stall,
    stalledBody: (head) =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          if (head?.length) controller.enqueue(head);
        },
        async pull(controller) {
          await stall();
          controller.error(new Error("stalled"));
        },
      }),
    close: () => Promise.resolve(),
  };
  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    state.requests.push(`${req.method} ${url.pathname}`);
    if (url.pathname.startsWith("/cdn/") && req.headers.has("authorization")) state.cdnAuthorized++;
    return await state.hook?.(req, url, () => Promise.resolve(honest(req, url))) ?? honest(req, url);
  };
  const honest = (req: Request, url: URL): Response => {
    const cdn = url.pathname.match(/^\/cdn\/(\w+)$/);
    if (cdn) {
      const bytes = blobs.get(cdn[1]);
      if (!bytes) return new Response("no blob", { status: 404 });
      const ifRange = req.headers.get("if-range");
      const range = ifRange === null || ifRange === `"${cdn[1]}"`
        ? req.headers.get("range")?.match(/bytes=(\d+)-/)
        : null;
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
    if (token && req.headers.get("authorization") !== `Bearer ${token}`) {
      return new Response("Unauthorized", { status: 401, headers: { "x-error-code": "GatedRepo" } });
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
    if (isLfs(m![4])) {
      return new Response(null, {
        status: 302,
        headers: {
          location: `${state.cdn}/cdn/${tag}`,
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
  };
  const hub = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, handler);
  const cdn = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, handler);
  state.endpoint = `http://127.0.0.1:${hub.addr.port}`;
  state.cdn = `http://127.0.0.1:${cdn.addr.port}`;
  state.close = async () => {
    closed();
    await Promise.all([hub.shutdown(), cdn.shutdown()]);
  };
  return state;
}

/** Every path under `root`, folders included (an empty folder made outside the cache counts), sorted. */
export async function walk(root: string): Promise<string[]> {
  const paths: string[] = [];
  const visit = async (dir: string): Promise<void> => {
    for await (const entry of Deno.readDir(dir)) {
      const path = `${dir}/${entry.name}`;
      paths.push(path);
      if (entry.isDirectory) await visit(path);
    }
  };
  await visit(root);
  return paths.sort();
}

/** Deterministic bytes for a test repo's files. */
export function testBytes(length: number, seed: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes[i] = state & 0xff;
  }
  return bytes;
}
