import { join } from "node:path";
import { assertEquals } from "../_assert.ts";
import { FIXTURES } from "../_gpu.ts";
import { runCli } from "./_run.ts";

Deno.test("sae info --json describes the TopK fixture", async () => {
  const { code, stdout } = await runCli(["info", join(FIXTURES, "sae-topk"), "--json"]);
  assertEquals(code, 0);
  const d = JSON.parse(stdout);
  assertEquals([d.architecture, d.d_in, d.d_sae, d.k, d.hook_name, d.model_name, d.dtype], [
    "topk",
    128,
    1024,
    16,
    "blocks.2.hook_resid_pre",
    "gpt2-sotu-tiny",
    "float32",
  ]);
  assertEquals(d.parameters, 128 * 1024 * 2 + 1024 + 128);
  assertEquals([d.expansion_factor, d.embedded], [8, false]);
  assertEquals(d.files["sae_weights.safetensors"], 1053512);
});

Deno.test("sae info prints a table", async () => {
  const { code, stdout } = await runCli(["info", join(FIXTURES, "sae-standard-legacy")]);
  assertEquals(code, 0);
  assertEquals(stdout.includes("format        saelens-legacy"), true, stdout);
  assertEquals(stdout.includes("d_in × d_sae  128 × 1024 (expansion factor 8)"), true, stdout);
});

Deno.test("sae info with no path, or embedded, describes the embedded SAE", async () => {
  const none = await runCli(["info", "--json"]);
  assertEquals(none.code, 0, none.stderr);
  const d = JSON.parse(none.stdout);
  assertEquals([d.embedded, d.architecture, d.d_in, d.d_sae, d.expansion_factor, d.stored_f16], [
    true,
    "standard",
    128,
    1024,
    8,
    true,
  ]);
  assertEquals(d.path.endsWith("examples/data/sae-standard-f16"), true, d.path);
  const named = await runCli(["info", "embedded"]);
  assertEquals(named.code, 0, named.stderr);
  assertEquals(/^path +\S+sae-standard-f16 \(embedded\)$/m.test(named.stdout), true, named.stdout);
  assertEquals((await runCli(["info", "a", "b"])).code, 2);
});

Deno.test("every command answers --help, and unknown ones exit 2", async () => {
  for (const verb of ["info", "encode"]) {
    const { code, stdout } = await runCli([verb, "--help"]);
    assertEquals([code, stdout.startsWith(`Usage: sae ${verb}`)], [0, true]);
  }
  assertEquals((await runCli(["--help"])).code, 0);
  assertEquals((await runCli(["frobnicate"])).code, 2);
  assertEquals((await runCli(["info", "--bogus"])).code, 2);
});
