// The explorer's security rules, with raw HTTP requests to a server on a free port: Host (DNS rebinding), the
// token under --host, cross-origin writes, body and text bounds, the busy queue, and failures that leave it up.
import { serveExplorer } from "../../core/serve/serve_explorer.ts";
import { assertEquals, assertThrows } from "../_assert.ts";
import { embeddedSession, ORT, rawRequest, startExplorer, withExplorer } from "./_explorer.ts";

const json = { "content-type": "application/json" };
const encodeBody = JSON.stringify({ text: "The nation" });

Deno.test("serveExplorer() answers only Host headers naming the bound loopback names", ORT, async () => {
  await withExplorer({}, async (server) => {
    const { port } = server;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`]) {
      assertEquals((await rawRequest(port, { headers: { host } })).status, 200, host);
    }
    for (const host of ["evil.example", `evil.example:${port}`, `127.0.0.1:${port + 1}`, "127.0.0.1", ""]) {
      const res = await rawRequest(port, { path: "/api/info", headers: { host } });
      assertEquals(res.status, 403, host);
      assertEquals(
        JSON.parse(res.body).error.startsWith(`Host ${JSON.stringify(host.toLowerCase())} is not served`),
        true,
      );
    }
    // a rebinding page's write is refused too
    const post = await rawRequest(port, {
      method: "POST",
      path: "/api/encode",
      headers: { host: `evil.example:${port}`, ...json },
      body: encodeBody,
    });
    assertEquals(post.status, 403);
  });
});

Deno.test("serveExplorer() refuses POSTs from another origin, and bodies that are not JSON", ORT, async () => {
  await withExplorer({}, async (server) => {
    const { port } = server;
    const post = (headers: Record<string, string>) =>
      rawRequest(port, { method: "POST", path: "/api/encode", headers: { ...json, ...headers }, body: encodeBody });
    for (const origin of ["http://evil.example", `http://evil.example:${port}`, "null", `https://127.0.0.1:${port}`]) {
      const res = await post({ origin });
      assertEquals(res.status, 403, origin);
      assertEquals(
        JSON.parse(res.body).error,
        `Cross-origin POST from ${origin} refused: only this server's page may write`,
      );
    }
    assertEquals((await post({ origin: `http://127.0.0.1:${port}` })).status, 200);
    assertEquals((await post({ origin: `http://localhost:${port}` })).status, 200);
    assertEquals((await post({})).status, 200); // no Origin: curl, a script
    // a form post (text/plain needs no preflight) is refused
    const form = await post({ "content-type": "text/plain" });
    assertEquals(form.status, 415);
    assertEquals(JSON.parse(form.body).error, "POST /api/encode takes a JSON body (application/json)");
  });
});

Deno.test("serveExplorer() bounds the body, declared or chunked, and the text", ORT, async () => {
  await withExplorer({ maxBodyBytes: 4096, maxTextLength: 100 }, async (server) => {
    const { port } = server;
    const big = JSON.stringify({ text: "a".repeat(5000) });
    const declared = await rawRequest(port, { method: "POST", path: "/api/encode", headers: json, body: big });
    assertEquals(declared.status, 413);
    assertEquals(JSON.parse(declared.body).error, `The request body is ${big.length} bytes: at most 4096 are read`);
    const chunked = await rawRequest(port, {
      method: "POST",
      path: "/api/encode",
      headers: json,
      chunks: [big.slice(0, 2500), big.slice(2500)],
    });
    assertEquals(chunked.status, 413);
    assertEquals(JSON.parse(chunked.body).error, "The request body is over 4096 bytes");
    const long = await fetch(`${server.base}/api/encode`, {
      method: "POST",
      headers: json,
      body: JSON.stringify({ text: "a".repeat(101) }),
    });
    assertEquals(long.status, 413);
    assertEquals((await long.json()).error, 'Field "text" holds 101 characters: at most 100 are encoded');
    const compare = await fetch(`${server.base}/api/compare`, {
      method: "POST",
      headers: json,
      body: JSON.stringify({ texts: ["fine", "b".repeat(101)] }),
    });
    assertEquals(compare.status, 413);
    await compare.body?.cancel();
  });
});

Deno.test("serveExplorer() with a host requires the token on every request", ORT, async () => {
  await withExplorer({ host: "127.0.0.1" }, async (server, session) => {
    const { port, token } = server;
    assertEquals(/^[0-9a-f]{32}$/.test(token!), true, token);
    assertEquals(server.url, `http://127.0.0.1:${port}/?token=${token}`);
    for (const path of ["/", "/api/info", `/?token=${token!.slice(0, -1)}x`, "/?token="]) {
      const res = await rawRequest(port, { path });
      assertEquals(res.status, 403, path);
      assertEquals(JSON.parse(res.body).error.startsWith("The token is missing or wrong"), true);
    }
    const wrongHeader = await rawRequest(port, { path: "/api/info", headers: { "x-sae-token": "0".repeat(32) } });
    assertEquals(wrongHeader.status, 403);
    assertEquals((await rawRequest(port, { path: `/?token=${token}` })).status, 200);
    assertEquals((await rawRequest(port, { path: "/api/info", headers: { "x-sae-token": token! } })).status, 200);
    const post = await rawRequest(port, { method: "POST", path: "/api/encode", headers: json, body: encodeBody });
    assertEquals(post.status, 403);
    const posted = await rawRequest(port, {
      method: "POST",
      path: "/api/encode",
      headers: { ...json, "x-sae-token": token! },
      body: encodeBody,
    });
    assertEquals(posted.status, 200);
    // without a host, no token: loopback only
    const local = startExplorer(session);
    try {
      assertEquals(local.token, undefined);
      assertEquals(local.url, `http://127.0.0.1:${local.port}/`);
      assertEquals((await rawRequest(local.port, { path: "/api/info" })).status, 200);
    } finally {
      await local.stop();
    }
  });
});

