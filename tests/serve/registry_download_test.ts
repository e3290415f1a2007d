// Picking a registry SAE from the page, with raw HTTP requests against a local server that answers as the Hugging
// Face Hub does (HF_ENDPOINT): the id checked against the registry and never looked up as a path, the download (the
// SAE, then the model its release names) and its progress polled while the model queue stays free, one download at a
// time, and a failed one answered as JSON with the server going on.
import { encodeText } from "../../core/analysis/encode_text.ts";
import { loadSaeAndModel } from "../../core/analysis/load_sae_and_model.ts";
import type { ExplorerSession } from "../../core/serve/explorer_api.ts";
import type { SessionPick } from "../../core/serve/explorer_sessions.ts";
import { registryId } from "../../core/serve/registry_download.ts";
import { assertEquals } from "../_assert.ts";
import { embeddedModel } from "../../core/embedded.ts";
import { FIXTURES } from "../_fixtures.ts";
import { withHubEnv } from "../hub/_hub_env.ts";
import { type HubRepo, sha } from "../hub/_hub_server.ts";
import { embeddedSession, ORT, rawRequest, startExplorer } from "./_explorer.ts";

const REPO = "jbloom/GPT2-Small-SAEs-Reformatted"; // gpt2-small-res-jb's
const STANDARD = "gpt2-small-res-jb/blocks.2.hook_resid_pre";
const TOPK = "gpt2-small-res-jb/blocks.1.hook_resid_pre";
const json = { "content-type": "application/json" };

/** The release's repo with the fixture SAEs (on the embedded model) in two of its folders. */
async function repo(): Promise<HubRepo> {
  const read = (sae: string, file: string) => Deno.readFile(`${FIXTURES}${sae}/${file}`);
  return {
    commit: "0123456789abcdef0123456789abcdef01234567",
    files: {
      "blocks.2.hook_resid_pre/cfg.json": await read("sae-standard", "cfg.json"),
      "blocks.2.hook_resid_pre/sae_weights.safetensors": await read("sae-standard", "sae_weights.safetensors"),
      "blocks.2.hook_resid_pre/sparsity.safetensors": await read("sae-standard", "sparsity.safetensors"),
      "blocks.1.hook_resid_pre/cfg.json": await read("sae-topk", "cfg.json"),
      "blocks.1.hook_resid_pre/sae_weights.safetensors": await read("sae-topk", "sae_weights.safetensors"),
    },
  };
}

const MODEL_REPO = "openai-community/gpt2"; // the release's model, gpt2-small
const MODEL_FILES = ["config.json", "model.safetensors", "vocab.json", "merges.txt"];

/** The release's repo, and the embedded model's files as its model's. */
async function repos(): Promise<Record<string, HubRepo>> {
  const files: Record<string, Uint8Array<ArrayBuffer>> = {};
  for (const f of MODEL_FILES) files[f] = await Deno.readFile(`${embeddedModel()}/${f}`);
  return { [REPO]: await repo(), [MODEL_REPO]: { commit: "89abcdef0123456789abcdef0123456789abcdef", files } };
}

/** The explorer on the embedded SAE with the registry open, its loads recorded. */
async function withRegistryExplorer(
  fn: (server: ReturnType<typeof startExplorer>, loads: [string, SessionPick][]) => Promise<void>,
): Promise<void> {
  const initial = await embeddedSession();
  const loads: [string, SessionPick][] = [];
  const load = async (label: string, pick: SessionPick): Promise<ExplorerSession> => {
    loads.push([label, pick]);
    const { sae, model } = await loadSaeAndModel(pick.pulled);
    return { ...initial, sae, model, saeLabel: label };
  };
  const server = startExplorer(initial, { saes: { labels: ["embedded"], registry: true, load } });
  try {
    await fn(server, loads);
  } finally {
    await server.stop();
    initial.sae.destroy();
    await initial.model.dispose();
  }
}

function post(port: number, path: string, body: unknown, headers: Record<string, string> = {}) {
  return rawRequest(port, { method: "POST", path, headers: { ...json, ...headers }, body: JSON.stringify(body) });
}

