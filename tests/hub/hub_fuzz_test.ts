// Bounded fuzzing of hfHubDownload() against a hostile Hub: each input stacks one to three random misbehaviours
// (odd ETags and commits, wrong sizes, short, long, changed or stalled bodies, error statuses, redirects off-host
// or nowhere, damaged caches) over the honest server, with tiny timeouts. Per input the call must return the
// exact bytes or fail with one clean line; nothing may appear outside the cache; no call may hang; the token must
// not reach the CDN; and an honest retry afterwards must get the right bytes (no poisoned cache).
// SAE_FUZZ_INPUTS sets the number of inputs, SAE_FUZZ_SEED the seed (printed).
import { assertEquals } from "../_assert.ts";
import { hfHubDownload } from "../../core/hub/hf_hub.ts";
import { HubError } from "../../core/hub/hub_error.ts";
import { repoCacheDir } from "../../core/hub/repo_cache.ts";
import { type HubServer, sha, startHubServer, testBytes, walk } from "./_hub_server.ts";

const INPUTS = Number(Deno.env.get("SAE_FUZZ_INPUTS") ?? 150);
const SEED = Number(Deno.env.get("SAE_FUZZ_SEED") ?? Date.now() % 2 ** 31);
/** A call gets this long before it counts as a hang: far beyond the timeouts of at most 0.2 s it is given. */
const HANG_MS = 8_000;

const REPO = "org/sae";
const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const FILES: Record<string, Uint8Array<ArrayBuffer>> = {
  "cfg.json": testBytes(553, 11),
  "blocks.0/cfg.json": testBytes(40, 12),
  "weights.safetensors": testBytes(70_000, 13),
};
const NAMES = Object.keys(FILES);
const LFS_TAG = await sha("SHA-256", FILES["weights.safetensors"]);

/** A request handler stacked over the honest server; `next()` is the answer of the layers below. */
type Layer = (req: Request, url: URL, next: () => Promise<Response>) => Promise<Response>;

function rng(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t ^= t + Math.imul(t ^ (t >>> 7), 61 | t);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const isHead = (req: Request, url: URL) => req.method === "HEAD" && url.pathname.includes("/resolve/");
const isGet = (req: Request) => req.method === "GET";

/** The response with its headers changed (null deletes). */
function withHeaders(response: Response, changes: Record<string, string | null>, body?: BodyInit | null): Response {
  const headers = new Headers(response.headers);
  for (const [k, v] of Object.entries(changes)) v === null ? headers.delete(k) : headers.set(k, v);
  return new Response(body === undefined ? response.body : body, { status: response.status, headers });
}

function chunked(bytes: Uint8Array<ArrayBuffer>, error?: boolean): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(bytes);
      if (error) controller.error(new Error("connection reset"));
      else controller.close();
    },
  });
}

