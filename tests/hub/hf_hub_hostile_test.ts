// hfHubDownload() against a Hub that stalls, lies about sizes and content, sends names that are paths, or is
// down: each case fails with one clean line or succeeds with the right bytes, and nothing lands outside the cache.
import { assertEquals, assertRejects } from "../_assert.ts";
import { hfHubDownload } from "../../core/hub/hf_hub.ts";
import { hfListFiles } from "../../core/hub/hf_list_files.ts";
import { EntryNotFoundError, HubError } from "../../core/hub/hub_error.ts";
import { hubSettings } from "../../core/hub/hub_settings.ts";
import { repoCacheDir } from "../../core/hub/repo_cache.ts";
import { pullPretrained } from "../../core/sae/pretrained.ts";
import { gitSha1, type HubServer, sha, startHubServer, testBytes, walk } from "./_hub_server.ts";

const REPO = "org/sae";
const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const CFG = testBytes(553, 1);
const WEIGHTS = testBytes(300_000, 2);
const files = { "cfg.json": CFG, "weights.safetensors": WEIGHTS };
const CFG_ETAG = await gitSha1(CFG);

interface Ctx {
  server: HubServer;
  root: string;
  cacheDir: string;
  repoDir: string;
  /** Fast options: the test server answers in milliseconds, so 0.3 s limits are ample. */
  opts: { endpoint: string; cacheDir: string; etagTimeout: number; downloadTimeout: number };
}

/** Runs `fn` with a server and a cache inside a fresh folder; afterwards nothing but the cache may be in it. */
async function withCache(fn: (ctx: Ctx) => Promise<void>, token?: string): Promise<void> {
  const server = await startHubServer({ [REPO]: { commit: COMMIT, files } }, token);
  const root = await Deno.makeTempDir();
  const cacheDir = `${root}/cache`;
  try {
    const opts = { endpoint: server.endpoint, cacheDir, etagTimeout: 0.3, downloadTimeout: 0.3 };
    await fn({ server, root, cacheDir, repoDir: repoCacheDir(REPO, cacheDir), opts });
    assertEquals((await walk(root)).filter((p) => !p.startsWith(`${cacheDir}/`) && p !== cacheDir), []);
  } finally {
    await server.close();
    await Deno.remove(root, { recursive: true });
  }
}

/** A HEAD answer for cfg.json as the Hub gives it, with `headers` changed. */
function head(headers: Record<string, string | null>): Response {
  const base: Record<string, string> = {
    "x-repo-commit": COMMIT,
    etag: `"${CFG_ETAG}"`,
    "content-length": String(CFG.length),
  };
  for (const [k, v] of Object.entries(headers)) v === null ? delete base[k] : base[k] = v;
  return new Response(null, { headers: base });
}

const isHead = (req: Request, name: string) => req.method === "HEAD" && req.url.endsWith(`/resolve/main/${name}`);
const isGet = (req: Request, name: string) => req.method === "GET" && req.url.endsWith(`/resolve/main/${name}`);

Deno.test("hfHubDownload() gives up on a Hub that never answers HEAD after etagTimeout", async () => {
  await withCache(async ({ server, opts }) => {
    server.hook = async () => {
      await server.stall();
      return new Response(null, { status: 500 });
    };
    const start = performance.now();
    await assertRejects(
      () => hfHubDownload(REPO, "cfg.json", opts),
      HubError,
      "Cannot get org/sae/cfg.json from http://127.0.0.1:",
    );
    await assertRejects(
      () => hfHubDownload(REPO, "cfg.json", opts),
      HubError,
      "did not answer within 0.3 s (HF_HUB_ETAG_TIMEOUT); no cached copy to fall back on",
    );
    assertEquals(performance.now() - start < 3000, true);
  });
});

