import { assertEquals } from "./_assert.ts";
import { spawn } from "./cli/_run.ts";

Deno.test("examples/encode_stored_activations.ts runs on the embedded data", async () => {
  const { code, stdout, stderr } = await spawn([
    "run",
    "--allow-read",
    "--allow-env",
    "examples/encode_stored_activations.ts",
  ]);
  assertEquals(code, 0, stderr);
  assertEquals(stdout.includes("0 584:8.68 810:7.39 814:7.38"), true, stdout);
  assertEquals(stdout.includes("mean L0 35.0, explained variance 0.880"), true, stdout);
});

Deno.test("deno task demo's SAE (embedded, f16) agrees with the f32 fixture's top features", async () => {
  const { code, stdout, stderr } = await spawn([
    "run",
    "--allow-read",
    "--allow-env",
    "cli/main.ts",
    "encode",
    "--sae",
    "examples/data/sae-standard-f16",
    "--acts",
    "examples/data/prompt_resid_pre.safetensors",
    "--tensor",
    "blocks.2.hook_resid_pre",
    "--json",
  ]);
  assertEquals(code, 0, stderr);
  const reference = JSON.parse(
    await Deno.readTextFile(new URL("../../shared/fixtures/reference-dev.json", import.meta.url)),
  );
  const got = JSON.parse(stdout).features.map((row: { index: number }[]) => row.map((f) => f.index));
  assertEquals(got, reference.prompt.standard_top5_per_token.map((row: [number, number][]) => row.map(([i]) => i)));
});
