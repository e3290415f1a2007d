// sae serve as a user runs it: flags checked before loading, then a subprocess serving the embedded SAE that
// answers on the printed URL and stops cleanly on Ctrl-C (SIGINT).
import { assertEquals } from "../_assert.ts";
import { embeddedModel } from "../../core/embedded.ts";
import { FIXTURES } from "../_fixtures.ts";
import { runCli } from "./_run.ts";

Deno.test("sae serve --help describes the page and its safety rules; bad flags are usage errors", async () => {
  const help = await runCli(["serve", "--help"]);
  assertEquals(help.code, 0);
  for (const words of ["binds 127.0.0.1 only", "--host H", "token", "503 busy", "--tokens N"]) {
    assertEquals(help.stdout.includes(words), true, words);
  }
  const cases: [string[], string][] = [
    [["--port", "70000"], "error: --port must be in 0..65535: current value is 70000"],
    [["--port", "8.5"], "error: --port must be a whole number"],
    [["--host", " "], "error: --host must name a host"],
    [["--tokens", "0"], "error: --tokens"],
    [["text"], "error: sae serve takes no positional arguments: got text"],
  ];
  for (const [args, message] of cases) {
    const { code, stderr } = await runCli(["serve", ...args]);
    assertEquals(code, 2, args.join(" "));
    assertEquals(stderr.startsWith(message), true, stderr);
  }
});

Deno.test("sae serve prints its URL, answers there, switches between its --sae and --model, stops on SIGINT", async () => {
  const [standard, topk] = [`${FIXTURES}sae-standard`, `${FIXTURES}sae-topk`];
  const F32 = `${FIXTURES}gpt2-sotu-tiny`, EMBEDDED_MODEL = embeddedModel();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "cli/main.ts",
      "serve",
      "--port",
      "0",
      "--dataset",
      `${FIXTURES}reference-dev.safetensors`,
      "--sae",
      standard,
      "--sae",
      topk,
      "--model",
      EMBEDDED_MODEL,
      "--model",
      F32,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  try {
    while (!/http:\/\/127\.0\.0\.1:\d+\//.test(out)) {
      const { value, done } = await lines.read();
      if (done) break;
      out += value;
    }
    const url = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)![1];
    assertEquals(out.startsWith(`sae serve: the explorer is at ${url} (Ctrl-C stops it)`), true, out);
    const info = await (await fetch(`${url}api/info`)).json();
    assertEquals([info.sae, info.d_sae, info.dataset.includes("reference-dev.safetensors")], [standard, 1024, true]);
    assertEquals(await (await fetch(`${url}api/saes`)).json(), { current: standard, choices: [standard, topk] });
    const switched = await fetch(`${url}api/sae`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ sae: topk }),
    });
    assertEquals((await switched.json()).architecture, "topk");
    // every SAE on the first --model; the page picks the other
    assertEquals(await (await fetch(`${url}api/models`)).json(), {
      current: EMBEDDED_MODEL,
      choices: [EMBEDDED_MODEL, F32],
    });
    const model = await fetch(`${url}api/model`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: F32 }),
    });
    assertEquals([(await model.json()).model, (await (await fetch(`${url}api/saes`)).json()).current], [F32, topk]);
    // and the registry is offered
    const registry = await (await fetch(`${url}api/registry?q=gpt2-small-res-jb`)).json();
    assertEquals([registry.enabled, registry.total > 0], [true, true]);
  } finally {
    child.kill("SIGINT");
    await lines.cancel();
    const stderr = await new Response(child.stderr).text();
    const { code } = await child.status;
    assertEquals(code, 0, stderr);
  }
});
