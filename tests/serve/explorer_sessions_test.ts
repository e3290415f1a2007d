// Switching the served SAE from the page: only to the SAEs given at start, each loaded when picked and released when
// the server switches away from it or stops.
import { encodeText } from "../../core/analysis/encode_text.ts";
import { loadSaeAndModel } from "../../core/analysis/load_sae_and_model.ts";
import type { ExplorerSession } from "../../core/serve/explorer_api.ts";
import { assertEquals, assertThrows } from "../_assert.ts";
import { FIXTURES } from "../_fixtures.ts";
import { embeddedSession, ORT, startExplorer } from "./_explorer.ts";

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

Deno.test("ExplorerSessions() refuses choices that leave out the SAE served first", ORT, async () => {
  const initial = await embeddedSession();
  try {
    assertThrows(
      () => startExplorer(initial, { saes: { labels: [TOPK], load: () => Promise.reject(new Error("unused")) } }),
      RangeError,
      `The SAE choices must include the one served first, embedded: got ${TOPK}`,
    );
  } finally {
    initial.sae.destroy();
    await initial.model.dispose();
  }
});
