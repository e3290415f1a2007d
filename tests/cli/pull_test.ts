import { join } from "node:path";
import { repoCacheDir } from "../../core/hub/repo_cache.ts";
import { RELEASES } from "../../core/sae/releases.ts";
import { assertEquals } from "../_assert.ts";
import type { HubServer } from "../hub/_hub_server.ts";
import { withHubEnv } from "../hub/_hub_env.ts";
import { npz } from "../io/_npz_writer.ts";
import { runCli, spawn } from "./_run.ts";

const REPO = "google/gemma-scope-2b-pt-res";
const COMMIT = "89abcdef0123456789abcdef0123456789abcdef";
const SAE = RELEASES["gemma-scope-2b-pt-res"].saes.find((s) => s.id.startsWith("layer_20/width_16k/"))!;
const FILE = `${SAE.path}/params.npz`;
const D_IN = 64, D_SAE = 512;

function params(): Uint8Array<ArrayBuffer> {
  const f = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed) * 0.1);
  return npz({
    W_enc: { shape: [D_IN, D_SAE], data: f(D_IN * D_SAE, 1) },
    W_dec: { shape: [D_SAE, D_IN], data: f(D_IN * D_SAE, 2) },
    b_enc: { shape: [D_SAE], data: f(D_SAE, 3) },
    b_dec: { shape: [D_IN], data: f(D_IN, 4) },
    threshold: { shape: [D_SAE], data: f(D_SAE, 5).map(Math.abs) },
  }) as Uint8Array<ArrayBuffer>;
}

/** Runs `fn` with HF_ENDPOINT and HF_HOME on a Hub serving the Gemma Scope SAE. */
async function withHub(fn: (server: HubServer, home: string, bytes: Uint8Array) => Promise<void>): Promise<void> {
  const bytes = params();
  await withHubEnv({ [REPO]: { commit: COMMIT, files: { [FILE]: bytes } } }, (server, home) => fn(server, home, bytes));
}

async function json(args: string[]) {
  const { code, stdout, stderr } = await runCli(args);
  assertEquals(code, 0, stderr);
  return JSON.parse(stdout);
}

Deno.test("sae pull --dry-run says what would be downloaded, then nothing once it is cached", async () => {
  await withHub(async (server, _home, bytes) => {
    const plan = await json(["pull", "--dry-run", "--json", "gemma-scope-2b-pt-res", SAE.id]);
    assertEquals(plan.repo, REPO);
    assertEquals(plan.loader, "gemma_2");
    assertEquals(plan.files, [{ file: FILE, size: bytes.length, cached: false, partial: 0 }]);
    assertEquals(plan.bytes_to_download, bytes.length);
    assertEquals(server.requests.some((r) => r.startsWith("GET")), false); // only HEADs
    const text = await runCli(["pull", "--dry-run", "gemma-scope-2b-pt-res", SAE.id]);
    assertEquals(
      text.stdout.includes(`${FILE}  ${(bytes.length / 1000).toFixed(1)} kB  to download`),
      true,
      text.stdout,
    );
    const pulled = await json(["pull", "--json", "gemma-scope-2b-pt-res", SAE.id]);
    assertEquals([pulled.architecture, pulled.d_in, pulled.d_sae, pulled.hook_name], [
      "jumprelu",
      D_IN,
      D_SAE,
      "blocks.20.hook_resid_post",
    ]);
    const again = await json(["pull", "--dry-run", "--json", "gemma-scope-2b-pt-res", SAE.id]);
    assertEquals([again.files[0].cached, again.bytes_to_download], [true, 0]);
  });
});

Deno.test("sae pull logs each file's size, progress, rate and ETA when stderr is a log", async () => {
  await withHub(async () => {
    const { code, stderr } = await spawn(["run", "-A", "cli/main.ts", "pull", "gemma-scope-2b-pt-res", SAE.id]);
    assertEquals(code, 0, stderr);
    const lines = stderr.trim().split("\n");
    assertEquals(new RegExp(`^sae pull: downloading ${FILE} \\(\\d+\\.\\d kB\\)$`).test(lines[0]), true, stderr);
    assertEquals(
      lines.some((l) =>
        new RegExp(`^sae pull: ${FILE}: [\\d.]+ kB of [\\d.]+ kB \\(100%\\), [\\d.]+ [kMG]?B/s$`).test(l)
      ),
      true,
      stderr,
    );
  });
});

Deno.test("sae pull resumes a download its killed run left, from the bytes it had", async () => {
  await withHub(async (server, home, bytes) => {
    const head = 100_000;
    // the first run gets `head` bytes and then nothing, until it is killed
    const ranges: (string | null)[] = [];
    server.hook = (req, url, honest) => {
      if (!url.pathname.startsWith("/cdn/")) return honest();
      ranges.push(req.headers.get("range"));
      if (ranges.length > 1) return honest();
      return new Response(server.stalledBody(bytes.slice(0, head)), {
        headers: { "content-length": String(bytes.length) },
      });
    };
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "cli/main.ts", "pull", "gemma-scope-2b-pt-res", SAE.id],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const blobs = join(repoCacheDir(REPO, join(home, "hub")), "blobs");
    const partial = async () => {
      const entries = await Array.fromAsync(Deno.readDir(blobs)).catch(() => []);
      const e = entries.find((e) => e.name.endsWith(".incomplete"));
      return e && { name: e.name, size: (await Deno.stat(join(blobs, e.name)).catch(() => ({ size: -1 }))).size };
    };
    for (let i = 0; i < 600 && (await partial())?.size !== head; i++) await new Promise((r) => setTimeout(r, 50));
    child.kill("SIGKILL");
    const log = new TextDecoder().decode((await child.output()).stderr);
    assertEquals(log.includes(`sae pull: downloading ${FILE}`), true, log);
    const left = await partial();
    assertEquals(left?.size, head, JSON.stringify(left));
    // the kill left its lock and partial file; once they are stale (as after 10 s) the next run takes them over
    const past = new Date(Date.now() - 60_000);
    await Deno.utime(join(blobs, left!.name), past, past);
    for await (const e of Deno.readDir(join(home, "hub", ".locks", `models--${REPO.replace("/", "--")}`))) {
      await Deno.utime(join(home, "hub", ".locks", `models--${REPO.replace("/", "--")}`, e.name), past, past);
    }
    const plan = await json(["pull", "--dry-run", "--json", "gemma-scope-2b-pt-res", SAE.id]);
    assertEquals([plan.files[0].partial, plan.bytes_to_download], [head, bytes.length - head]);
    const resumed = await runCli(["pull", "--json", "gemma-scope-2b-pt-res", SAE.id]);
    assertEquals(resumed.code, 0, resumed.stderr);
    assertEquals(resumed.stderr.split("\n")[0], `sae pull: downloading ${FILE} (267.6 kB, resuming at 100.0 kB)`);
    const pulled = JSON.parse(resumed.stdout);
    assertEquals(pulled.d_sae, D_SAE);
    assertEquals(ranges, [null, `bytes=${head}-`]);
    const got = await Deno.readFile(join(pulled.folder, "params.npz"));
    assertEquals(got.length === bytes.length && got.every((b, i) => b === bytes[i]), true);
    assertEquals((await Array.fromAsync(Deno.readDir(blobs))).filter((e) => e.name.includes("incomplete")), []);
  });
});