/** The misbehaviours, each drawn with its own random parameters. */
function layers(
  random: () => number,
  pick: <T>(xs: T[]) => T,
  int: (n: number) => number,
  server: HubServer,
): (() => Layer)[] {
  const { stall, stalledBody, cdn } = server;
  const hex = (n: number) => Array.from({ length: n }, () => "0123456789abcdef"[int(16)]).join("");
  const badEtags = [
    '"../../../escape"',
    '"../../../../../../escape"',
    '"/tmp/escape"',
    '"a/b"',
    '".."',
    '""',
    `"${LFS_TAG.toUpperCase()}"`,
    `"${hex(64)}"`,
    `"${hex(40)}"`,
    `W/"${hex(40)}"`,
    '"x'.padEnd(300, "y") + '"',
    `"${LFS_TAG}.incomplete"`,
  ];
  const badCommits = ["../../x", "..", "", "main", hex(40), hex(40).toUpperCase(), "a/b", hex(41), "../" + hex(37)];
  const badSizes = (real: number) => ["0", String(real + 1), String(real - 1), "10737418240", "-1", "abc", "1e3", ""];
  const statuses = [401, 403, 404, 416, 429, 500, 502, 503];
  return [
    () => {
      const status = pick(statuses);
      const code = pick([null, "EntryNotFound", "RevisionNotFound", "RepoNotFound", "GatedRepo"]);
      return async (req, url, next) =>
        isHead(req, url) ? new Response(null, { status, headers: code ? { "x-error-code": code } : {} }) : await next();
    },
    () => {
      const status = pick(statuses);
      return async (req, _url, next) => isGet(req) ? new Response("no", { status }) : await next();
    },
    () => {
      const header = pick(["etag", "x-linked-etag"]);
      const value = pick(badEtags);
      return async (req, url, next) => isHead(req, url) ? withHeaders(await next(), { [header]: value }) : await next();
    },
    () => {
      const value = pick(badCommits);
      return async (req, url, next) =>
        isHead(req, url) ? withHeaders(await next(), { "x-repo-commit": value }) : await next();
    },
    () => {
      const header = pick(["content-length", "x-linked-size"]);
      const choice = int(8);
      return async (req, url, next) => {
        if (!isHead(req, url)) return await next();
        const response = await next();
        const real = Number(response.headers.get(header) ?? 0);
        return withHeaders(response, { [header]: badSizes(real)[choice] || null });
      };
    },
    () => {
      const header = pick(["etag", "x-repo-commit", "x-linked-etag", "x-linked-size", "location"]);
      return async (req, url, next) => isHead(req, url) ? withHeaders(await next(), { [header]: null }) : await next();
    },
    () => {
      const location = pick([
        "ftp://127.0.0.1/x",
        "javascript:alert(1)",
        "http://[bad",
        "/org/sae/resolve/main/cfg.json",
        `${cdn}/cdn/${hex(64)}`,
        "//elsewhere.invalid/x",
      ]);
      return async (req, url, next) => isHead(req, url) ? withHeaders(await next(), { location }, null) : await next();
    },
    // a relative redirect to itself, forever
    () => async (req, url, next) =>
      isHead(req, url) ? new Response(null, { status: 302, headers: { location: url.pathname } }) : await next(),
    () => {
      const keep = random();
      return async (req, _url, next) => {
        if (!isGet(req)) return await next();
        const bytes = await (await next()).bytes();
        return new Response(chunked(bytes.slice(0, Math.floor(bytes.length * keep))));
      };
    },
    () => {
      const extra = 1 + int(1000);
      const length = pick([true, false]);
      return async (req, _url, next) => {
        if (!isGet(req)) return await next();
        const response = await next();
        const bytes = new Uint8Array([...await response.bytes(), ...testBytes(extra, 3)]);
        return withHeaders(response, { "content-length": null }, length ? bytes : chunked(bytes));
      };
    },
    () => {
      const at = random();
      return async (req, _url, next) => {
        if (!isGet(req)) return await next();
        const response = await next();
        const bytes = new Uint8Array(await response.bytes());
        if (bytes.length > 0) bytes[Math.floor(at * bytes.length)] ^= 0x5a;
        return withHeaders(response, { "content-length": null }, bytes);
      };
    },
    () => {
      const at = random();
      return async (req, _url, next) => {
        if (!isGet(req)) return await next();
        const response = await next();
        const bytes = await response.bytes();
        const body = stalledBody(bytes.slice(0, Math.floor(at * bytes.length)));
        return withHeaders(response, { "content-length": null }, body);
      };
    },
    () => {
      const method = pick(["HEAD", "GET"]);
      return async (req, _url, next) => {
        if (req.method !== method) return await next();
        await stall();
        return await next();
      };
    },
    () => {
      const at = random();
      return async (req, _url, next) => {
        if (!isGet(req)) return await next();
        const bytes = await (await next()).bytes();
        return new Response(chunked(bytes.slice(0, Math.floor(at * bytes.length)), true));
      };
    },
    // a regular file sent from another host: it must not get the token
    () => async (req, url, next) => {
      if (!isGet(req) || url.pathname.startsWith("/cdn/")) return await next();
      const response = await next();
      const tag = (response.headers.get("etag") ?? "").replaceAll('"', "");
      return response.status === 200 ? Response.redirect(`${cdn}/cdn/${tag}`, 302) : response;
    },
    // Range ignored, or answered from the wrong offset
    () => {
      const shift = pick([0, 1, -1, 1000]);
      return async (req, url, next) => {
        const range = req.headers.get("range");
        if (!isGet(req) || !range || !url.pathname.startsWith("/cdn/")) return await next();
        const bytes = FILES["weights.safetensors"];
        if (shift === 0) return new Response(bytes);
        const start = Math.max(0, Number(/\d+/.exec(range)?.[0]) + shift);
        return new Response(bytes.slice(start), {
          status: 206,
          headers: { "content-range": `bytes ${start}-${bytes.length - 1}/${bytes.length}` },
        });
      };
    },
  ];
}

interface Tally {
  inputs: number;
  cleanErrors: number;
  successes: number;
  crashes: number;
  hangs: number;
  escapes: number;
  wrongLoads: number;
  tokenLeaks: number;
}