Deno.test("registryId() takes only RELEASE/SAE_ID of the registry's own entries", () => {
  assertEquals(registryId(STANDARD), { release: "gpt2-small-res-jb", saeId: "blocks.2.hook_resid_pre" });
  for (
    const label of [
      "gpt2-small-res-jb",
      "gpt2-small-res-jb/blocks.99.hook_resid_pre",
      "gpt2-small-res-jb/../../etc/passwd",
      "/gpt2-small-res-jb/blocks.2.hook_resid_pre",
      "constructor/name",
      "__proto__/x",
      "toString/x",
      `${FIXTURES}sae-standard`,
    ]
  ) {
    assertEquals(registryId(label), undefined, label);
  }
});

Deno.test(
  "the page picks a registry SAE: downloaded from the Hub with its progress, never read from a path its id names",
  ORT,
  async () => {
    await withHubEnv(await repos(), async (hub, home) => {
      // a folder here with the registry id's name and a broken cfg.json: were the id looked up as a path, it loads
      const cwd = Deno.cwd();
      const decoy = await Deno.makeTempDir();
      await Deno.mkdir(`${decoy}/${STANDARD}`, { recursive: true });
      await Deno.writeTextFile(`${decoy}/${STANDARD}/cfg.json`, "{not json");
      Deno.chdir(decoy);
      try {
        await withRegistryExplorer(async (server, loads) => {
          const { port } = server;
          const search = await rawRequest(port, { path: "/api/registry?q=res-jb%20BLOCKS.2" });
          const found = JSON.parse(search.body);
          assertEquals([search.status, found.enabled], [200, true]);
          assertEquals(found.matches.some((m: { id: string }) => m.id === STANDARD), true);
          assertEquals(found.matches.every((m: { id: string }) => m.id.toLowerCase().includes("blocks.2")), true);
          assertEquals(JSON.parse((await rawRequest(port, { path: "/api/sae-download" })).body).state, "none");
          const long = await rawRequest(port, { path: `/api/registry?q=${"a%20".repeat(201)}` });
          assertEquals([long.status, JSON.parse(long.body).error], [
            413,
            'Query "q" holds 402 characters: at most 200 are searched',
          ]);

          // paths and names outside the registry are refused before the Hub is asked
          for (const sae of [`${FIXTURES}sae-standard`, "/etc/passwd", "constructor/name", "gpt2-small-res-jb/x"]) {
            const res = await post(port, "/api/sae", { sae });
            assertEquals(res.status, 400, sae);
            assertEquals(
              JSON.parse(res.body).error,
              `Field "sae" must be one of the SAEs sae serve was started with (embedded) or a registry SAE, RELEASE/SAE_ID (GET /api/registry?q=WORDS finds them): got ${
                JSON.stringify(sae)
              }`,
            );
          }
          // another site's page, or a rebound name, may not start a download
          assertEquals(
            (await post(port, "/api/sae", { sae: STANDARD }, { origin: "http://evil.example" })).status,
            403,
          );
          assertEquals((await post(port, "/api/sae", { sae: STANDARD }, { host: `evil.example:${port}` })).status, 403);
          assertEquals(
            (await rawRequest(port, { path: "/api/sae-download", headers: { host: "evil.example" } })).status,
            403,
          );
          assertEquals([hub.requests, loads], [[], []]);

          const switched = await post(port, "/api/sae", { sae: STANDARD });
          assertEquals(switched.status, 200, switched.body);
          const info = JSON.parse(switched.body);
          assertEquals([info.sae, info.architecture, info.neuronpedia_id], [
            STANDARD,
            "standard",
            "gpt2-small/2-res-jb",
          ]);
          // from the Hub into its cache, not from the decoy folder
          assertEquals(hub.requests.includes(`GET /${REPO}/resolve/main/blocks.2.hook_resid_pre/cfg.json`), true);
          assertEquals(loads.length, 1);
          assertEquals(
            loads[0][1].pulled!.folder.startsWith(`${home}/hub/models--jbloom--GPT2-Small-SAEs-Reformatted/`),
            true,
          );
          // the SAE's files, then those of the model its release names (gpt2-small), all in the cache
          const progress = JSON.parse((await rawRequest(port, { path: "/api/sae-download" })).body);
          const all = await repos();
          const files = [
            ...["cfg.json", "sae_weights.safetensors", "sparsity.safetensors"].map((
              f,
            ) => [REPO, `blocks.2.hook_resid_pre/${f}`]),
            ...MODEL_FILES.map((f) => [MODEL_REPO, f]),
          ].map(([repo, file]) => ({
            repo,
            file,
            size: all[repo].files[file].length,
            received: all[repo].files[file].length,
          }));
          const total = files.reduce((n, f) => n + f.size, 0);
          assertEquals(progress, {
            state: "done",
            sae: STANDARD,
            files,
            bytes_total: total,
            bytes_received: total,
            error: null,
          });
          assertEquals(hub.requests.includes(`GET /${MODEL_REPO}/resolve/main/config.json`), true);
          const saes = JSON.parse((await rawRequest(port, { path: "/api/saes" })).body);
          assertEquals(saes, { current: STANDARD, choices: ["embedded", STANDARD] });
          // it encodes as the fixture SAE it is
          const enc = JSON.parse((await post(port, "/api/encode", { text: "The nation is strong" })).body);
          const direct = await loadSaeAndModel(`${FIXTURES}sae-standard`);
          try {
            assertEquals(enc.l0, (await encodeText(direct.model, direct.sae, "The nation is strong")).l0);
          } finally {
            direct.sae.destroy();
            await direct.model.dispose();
          }
          // back and forth: picked again, it loads from the cache without a second download
          assertEquals((await post(port, "/api/sae", { sae: "embedded" })).status, 200);
          const before = hub.requests.length;
          assertEquals((await post(port, "/api/sae", { sae: STANDARD })).status, 200);
          assertEquals([hub.requests.length, loads.length], [before, 2]);
        });
      } finally {
        Deno.chdir(cwd);
        await Deno.remove(decoy, { recursive: true });
      }
    });
  },
);