Deno.test("hfHubDownload() gives up on a download that sends headers, or half the file, then nothing", async () => {
  await withCache(async ({ server, opts, repoDir }) => {
    for (const sent of [0, 200]) {
      server.hook = (req) => isGet(req, "cfg.json") ? new Response(server.stalledBody(CFG.slice(0, sent))) : undefined;
      await assertRejects(
        () => hfHubDownload(REPO, "cfg.json", opts),
        HubError,
        `the download stalled after ${sent} of 553 bytes: nothing for 0.3 s (HF_HUB_DOWNLOAD_TIMEOUT)`,
      );
      assertEquals(await walk(`${repoDir}/blobs`), []); // no partial file left for a small file
    }
    server.hook = async (req) => {
      if (!isGet(req, "cfg.json")) return undefined;
      await server.stall();
      return new Response(CFG);
    };
    await assertRejects(
      () => hfHubDownload(REPO, "cfg.json", opts),
      HubError,
      "the download did not start within 0.3 s (HF_HUB_DOWNLOAD_TIMEOUT)",
    );
  });
});

Deno.test("hubSettings() reads the timeouts and the token as huggingface_hub does", async () => {
  const home = await Deno.makeTempDir();
  const names = ["HF_HUB_ETAG_TIMEOUT", "HF_HUB_DOWNLOAD_TIMEOUT", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HOME"];
  const saved = names.map((k) => [k, Deno.env.get(k)] as const);
  try {
    for (const k of names) Deno.env.delete(k);
    Deno.env.set("HF_HOME", home);
    assertEquals([hubSettings().etagTimeout, hubSettings().downloadTimeout, hubSettings().token], [10, 10, undefined]);
    Deno.env.set("HF_HUB_ETAG_TIMEOUT", "2.5");
    Deno.env.set("HF_HUB_DOWNLOAD_TIMEOUT", "30");
    assertEquals([hubSettings().etagTimeout, hubSettings().downloadTimeout], [2.5, 30]);
    assertEquals(hubSettings({ etagTimeout: 1 }).etagTimeout, 1);
    Deno.env.set("HF_HUB_ETAG_TIMEOUT", "soon");
    assertEquals(
      (() => {
        try {
          return hubSettings().etagTimeout;
        } catch (e) {
          return (e as Error).message;
        }
      })(),
      'HF_HUB_ETAG_TIMEOUT must be a positive number of seconds: found "soon"',
    );
    Deno.env.delete("HF_HUB_ETAG_TIMEOUT");
    await Deno.writeTextFile(`${home}/token`, "hf_file\n");
    assertEquals(hubSettings().token, "hf_file");
    Deno.env.set("HUGGING_FACE_HUB_TOKEN", "hf_old");
    assertEquals(hubSettings().token, "hf_old");
    Deno.env.set("HF_TOKEN", "hf_new");
    assertEquals(hubSettings().token, "hf_new");
    assertEquals(hubSettings({ token: "given" }).token, "given");
  } finally {
    for (const [k, v] of saved) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("hfHubDownload() refuses a size beyond what the file may have before downloading anything", async () => {
  await withCache(async ({ server, opts }) => {
    server.hook = (req) => isHead(req, "cfg.json") ? head({ "content-length": String(10 * 2 ** 30) }) : undefined;
    await assertRejects(
      () => hfHubDownload(REPO, "cfg.json", opts),
      HubError,
      "the Hub announces 10737418240 bytes, more than the 67108864 expected for it",
    );
    server.hook = undefined;
    await assertRejects(
      () => hfHubDownload(REPO, "weights.safetensors", { ...opts, maxSize: 1000 }),
      HubError,
      "the Hub announces 300000 bytes, more than the 1000 expected for it",
    );
    assertEquals(server.requests.filter((r) => r.startsWith("GET")), []);
  });
});

Deno.test("hfHubDownload() refuses ETags, commits and refs that would be paths outside the cache", async () => {
  await withCache(async ({ server, opts, repoDir, root }) => {
    server.hook = (req) => isHead(req, "cfg.json") ? head({ etag: '"../../../escape"' }) : undefined;
    await assertRejects(
      () => hfHubDownload(REPO, "cfg.json", opts),
      HubError,
      'ETag "../../../escape" is not a sha1 or sha256 hash',
    );
    server.hook = (req) => isHead(req, "cfg.json") ? head({ "x-repo-commit": "../../x" }) : undefined;
    await assertRejects(
      () => hfHubDownload(REPO, "cfg.json", opts),
      HubError,
      'X-Repo-Commit "../../x" is not a commit hash',
    );
    await assertRejects(
      () => hfHubDownload(REPO, "../cfg.json", opts),
      TypeError,
      "is not a relative path inside the repo",
    );
    await assertRejects(
      () => hfHubDownload(REPO, "cfg.json", { ...opts, revision: "../../x" }),
      TypeError,
      "is not a branch",
    );
    server.hook = undefined;
    // an edited ref, or a snapshot link to elsewhere, must not make an offline run load from outside
    await hfHubDownload(REPO, "cfg.json", opts);
    await Deno.writeTextFile(`${repoDir}/refs/main`, "../../../elsewhere");
    await assertRejects(
      () => hfHubDownload(REPO, "cfg.json", { ...opts, offline: true }),
      HubError,
      'holds "../../../elsewhere", not a commit hash',
    );
    await Deno.writeTextFile(`${repoDir}/refs/main`, COMMIT);
    await Deno.writeTextFile(`${root}/cache/outside.json`, "{}");
    await Deno.remove(`${repoDir}/snapshots/${COMMIT}/cfg.json`);
    await Deno.symlink("../../../outside.json", `${repoDir}/snapshots/${COMMIT}/cfg.json`);
    await assertRejects(() => hfHubDownload(REPO, "cfg.json", { ...opts, offline: true }), HubError, "outside");
  });
});

Deno.test("hfHubDownload() keeps no blob whose sha256 or size is not the announced one", async () => {
  await withCache(async ({ server, opts, repoDir }) => {
    const other = testBytes(WEIGHTS.length, 9);
    // LFS content changed between HEAD and GET, same size
    server.hook = (_req, url) => url.pathname.startsWith("/cdn/") ? new Response(other) : undefined;
    await assertRejects(
      () => hfHubDownload(REPO, "weights.safetensors", opts),
      HubError,
      `not the announced ${await sha("SHA-256", WEIGHTS)} (discarded)`,
    );
    assertEquals(await walk(`${repoDir}/blobs`), []);
    // cfg.json announced as 553 bytes, sent longer: with Content-Length, and streamed without one
    const longer = new Uint8Array([...CFG, ...CFG]);
    server.hook = (req) => isGet(req, "cfg.json") ? new Response(longer) : undefined;
    await assertRejects(
      () => hfHubDownload(REPO, "cfg.json", opts),
      HubError,
      "the download sends 1106 bytes, the Hub announced 553",
    );
    server.hook = (req) => isGet(req, "cfg.json") ? new Response(ReadableStream.from([longer])) : undefined;
    await assertRejects(
      () => hfHubDownload(REPO, "cfg.json", opts),
      HubError,
      "more than the 553 bytes the Hub announced",
    );
    server.hook = (req) => isGet(req, "cfg.json") ? new Response(ReadableStream.from([CFG.slice(0, 100)])) : undefined;
    await assertRejects(
      () => hfHubDownload(REPO, "cfg.json", opts),
      HubError,
      "ended after 100 bytes, the Hub announced 553",
    );
    // a regular file that changed between HEAD and GET, same size: its git sha1 is not the ETag
    server.hook = (req) => isGet(req, "cfg.json") ? new Response(testBytes(CFG.length, 7)) : undefined;
    await assertRejects(
      () => hfHubDownload(REPO, "cfg.json", opts),
      HubError,
      `the downloaded bytes have git sha1 ${await gitSha1(testBytes(CFG.length, 7))}, not the announced ${CFG_ETAG}`,
    );
    assertEquals(await walk(`${repoDir}/blobs`), []);
    // none of that poisoned the cache: an honest server is then believed
    server.hook = undefined;
    assertEquals(await Deno.readFile(await hfHubDownload(REPO, "cfg.json", opts)), CFG);
    assertEquals(await Deno.readFile(await hfHubDownload(REPO, "weights.safetensors", opts)), WEIGHTS);
  });
});

Deno.test("hfHubDownload() resumes with If-Range, restarts on a 200, and never keeps old head + new tail", async () => {
  await withCache(async ({ server, opts, repoDir }) => {
    const ranges: string[] = [];
    server.hook = (req, url) => {
      if (url.pathname.startsWith("/cdn/") && req.headers.has("range")) {
        ranges.push(`${req.headers.get("range")} ${req.headers.get("if-range")}`);
      }
      return undefined;
    };
    server.breakAfter = 100_000;
    await assertRejects(
      () => hfHubDownload(REPO, "weights.safetensors", opts),
      HubError,
      "broke off after 100000 of 300000 bytes",
    );
    const tag = await sha("SHA-256", WEIGHTS);
    assertEquals(await walk(`${repoDir}/blobs`), [`${repoDir}/blobs/${tag}.incomplete`]);
    assertEquals(await Deno.readFile(await hfHubDownload(REPO, "weights.safetensors", opts)), WEIGHTS);
    assertEquals(ranges, [`bytes=100000- "${tag}"`]);
    // a server that answers a Range request with the whole file: started over, right bytes
    await Deno.remove(`${repoDir}/blobs/${tag}`);
    server.breakAfter = 50_000;
    await assertRejects(() => hfHubDownload(REPO, "weights.safetensors", opts), HubError, "broke off");
    server.hook = (_req, url) => url.pathname.startsWith("/cdn/") ? new Response(WEIGHTS) : undefined;
    assertEquals(await Deno.readFile(await hfHubDownload(REPO, "weights.safetensors", opts)), WEIGHTS);
    // another content's tail under a resumed download (If-Range ignored): right size, wrong hash, so the
    // partial file is dropped and the download starts over from byte 0
    await Deno.remove(`${repoDir}/blobs/${tag}`);
    server.hook = undefined;
    server.breakAfter = 50_000;
    await assertRejects(() => hfHubDownload(REPO, "weights.safetensors", opts), HubError, "broke off");
    const other = testBytes(WEIGHTS.length, 9);
    server.hook = (req, url) =>
      url.pathname.startsWith("/cdn/") && req.headers.has("range")
        ? new Response(other.subarray(50_000), {
          status: 206,
          headers: { "content-range": `bytes 50000-${other.length - 1}/${other.length}` },
        })
        : undefined;
    const cdnGets = server.requests.filter((r) => r.startsWith("GET /cdn/")).length;
    assertEquals(await Deno.readFile(await hfHubDownload(REPO, "weights.safetensors", opts)), WEIGHTS);
    assertEquals(server.requests.filter((r) => r.startsWith("GET /cdn/")).length, cdnGets + 2);
    // and when every answer is the other content, nothing is kept
    await Deno.remove(`${repoDir}/blobs/${tag}`);
    server.hook = (_req, url) => url.pathname.startsWith("/cdn/") ? new Response(other) : undefined;
    await assertRejects(() => hfHubDownload(REPO, "weights.safetensors", opts), HubError, "(discarded)");
    assertEquals(await walk(`${repoDir}/blobs`), []);
  });
});

Deno.test("hfHubDownload() falls back to the cache when the Hub fails, except for a missing file", async () => {
  await withCache(async ({ server, opts }) => {
    const path = await hfHubDownload(REPO, "cfg.json", opts);
    const answers: [string, () => Response | Promise<Response>][] = [
      ["401", () => new Response(null, { status: 401 })],
      ["403", () => new Response(null, { status: 403 })],
      ["429", () => new Response(null, { status: 429 })],
      ["500", () => new Response(null, { status: 500 })],
      ["404 RepoNotFound", () => new Response(null, { status: 404, headers: { "x-error-code": "RepoNotFound" } })],
      ["no headers", () => new Response(null)],
      ["bad commit", () => head({ "x-repo-commit": "zz" })],
    ];
    for (const [, answer] of answers) {
      server.hook = (req) => req.method === "HEAD" ? answer() : undefined;
      assertEquals(await hfHubDownload(REPO, "cfg.json", opts), path);
    }
    server.hook = (req) =>
      req.method === "HEAD"
        ? new Response(null, { status: 404, headers: { "x-error-code": "EntryNotFound" } })
        : undefined;
    await assertRejects(
      () => hfHubDownload(REPO, "cfg.json", opts),
      EntryNotFoundError,
      "404: no such repo, revision or file",
    );
    server.hook = (req) => req.method === "HEAD" ? new Response(null, { status: 500 }) : undefined;
    await assertRejects(
      () => hfHubDownload(REPO, "weights.safetensors", opts),
      HubError,
      "Cannot get org/sae/weights.safetensors from http://127.0.0.1:",
    );
    await server.close();
    assertEquals(await hfHubDownload(REPO, "cfg.json", opts), path); // unreachable
    const error = await assertRejects(
      () => hfHubDownload(REPO, "weights.safetensors", opts),
      HubError,
      "the Hub is unreachable (",
    );
    assertEquals(error.message.includes("\n"), false);
  });
});

Deno.test("hfHubDownload() sends the token to the Hub but not to the CDN of another host", async () => {
  await withCache(async ({ server, opts }) => {
    const path = await hfHubDownload(REPO, "weights.safetensors", { ...opts, token: "secret" });
    assertEquals(await Deno.readFile(path), WEIGHTS);
    assertEquals(server.requests.filter((r) => r.startsWith("GET /cdn/")).length, 1);
    assertEquals(server.cdnAuthorized, 0);
    // on a redirect only X-Linked-Size says the size: a redirect without it is not trusted
    server.hook = (req, url) =>
      req.method === "HEAD" && url.pathname.endsWith("/cfg.json")
        ? new Response(null, {
          status: 302,
          headers: { location: `${server.cdn}/cdn/x`, "x-repo-commit": COMMIT, "x-linked-etag": `"${CFG_ETAG}"` },
        })
        : undefined;
    await assertRejects(
      () => hfHubDownload(REPO, "cfg.json", { ...opts, token: "secret" }),
      HubError,
      "no X-Repo-Commit, ETag or size",
    );
  }, "secret");
});

Deno.test("hfHubDownload() says in one line that the cache cannot be used", async () => {
  await withCache(async ({ opts, cacheDir }) => {
    await Deno.writeTextFile(cacheDir, "a file where the cache should be");
    const error = await assertRejects(
      () => hfHubDownload(REPO, "cfg.json", opts),
      HubError,
      `Cannot get org/sae/cfg.json: the cache ${cacheDir} failed (Not a directory`,
    );
    assertEquals(error.message.includes("\n"), false);
    await Deno.remove(cacheDir);
  });
});

Deno.test("hfHubDownload() follows a renamed repo's redirect, but not one to another file", async () => {
  await withCache(async ({ server, opts }) => {
    const target = { value: "/org/sae/resolve/main/cfg.json" };
    server.hook = (_req, url) =>
      url.pathname.startsWith("/org/old/")
        ? new Response(null, { status: 307, headers: { location: target.value } })
        : undefined;
    assertEquals(await Deno.readFile(await hfHubDownload("org/old", "cfg.json", opts)), CFG);
    target.value = "/org/sae/resolve/main/weights.safetensors";
    await assertRejects(
      () => hfHubDownload("org/old", "cfg.json", { ...opts, cacheDir: `${opts.cacheDir}/other` }),
      HubError,
      'redirects to "/org/sae/resolve/main/weights.safetensors", not to /resolve/main/cfg.json of a renamed repo',
    );
  });
});

Deno.test("hfHubDownload() leaves refs/ alone when it has not changed", async () => {
  await withCache(async ({ opts, repoDir }) => {
    await hfHubDownload(REPO, "cfg.json", opts);
    const past = new Date(2000, 0, 1);
    await Deno.utime(`${repoDir}/refs/main`, past, past);
    await hfHubDownload(REPO, "weights.safetensors", opts);
    await hfHubDownload(REPO, "cfg.json", opts);
    assertEquals((await Deno.stat(`${repoDir}/refs/main`)).mtime?.getTime(), past.getTime());
  });
});

Deno.test("hfHubDownload() waits for a live lock, breaks a stale one, and two runs fetch a blob once", async () => {
  await withCache(async ({ server, opts, cacheDir }) => {
    const tag = await sha("SHA-256", WEIGHTS);
    const lock = `${cacheDir}/.locks/models--org--sae/${tag}.lock`;
    await Deno.mkdir(`${cacheDir}/.locks/models--org--sae`, { recursive: true });
    await Deno.writeTextFile(lock, "");
    let done = false;
    const download = hfHubDownload(REPO, "weights.safetensors", opts).then((p) => (done = true, p));
    await new Promise((resolve) => setTimeout(resolve, 400));
    assertEquals(done, false);
    await Deno.remove(lock);
    assertEquals(await Deno.readFile(await download), WEIGHTS);
    // a lock nobody touched for a minute is a crashed run's
    await Deno.remove(`${cacheDir}/models--org--sae`, { recursive: true });
    await Deno.writeTextFile(lock, "");
    const past = new Date(Date.now() - 60_000);
    await Deno.utime(lock, past, past);
    assertEquals(await Deno.readFile(await hfHubDownload(REPO, "weights.safetensors", opts)), WEIGHTS);
    await Deno.remove(`${cacheDir}/models--org--sae`, { recursive: true });
    const cdnGets = server.requests.filter((r) => r.startsWith("GET /cdn/")).length;
    const [a, b] = await Promise.all([1, 2].map(() => hfHubDownload(REPO, "weights.safetensors", opts)));
    assertEquals(a, b);
    assertEquals(server.requests.filter((r) => r.startsWith("GET /cdn/")).length, cdnGets + 1);
    assertEquals(await walk(`${cacheDir}/.locks/models--org--sae`), []);
  });
});

Deno.test("hfListFiles() gives up on a stalled tree API and falls back to the cache", async () => {
  await withCache(async ({ server, opts }) => {
    assertEquals(await hfListFiles(REPO, opts), ["cfg.json", "weights.safetensors"]);
    await hfHubDownload(REPO, "cfg.json", opts);
    server.hook = async (_req, url) => {
      if (!url.pathname.startsWith("/api/")) return undefined;
      await server.stall();
      return new Response("[]");
    };
    assertEquals(await hfListFiles(REPO, opts), ["cfg.json"]);
    await assertRejects(
      () => hfListFiles("org/other", opts),
      HubError,
      "Cannot list org/other on http://127.0.0.1:",
    );
    server.hook = (_req, url) =>
      url.pathname.startsWith("/api/") ? new Response('[{"type":"file","path":"../x"}]') : undefined;
    await assertRejects(() => hfListFiles("org/other", opts), HubError, 'lists "../x", not a relative path');
  });
});

Deno.test("pullPretrained() ignores only a missing sparsity.safetensors", async () => {
  const folder = "blocks.2.hook_resid_pre";
  const repo = "jbloom/GPT2-Small-SAEs-Reformatted";
  const server = await startHubServer({
    [repo]: { commit: COMMIT, files: { [`${folder}/cfg.json`]: CFG, [`${folder}/sae_weights.safetensors`]: WEIGHTS } },
  });
  const cacheDir = await Deno.makeTempDir();
  try {
    const hub = { endpoint: server.endpoint, cacheDir, etagTimeout: 0.3, downloadTimeout: 0.3 };
    const pulled = await pullPretrained("gpt2-small-res-jb", folder, hub);
    assertEquals(pulled.folder, `${repoCacheDir(repo, cacheDir)}/snapshots/${COMMIT}/${folder}`);
    for (const status of [401, 500]) {
      server.hook = (req) => req.url.endsWith("sparsity.safetensors") ? new Response(null, { status }) : undefined;
      await assertRejects(() => pullPretrained("gpt2-small-res-jb", folder, hub), HubError, `sparsity.safetensors`);
    }
  } finally {
    await server.close();
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("hfHubDownload() gives up on a download that trickles in a byte at a time", async () => {
  await withCache(async ({ server, opts }) => {
    server.hook = (req) => {
      if (!isGet(req, "cfg.json")) return undefined;
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          await new Promise((r) => setTimeout(r, 100));
          if (sent < CFG.length) controller.enqueue(CFG.slice(sent, ++sent));
          else controller.close();
        },
      });
      return new Response(body, { headers: { "content-length": String(CFG.length) } });
    };
    // 0.3 s per read: the body must bring 16 KiB in 6 × 0.3 s
    await assertRejects(() => hfHubDownload(REPO, "cfg.json", opts), HubError, "the download slowed to");
  });
});

Deno.test("hubSettings() refuses a token no header may hold, naming its source and never the token", () => {
  const saved = Deno.env.get("HF_TOKEN");
  Deno.env.set("HF_TOKEN", "hf_secret123\nX-Injected: yes");
  try {
    let message = "";
    try {
      hubSettings({});
    } catch (e) {
      message = (e as Error).message;
    }
    assertEquals(message.includes("The Hub token from HF_TOKEN holds a space, a control character"), true, message);
    assertEquals(message.includes("secret") || message.includes("Injected"), false, message);
  } finally {
    if (saved === undefined) Deno.env.delete("HF_TOKEN");
    else Deno.env.set("HF_TOKEN", saved);
  }
});

Deno.test("hubSettings() and the cache read the token file and refs/ as small regular files only", async () => {
  const dir = await Deno.makeTempDir();
  const saved = { path: Deno.env.get("HF_TOKEN_PATH"), token: Deno.env.get("HF_TOKEN") };
  Deno.env.delete("HF_TOKEN");
  try {
    const { success } = await new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).output();
    assertEquals(success, true);
    for (const path of [`${dir}/fifo`, "/dev/zero"]) {
      Deno.env.set("HF_TOKEN_PATH", path);
      let message = "";
      try {
        hubSettings({});
      } catch (e) {
        message = (e as Error).message;
      }
      assertEquals(
        message,
        `The Hub token file ${path} is not a regular file: expected a file holding one token (at most 65536 bytes)`,
      );
    }
  } finally {
    if (saved.path === undefined) Deno.env.delete("HF_TOKEN_PATH");
    else Deno.env.set("HF_TOKEN_PATH", saved.path);
    if (saved.token !== undefined) Deno.env.set("HF_TOKEN", saved.token);
  }
  await withCache(async ({ opts, repoDir }) => {
    await Deno.mkdir(`${repoDir}/refs`, { recursive: true });
    await new Deno.Command("mkfifo", { args: [`${repoDir}/refs/main`] }).output();
    await assertRejects(() => hfHubDownload(REPO, "cfg.json", { ...opts, offline: true }), HubError, "is a FIFO");
  });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("hfHubDownload() writes nothing outside the cache when one of its folders links elsewhere", async () => {
  await withCache(async ({ opts, repoDir }) => {
    await Deno.mkdir(repoDir, { recursive: true });
    const outside = await Deno.makeTempDir();
    try {
      await Deno.symlink(outside, `${repoDir}/blobs`);
      await assertRejects(() => hfHubDownload(REPO, "weights.safetensors", opts), HubError, "outside the cache");
      assertEquals([...Deno.readDirSync(outside)], []);
    } finally {
      await Deno.remove(`${repoDir}/blobs`);
      await Deno.remove(outside, { recursive: true });
    }
  });
});

Deno.test("hfHubDownload() says a Hub that floods its headers or sends control characters answered unreadably, not that it is unreachable", async () => {
  const root = await Deno.makeTempDir();
  const flood = Deno.serve(
    { port: 0, onListen() {} },
    () => new Response("", { headers: { "x-flood": "x".repeat(8 * 2 ** 20) } }),
  );
  try {
    await assertRejects(
      () =>
        hfHubDownload(REPO, "cfg.json", {
          endpoint: `http://127.0.0.1:${flood.addr.port}`,
          cacheDir: `${root}/cache`,
          etagTimeout: 2,
        }),
      HubError,
      "the Hub sent an answer no HTTP client can read (",
    );
  } finally {
    await flood.shutdown();
    await Deno.remove(root, { recursive: true });
  }
});