Deno.test("serveExplorer() runs the model once at a time and answers 503 busy beyond its queue", ORT, async () => {
  const session = await embeddedSession();
  // a dataset whose rows wait for the test: a dashboard built over it holds the model until the gate opens
  let open = () => {};
  const gate = new Promise<void>((r) => open = r);
  const { rows } = session.dataset;
  session.dataset = {
    label: "gated",
    rows: async function* () {
      await gate;
      yield* rows();
    },
  };
  const server = startExplorer(session, { maxWaiting: 1 });
  const post = (path: string, body: unknown) =>
    fetch(`${server.base}${path}`, { method: "POST", headers: json, body: JSON.stringify(body) });
  const pending = async () => (await (await fetch(`${server.base}/api/info`)).json()).pending;
  const until = async (n: number) => {
    while (await pending() < n) await new Promise((r) => setTimeout(r, 5));
  };
  try {
    const dashboard = post("/api/dashboard", { feature: 0 });
    await until(1);
    const waiting = post("/api/encode", { text: "The nation" });
    await until(2);
    const busy = await post("/api/encode", { text: "The nation" });
    assertEquals(busy.status, 503);
    assertEquals(
      (await busy.json()).error,
      "The server is busy: one model run at a time and 1 waiting; try again in a moment",
    );
    // the page's progress poll is no model run: it is answered while the queue is full
    const progress = await fetch(`${server.base}/api/dashboard-progress?feature=0`);
    assertEquals((await progress.json()).state, "running");
    open();
    const [d, w] = await Promise.all([dashboard, waiting]);
    assertEquals([d.status, w.status], [200, 200]);
    assertEquals((await d.json()).feature, 0);
    assertEquals((await w.json()).tokens.length > 1, true);
    assertEquals(await pending(), 0);
    assertEquals((await post("/api/encode", { text: "The nation" })).status, 200);
  } finally {
    open();
    await server.stop();
    session.sae.destroy();
    await session.model.dispose();
  }
});

Deno.test("serveExplorer() answers a failing request with a JSON error and stays up", ORT, async () => {
  await withExplorer({}, async (server) => {
    const post = (path: string, body: string) =>
      fetch(`${server.base}${path}`, { method: "POST", headers: json, body });
    const cases: [string, string, number, string][] = [
      ["/api/encode", "{not json", 400, 'The request body is not JSON: expected an object such as {"text": "..."}'],
      ["/api/encode", "[1]", 400, "The request body must be a JSON object"],
      ["/api/encode", "{}", 400, 'Field "text" must be a non-empty string: got nothing'],
      [
        "/api/steer",
        '{"text":"a","feature":99999,"strength":1}',
        400,
        'Field "feature" must be an integer in 0..1023: got 99999',
      ],
      ["/api/ablate", '{"text":"a","target":"two tokens"}', 400, 'Field "target" '],
      // longer than the model's context: the library's RangeError, as a 400
      ["/api/encode", JSON.stringify({ text: "word ".repeat(700) }), 400, ""],
    ];
    for (const [path, body, status, message] of cases) {
      const res = await post(path, body);
      const error = (await res.json()).error as string;
      assertEquals(res.status, status, `${path} ${body.slice(0, 40)}: ${error}`);
      assertEquals(error.startsWith(message), true, error);
    }
    const missing = await fetch(`${server.base}/etc/passwd`);
    assertEquals([missing.status, (await missing.json()).error.startsWith("No page /etc/passwd")], [404, true]);
    const wrongMethod = await fetch(`${server.base}/api/encode`);
    assertEquals([wrongMethod.status, (await wrongMethod.json()).error], [405, "/api/encode takes POST, not GET"]);
    // still up
    assertEquals((await post("/api/encode", encodeBody)).status, 200);
  });
});

Deno.test("serveExplorer()'s page loads nothing from elsewhere and cannot be framed", ORT, async () => {
  await withExplorer({}, async (server) => {
    const res = await fetch(`${server.base}/`);
    const html = await res.text();
    assertEquals(res.headers.get("x-frame-options"), "DENY");
    assertEquals(res.headers.get("content-security-policy")!.includes("default-src 'none'"), true);
    assertEquals(/(src|href)="(https?:)?\/\//.test(html), false);
  });
});

Deno.test("serveExplorer() refuses a port or bound out of range", ORT, async () => {
  await withExplorer({}, (_server, session) => {
    assertThrows(() => serveExplorer(session, { port: 70000 }), RangeError, "The port must be an integer in 0..65535");
    assertThrows(() => serveExplorer(session, { maxBodyBytes: 0 }), RangeError, "maxBodyBytes must be a positive");
    assertThrows(() => serveExplorer(session, { maxWaiting: -1 }), RangeError, "maxWaiting must be a non-negative");
    return Promise.resolve();
  });
});
