import { assertEquals, assertRejects } from "../_assert.ts";
import { hfHubDownload } from "../../core/hub/hf_hub.ts";
import { HubError } from "../../core/hub/hub_error.ts";
import { repoCacheDir } from "../../core/hub/repo_cache.ts";
import { modelRepoId, resolveModelDir } from "../../core/lm/model_source.ts";
import { HookedTransformer } from "../../core/lm/hooked_transformer.ts";
import { MODEL_DIR } from "../lm/_models.ts";
import { startHubServer } from "./_hub_server.ts";
import { familyModelDir, rewriteModel } from "../lm/_family_models.ts";

const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const REPO = "openai-community/gpt2";
const files: Record<string, Uint8Array<ArrayBuffer>> = {};
for (const name of ["config.json", "model.safetensors", "vocab.json", "merges.txt"]) {
  files[name] = await Deno.readFile(`${MODEL_DIR}/${name}`);
}
const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test("hfHubDownload() writes the Hub cache layout, follows the LFS redirect and reuses the cache", async () => {
  const server = await startHubServer({ [REPO]: { commit: COMMIT, files } });
  const cacheDir = await Deno.makeTempDir();
  try {
    const path = await hfHubDownload(REPO, "model.safetensors", { endpoint: server.endpoint, cacheDir });
    const repoDir = repoCacheDir(REPO, cacheDir);
    assertEquals(path, `${repoDir}/snapshots/${COMMIT}/model.safetensors`);
    assertEquals((await Deno.lstat(path)).isSymlink, true);
    assertEquals(await Deno.readTextFile(`${repoDir}/refs/main`), COMMIT);
    assertEquals(await Deno.readFile(path), files["model.safetensors"]);
    assertEquals(server.requests.filter((r) => r.startsWith("GET /cdn/")).length, 1);
    // a second call only asks the Hub for the commit; offline mode needs no server at all
    const gets = server.requests.filter((r) => r.startsWith("GET")).length;
    await hfHubDownload(REPO, "model.safetensors", { endpoint: server.endpoint, cacheDir });
    assertEquals(server.requests.filter((r) => r.startsWith("GET")).length, gets);
    await server.close();
    assertEquals(await hfHubDownload(REPO, "model.safetensors", { cacheDir, offline: true }), path);
    // unreachable Hub, cached file: the cache answers
    assertEquals(await hfHubDownload(REPO, "model.safetensors", { endpoint: server.endpoint, cacheDir }), path);
    await assertRejects(
      () => hfHubDownload(REPO, "config.json", { cacheDir, offline: true }),
      HubError,
      "is not in the cache",
    );
  } finally {
    await server.close().catch(() => {});
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("hfHubDownload() resumes a download that broke off", async () => {
  const server = await startHubServer({ [REPO]: { commit: COMMIT, files } });
  const cacheDir = await Deno.makeTempDir();
  try {
    server.breakAfter = 1_000_000;
    await assertRejects(
      () => hfHubDownload(REPO, "model.safetensors", { endpoint: server.endpoint, cacheDir }),
      HubError,
      "broke off",
    );
    const path = await hfHubDownload(REPO, "model.safetensors", { endpoint: server.endpoint, cacheDir });
    assertEquals(await Deno.readFile(path), files["model.safetensors"]);
    assertEquals(server.requests.filter((r) => r.startsWith("GET /cdn/")).length, 2);
  } finally {
    await server.close();
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("hfHubDownload() reuses a blob a Python user's cache already holds", async () => {
  const server = await startHubServer({ [REPO]: { commit: COMMIT, files } });
  const cacheDir = await Deno.makeTempDir();
  try {
    const first = await hfHubDownload(REPO, "model.safetensors", { endpoint: server.endpoint, cacheDir });
    await Deno.remove(first); // the snapshot link gone, the blob kept (e.g. another revision's snapshot)
    await hfHubDownload(REPO, "model.safetensors", { endpoint: server.endpoint, cacheDir });
    assertEquals(server.requests.filter((r) => r.startsWith("GET /cdn/")).length, 1);
  } finally {
    await server.close();
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("hfHubDownload() sends HF_TOKEN and explains 401 and 404", async () => {
  const server = await startHubServer({ [REPO]: { commit: COMMIT, files } }, "secret");
  const cacheDir = await Deno.makeTempDir();
  try {
    await assertRejects(
      () => hfHubDownload(REPO, "config.json", { endpoint: server.endpoint, cacheDir }),
      HubError,
      "set HF_TOKEN",
    );
    const path = await hfHubDownload(REPO, "config.json", { endpoint: server.endpoint, cacheDir, token: "secret" });
    assertEquals(await Deno.readFile(path), files["config.json"]);
    await assertRejects(
      () => hfHubDownload(REPO, "missing.json", { endpoint: server.endpoint, cacheDir, token: "secret" }),
      HubError,
      "404: no such repo, revision or file",
    );
  } finally {
    await server.close();
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test({
  name: "HookedTransformer.load() takes a TransformerLens alias, downloads through HF_ENDPOINT and HF_HOME",
  ...opts,
  async fn() {
    const server = await startHubServer({ [REPO]: { commit: COMMIT, files } });
    const home = await Deno.makeTempDir();
    const saved = { endpoint: Deno.env.get("HF_ENDPOINT"), home: Deno.env.get("HF_HOME") };
    Deno.env.set("HF_ENDPOINT", server.endpoint);
    Deno.env.set("HF_HOME", home);
    try {
      assertEquals(modelRepoId("gpt2-small"), REPO);
      const model = await HookedTransformer.load("gpt2-small");
      assertEquals(model.cfg.nLayers, 4);
      assertEquals(model.toTokens("Paris", { prependBos: false }), [40313]);
      await model.dispose();
      const dir = await resolveModelDir("gpt2");
      assertEquals(dir, `${home}/hub/models--openai-community--gpt2/snapshots/${COMMIT}`);
      // tokenizer.json is tried first and, missing here, replaced by vocab.json + merges.txt
      assertEquals(server.requests.includes("HEAD /openai-community/gpt2/resolve/main/tokenizer.json"), true);
    } finally {
      for (const [k, v] of [["HF_ENDPOINT", saved.endpoint], ["HF_HOME", saved.home]] as const) {
        if (v === undefined) Deno.env.delete(k);
        else Deno.env.set(k, v);
      }
      await server.close();
      await Deno.remove(home, { recursive: true });
    }
  },
});

Deno.test({
  name: "HookedTransformer.load() downloads a gated, sharded checkpoint with the token, and a family by its short name",
  ...opts,
  async fn() {
    const sharded = await rewriteModel(familyModelDir("llama"), { dtype: "BF16", shards: 2 });
    const repoFiles = async (dir: string) => {
      const out: Record<string, Uint8Array<ArrayBuffer>> = {};
      for await (const e of Deno.readDir(dir)) out[e.name] = await Deno.readFile(`${dir}/${e.name}`);
      return out;
    };
    const server = await startHubServer({
      "meta-llama/Llama-3.1-8B": { commit: COMMIT, files: await repoFiles(sharded) },
      "google/gemma-2-2b": { commit: COMMIT, files: await repoFiles(familyModelDir("gemma2")) },
    }, "hf_gated");
    const cacheDir = await Deno.makeTempDir();
    try {
      await assertRejects(
        () => HookedTransformer.load("meta-llama/Llama-3.1-8B", { hub: { endpoint: server.endpoint, cacheDir } }),
        HubError,
        "meta-llama/Llama-3.1-8B",
      );
      const hub = { endpoint: server.endpoint, cacheDir, token: "hf_gated" };
      const llama = await HookedTransformer.load("meta-llama/Llama-3.1-8B", { hub, dtype: "stored" });
      assertEquals([llama.cfg.family, llama.weights.embed.dtype], ["llama", "bfloat16"]);
      const shards = new Set(server.requests.map((r) => /resolve\/main\/(model-0000[12]-of-00002)/.exec(r)?.[1]));
      shards.delete(undefined);
      assertEquals(shards.size, 2);
      const gemma = await HookedTransformer.load("gemma-2-2b", { hub });
      assertEquals([gemma.cfg.family, gemma.toTokens("Hi")[0]], ["gemma2", 2]);
      await Promise.all([llama.dispose(), gemma.dispose()]);
    } finally {
      await server.close();
      await Deno.remove(cacheDir, { recursive: true });
      await Deno.remove(sharded, { recursive: true });
    }
  },
});
