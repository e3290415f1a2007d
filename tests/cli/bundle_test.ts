// `deno compile` needs to download denort, which this network cannot reach; a bundle run from an
// empty folder shows the CLI is self-contained: shaders embedded, nothing read beside the source.
import { join } from "node:path";
import { assertEquals } from "../_assert.ts";
import { FIXTURES } from "../_gpu.ts";
import { spawn } from "./_run.ts";

Deno.test("the bundled CLI runs info and encode from an empty folder", async () => {
  const dir = await Deno.makeTempDir();
  const bundle = join(dir, "sae.js");
  // onnxruntime stays external, as in `deno task bundle`: Deno fetches it from npm when a model runs
  const external = ["onnxruntime-node", "onnxruntime-web", "onnxruntime-web/webgpu"].flatMap((p) => [
    "--external",
    `npm:${p.replace(/^(onnxruntime-\w+)/, "$1@1.30.0")}`,
  ]);
  const built = await spawn(["bundle", "--quiet", ...external, "--output", bundle, "cli/main.ts"]);
  assertEquals(built.code, 0, built.stderr);
  const empty = await Deno.makeTempDir();
  const info = await spawn(
    ["run", "--allow-read", "--allow-env", bundle, "info", join(FIXTURES, "sae-topk"), "--json"],
    empty,
  );
  assertEquals(info.code, 0, info.stderr);
  assertEquals(JSON.parse(info.stdout).k, 16);
  const encoded = await spawn([
    "run",
    "--allow-read",
    "--allow-env",
    bundle,
    "encode",
    "--sae",
    join(FIXTURES, "sae-topk"),
    "--acts",
    join(FIXTURES, "reference-dev.safetensors"),
    "--tensor",
    "resid_pre",
    "--json",
    "--top",
    "1",
  ], empty);
  assertEquals(encoded.code, 0, encoded.stderr);
  assertEquals(JSON.parse(encoded.stdout).features[0], [{
    index: 956,
    activation: JSON.parse(encoded.stdout).features[0][0].activation,
  }]);
  for await (const _ of Deno.readDir(empty)) throw new Error("the bundle wrote into the working folder");
});