Deno.test(
  "a registry download runs one at a time outside the model queue; a failed one is a JSON error and the server goes on",
  ORT,
  async () => {
    const files = (await repo()).files;
    const weights = files["blocks.1.hook_resid_pre/sae_weights.safetensors"];
    const blob = await sha("SHA-256", weights);
    await withHubEnv(await repos(), async (hub) => {
      // the top-k SAE's weights send 100 kB, then wait for the test, then break off
      let open = () => {};
      const gate = new Promise<void>((r) => open = r);
      const head = 100_000;
      hub.hook = (req, url) => {
        if (url.pathname !== `/cdn/${blob}` || req.method !== "GET") return undefined;
        const body = new ReadableStream<Uint8Array>({
          start: (c) => c.enqueue(weights.slice(0, head)),
          pull: async (c) => {
            await gate;
            c.error(new Error("connection reset"));
          },
        });
        return new Response(body, { headers: { "content-length": String(weights.length) } });
      };
      await withRegistryExplorer(async (server, loads) => {
        const { port } = server;
        const failing = post(port, "/api/sae", { sae: TOPK });
        const progress = async () => JSON.parse((await rawRequest(port, { path: "/api/sae-download" })).body);
        const cfg = files["blocks.1.hook_resid_pre/cfg.json"].length;
        for (let i = 0; i < 1000 && (await progress()).bytes_received < cfg + head; i++) {
          await new Promise((r) => setTimeout(r, 10));
        }
        const running = await progress();
        assertEquals([running.state, running.sae, running.bytes_total], ["running", TOPK, cfg + weights.length]);
        // the model queue is free meanwhile
        assertEquals((await post(port, "/api/encode", { text: "The nation" })).status, 200);
        // a second download is refused, not queued
        const second = await post(port, "/api/sae", { sae: STANDARD });
        assertEquals(second.status, 409);
        assertEquals(
          JSON.parse(second.body).error,
          `Another download is running (${TOPK}, ${cfg + head} of ${cfg + weights.length} bytes): wait until it ends`,
        );
        open();
        const failed = await failing;
        assertEquals(failed.status, 502);
        assertEquals(JSON.parse(failed.body).error.startsWith(`Cannot download ${TOPK}: `), true, failed.body);
        const after = await progress();
        assertEquals([after.state, after.error !== null], ["failed", true]);
        assertEquals(loads, []);
        // still serving the SAE it had, and the next download goes ahead
        const saes = JSON.parse((await rawRequest(port, { path: "/api/saes" })).body);
        assertEquals(saes, { current: "embedded", choices: ["embedded"] });
        assertEquals((await post(port, "/api/encode", { text: "The nation" })).status, 200);
        const next = await post(port, "/api/sae", { sae: STANDARD });
        assertEquals([next.status, JSON.parse(next.body).sae], [200, STANDARD]);
      });
    });
  },
);
