// Switching the served SAE or model from the page: only to the SAEs and models given at start, each pair loaded when
// picked and released when the server switches away from it or stops.
import { encodeText } from "../../core/analysis/encode_text.ts";
import { loadSaeAndModel } from "../../core/analysis/load_sae_and_model.ts";
import type { ExplorerSession } from "../../core/serve/explorer_api.ts";
import type { SessionPick } from "../../core/serve/explorer_sessions.ts";
import { assertEquals, assertThrows } from "../_assert.ts";
import { FIXTURES } from "../_fixtures.ts";
import { embeddedSession, ORT, startExplorer, withExplorer } from "./_explorer.ts";

const TOPK = `${FIXTURES}sae-topk`;
const json = { "content-type": "application/json" };

Deno.test("ExplorerSessions: the page switches between the SAEs given at start, and only those", ORT, async () => {
  const initial = await embeddedSession();
  const loads: string[] = [], released: string[] = [];
  const load = async (label: string): Promise<ExplorerSession> => {
    loads.push(label);
    const { sae, model } = await loadSaeAndModel(label);
    const dispose = model.dispose.bind(model);
    model.dispose = () => {
      released.push(label);
      return dispose();
    };
    return { ...initial, sae, model, saeLabel: label };
  };
  const server = startExplorer(initial, { saes: { labels: ["embedded", TOPK], load } });
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${server.base}${path}`, { method: "POST", headers: json, body: JSON.stringify(body) });
    return { status: res.status, data: await res.json() };
  };
  try {
    assertEquals(await (await fetch(`${server.base}/api/saes`)).json(), {
      current: "embedded",
      choices: ["embedded", TOPK],
    });
    // a path or a registry id not given at start is refused before anything loads
    for (const sae of ["/etc/passwd", `${FIXTURES}sae-standard`, "gpt2-small-res-jb/blocks.8.hook_resid_pre", 3]) {
      const { status, data } = await post("/api/sae", { sae });
      assertEquals(status, 400, String(sae));
      assertEquals(
        data.error,
        `Field "sae" must be one of the SAEs sae serve was started with (embedded, ${TOPK}): got ${
          JSON.stringify(sae)
        }`,
      );
    }
    assertEquals(loads, []);

    const switched = await post("/api/sae", { sae: TOPK });
    assertEquals([switched.status, switched.data.sae, switched.data.architecture], [200, TOPK, "topk"]);
    const enc = await post("/api/encode", { text: "The nation is strong" });
    const current = (await fetch(`${server.base}/api/saes`).then((r) => r.json())).current;
    assertEquals(current, TOPK);
    const { sae, model } = await loadSaeAndModel(TOPK);
    try {
      const direct = await encodeText(model, sae, "The nation is strong", { top: 5 });
      assertEquals(enc.data.l0, direct.l0);
    } finally {
      sae.destroy();
      await model.dispose();
    }
    // back to the first: the loaded one is released, the first (the caller's) kept
    const back = await post("/api/sae", { sae: "embedded" });
    assertEquals([back.data.sae, back.data.architecture], ["embedded", "standard"]);
    assertEquals(released, [TOPK]);
    assertEquals((await post("/api/encode", { text: "The nation" })).status, 200);
    // picked again, loaded again; released when the server stops
    assertEquals((await post("/api/sae", { sae: TOPK })).status, 200);
    assertEquals(loads, [TOPK, TOPK]);
  } finally {
    await server.stop();
    initial.sae.destroy();
    await initial.model.dispose();
  }
  assertEquals(released, [TOPK, TOPK]);
});

Deno.test("ExplorerSessions() refuses choices that leave out the SAE or the model served first", ORT, async () => {
  const initial = await embeddedSession();
  try {
    assertThrows(
      () => startExplorer(initial, { saes: { labels: [TOPK], load: () => Promise.reject(new Error("unused")) } }),
      RangeError,
      `The SAE choices must include the one served first, embedded: got ${TOPK}`,
    );
    assertThrows(
      () =>
        startExplorer(initial, {
          saes: { labels: ["embedded"], models: [TOPK], load: () => Promise.reject(new Error("unused")) },
        }),
      RangeError,
      `The model choices must include the one served first, embedded: got ${TOPK}`,
    );
  } finally {
    initial.sae.destroy();
    await initial.model.dispose();
  }
});

Deno.test(
  "ExplorerSessions: the page switches between the models given at start, refusing one the SAE does not fit",
  ORT,
  async () => {
    const F32 = `${FIXTURES}gpt2-sotu-tiny`, PYTHIA = `${FIXTURES}families/pythia/model`;
    const initial = await embeddedSession();
    const loads: [string, string | undefined][] = [];
    const load = async (label: string, pick: SessionPick): Promise<ExplorerSession> => {
      loads.push([label, pick.model]);
      const source = label === "embedded" ? undefined : label;
      const { sae, model } = await loadSaeAndModel(source, {
        model: pick.model === "embedded" ? undefined : pick.model,
      });
      return { ...initial, sae, model, saeLabel: label, modelLabel: pick.model ?? "embedded" };
    };
    const models = ["embedded", F32, PYTHIA];
    const server = startExplorer(initial, { saes: { labels: ["embedded", TOPK], models, load } });
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${server.base}${path}`, { method: "POST", headers: json, body: JSON.stringify(body) });
      return { status: res.status, data: await res.json() };
    };
    const current = async () => (await (await fetch(`${server.base}/api/models`)).json()).current;
    try {
      assertEquals(await (await fetch(`${server.base}/api/models`)).json(), { current: "embedded", choices: models });
      // only the models given at start
      for (const model of ["/etc/passwd", "gpt2-small", null]) {
        const { status, data } = await post("/api/model", { model });
        assertEquals(status, 400);
        assertEquals(
          data.error,
          `Field "model" must be one of the models sae serve was started with (${models.join(", ")}): got ${
            JSON.stringify(model)
          }`,
        );
      }
      assertEquals(loads, []);
      // the same SAE on the f32 model: it encodes as the pair loaded directly
      const switched = await post("/api/model", { model: F32 });
      assertEquals([switched.status, switched.data.model, switched.data.sae], [200, F32, "embedded"]);
      const enc = await post("/api/encode", { text: "The nation is strong" });
      const direct = await loadSaeAndModel(undefined, { model: F32 });
      try {
        assertEquals(enc.data.l0, (await encodeText(direct.model, direct.sae, "The nation is strong")).l0);
      } finally {
        direct.sae.destroy();
        await direct.model.dispose();
      }
      // a model whose width at the SAE's hook differs is refused; the server keeps the pair it had
      const refused = await post("/api/model", { model: PYTHIA });
      assertEquals(refused.status, 400);
      assertEquals(
        refused.data.error,
        `Cannot serve the SAE embedded with the model ${PYTHIA}: The SAE's d_in is 128 but the model's blocks.2.hook_resid_pre has width 64: the SAE was trained on another model or hook`,
      );
      assertEquals(await current(), F32);
      assertEquals((await post("/api/encode", { text: "The nation" })).status, 200);
      // another SAE keeps the model picked
      const topk = await post("/api/sae", { sae: TOPK });
      assertEquals([topk.data.sae, topk.data.model], [TOPK, F32]);
      assertEquals(loads, [["embedded", F32], ["embedded", PYTHIA], [TOPK, F32]]);
      // back: the first SAE on the f32 model loads again, then the pair served first is the caller's, kept
      await post("/api/sae", { sae: "embedded" });
      const back = await post("/api/model", { model: "embedded" });
      assertEquals([back.data.sae, back.data.model], ["embedded", "embedded"]);
      assertEquals(loads.slice(3), [["embedded", F32]]);
    } finally {
      await server.stop();
      initial.sae.destroy();
      await initial.model.dispose();
    }
  },
);

Deno.test("ExplorerSessions: without models given at start the page has none to pick", ORT, async () => {
  await withExplorer({}, async (server) => {
    assertEquals(await (await fetch(`${server.base}/api/models`)).json(), { current: "embedded", choices: [] });
    const res = await fetch(`${server.base}/api/model`, {
      method: "POST",
      headers: json,
      body: JSON.stringify({ model: "embedded" }),
    });
    assertEquals([res.status, (await res.json()).error], [
      400,
      "There is no model to pick: sae serve was started without --model, so each SAE reads the model it names",
    ]);
  });
});