Deno.test({
  name: "hfHubDownload() survives a hostile Hub: right bytes or one clean line, no escape, no hang",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const random = rng(SEED);
    const int = (n: number) => Math.floor(random() * n);
    const pick = <T>(xs: T[]): T => xs[int(xs.length)];
    const server = await startHubServer({ [REPO]: { commit: COMMIT, files: FILES } });
    // the cache sits three folders down, so that ../ in a name has somewhere to escape to inside `top`
    const top = await Deno.makeTempDir();
    const parents = [`${top}/a`, `${top}/a/b`, `${top}/a/b/c`];
    const cacheDir = `${top}/a/b/c/cache`;
    const repoDir = repoCacheDir(REPO, cacheDir);
    const tally: Tally = {
      inputs: 0,
      cleanErrors: 0,
      successes: 0,
      crashes: 0,
      hangs: 0,
      escapes: 0,
      wrongLoads: 0,
      tokenLeaks: 0,
    };
    const failures: string[] = [];
    const bounded = async <T>(work: Promise<T>): Promise<{ value?: T; error?: unknown; hung?: true }> => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const hang = new Promise<{ hung: true }>((resolve) => timer = setTimeout(() => resolve({ hung: true }), HANG_MS));
      try {
        return await Promise.race([work.then((value) => ({ value }), (error) => ({ error })), hang]);
      } finally {
        clearTimeout(timer);
      }
    };
    try {
      const all = layers(random, pick, int, server);
      for (let input = 0; input < INPUTS; input++) {
        tally.inputs++;
        await Deno.remove(cacheDir, { recursive: true }).catch(() => {});
        const file = pick(NAMES);
        const timeout = pick([0.05, 0.1, 0.2]);
        const opts = {
          endpoint: server.endpoint,
          cacheDir,
          etagTimeout: timeout,
          downloadTimeout: timeout,
          token: random() < 0.5 ? "secret" : undefined,
          offline: random() < 0.1,
        };
        const plan: string[] = [`#${input} ${file} timeout=${timeout}${opts.token ? " token" : ""}`];
        if (opts.offline) plan.push("offline");
        // half the inputs start from a cache that already has the file, some of them damaged
        if (random() < 0.5) {
          server.hook = undefined;
          await hfHubDownload(REPO, file, { endpoint: server.endpoint, cacheDir });
          plan.push("cached");
          const damage = int(4);
          if (damage === 1) {
            const ref = pick(["../../../escape", "", "main", "x".repeat(40), `${COMMIT}\n${COMMIT}`]);
            await Deno.writeTextFile(`${repoDir}/refs/main`, ref);
            plan.push(`ref=${JSON.stringify(ref)}`);
          }
        }
        if (random() < 0.2) {
          await Deno.mkdir(`${repoDir}/blobs`, { recursive: true });
          await Deno.writeFile(`${repoDir}/blobs/${LFS_TAG}.incomplete`, testBytes(1 + int(70_000), input));
          plan.push("stale partial");
        }
        const stack = Array.from({ length: 1 + int(3) }, () => int(all.length)).map((i) => {
          plan.push(`layer${i}`);
          return all[i]();
        });
        server.hook = (req, url, honest) =>
          stack.reduceRight<() => Promise<Response>>(
            (next, layer) => () => layer(req, url, next),
            honest,
          )();
        const leaksBefore = server.cdnAuthorized;
        const outcome = await bounded(hfHubDownload(REPO, file, opts));
        const note = (kind: keyof Tally, what: string) => {
          tally[kind]++;
          if (failures.length < 20) failures.push(`${kind}: ${plan.join(" ")}: ${what}`);
        };
        if (outcome.hung) note("hangs", `no answer in ${HANG_MS} ms`);
        else if ("value" in outcome) {
          const path = outcome.value!;
          const bytes = path.startsWith(`${repoDir}/`) ? await Deno.readFile(path).catch(() => undefined) : undefined;
          if (bytes && bytes.length === FILES[file].length && bytes.every((b, i) => b === FILES[file][i])) {
            tally.successes++;
          } else note("wrongLoads", `returned ${path}`);
        } else {
          const error = outcome.error as Error;
          const clean = (error instanceof HubError || error instanceof TypeError) &&
            !/[\r\n]/.test(error.message) && error.message.length < 600 &&
            error.message.includes(REPO) && error.message.includes(file);
          if (clean) tally.cleanErrors++;
          else note("crashes", `${error?.name}: ${error?.message}`);
        }
        if (server.cdnAuthorized !== leaksBefore) note("tokenLeaks", "the CDN got the token");
        const outside = (await walk(top)).filter((p) => !p.startsWith(`${cacheDir}/`) && p !== cacheDir);
        if (outside.some((p) => !parents.includes(p))) note("escapes", outside.join(", "));
        // whatever happened, an honest Hub must now be believed: nothing wrong was kept
        server.hook = undefined;
        const retry = await bounded(hfHubDownload(REPO, file, { endpoint: server.endpoint, cacheDir }));
        const again = retry.value ? await Deno.readFile(retry.value) : undefined;
        if (!again || !again.every((b, i) => b === FILES[file][i]) || again.length !== FILES[file].length) {
          note("wrongLoads", `honest retry: ${retry.value ?? (retry.error as Error)?.message ?? "hung"}`);
        }
      }
    } finally {
      await server.close();
      await Deno.remove(top, { recursive: true });
    }
    console.log(
      `hub fuzz (seed ${SEED}): ${tally.inputs} inputs, ${tally.cleanErrors} clean errors, ${tally.successes} successes, ` +
        `${tally.crashes} crashes, ${tally.hangs} hangs, ${tally.escapes} escapes, ${tally.wrongLoads} wrong loads, ` +
        `${tally.tokenLeaks} token leaks`,
    );
    for (const failure of failures) console.log(failure);
    assertEquals(
      [tally.crashes, tally.hangs, tally.escapes, tally.wrongLoads, tally.tokenLeaks],
      [0, 0, 0, 0, 0],
      "crashes, hangs, escapes, wrong loads, token leaks",
    );
  },
});
