import { join } from "node:path";
import { readSafetensors, toFloat32 } from "../../core/io/safetensors.ts";
import { assertEquals } from "../_assert.ts";
import { FIXTURES } from "../_gpu.ts";
import { assertClose } from "../_reference.ts";
import { runCli, spawn } from "./_run.ts";

const ACTS = join(FIXTURES, "reference-dev.safetensors");
const REFERENCE = JSON.parse(await Deno.readTextFile(join(FIXTURES, "reference-dev.json")));

/** `sae encode` of the reference prompt's resid_pre with a fixture SAE, plus `extra` flags. */
function encodeFixture(sae: string, ...extra: string[]) {
  return runCli(["encode", "--sae", join(FIXTURES, sae), "--acts", ACTS, "--tensor", "resid_pre", ...extra]);
}

for (const [name, key] of [["sae-standard", "standard"], ["sae-topk", "topk"], ["sae-standard-legacy", "standard"]]) {
  Deno.test(`sae encode --out writes ${name}'s features and recons equal to the reference`, async () => {
    const dir = await Deno.makeTempDir();
    const out = join(dir, "out.safetensors");
    const { code } = await encodeFixture(name, "--out", out);
    assertEquals(code, 0);
    const [got, ref] = [await readSafetensors(out), await readSafetensors(ACTS)];
    assertEquals(got.tensors.get("features")!.shape, [1, 15, 1024]);
    assertEquals(got.tensors.get("recons")!.shape, [1, 15, 128]);
    const t = (f: typeof got, n: string) => toFloat32(f.tensors.get(n)!, n);
    assertClose(t(got, "features"), t(ref, `features_${key}`), 1e-4, "features");
    assertClose(t(got, "recons"), t(ref, `recons_${key}`), 1e-4, "recons");
  });

  Deno.test(`sae encode --json --top 5 lists ${name}'s reference top-5 features per token`, async () => {
    const { code, stdout } = await encodeFixture(name, "--json", "--top", "5");
    assertEquals(code, 0);
    const json = JSON.parse(stdout);
    const expected: [number, number][][] = REFERENCE.prompt[`${key}_top5_per_token`];
    assertEquals(json.features.length, expected.length);
    json.features.forEach((row: { index: number; activation: number }[], t: number) => {
      assertEquals(row.map((f) => f.index), expected[t].map(([i]) => i), `token ${t}`);
      assertClose(row.map((f) => f.activation), expected[t].map(([, v]) => v), 1e-4, `token ${t}`);
    });
    if (key === "topk") assertEquals(json.l0.every((l: number) => l === 16), true);
  });
}

Deno.test("sae encode prints a readable table with L0, MSE and explained variance", async () => {
  const { code, stdout } = await encodeFixture("sae-topk", "--top", "2");
  assertEquals(code, 0);
  const [[a, va], [b, vb]] = REFERENCE.prompt.topk_top5_per_token[0];
  assertEquals(stdout.includes(`    0   16  ${a}:${va.toFixed(3)}  ${b}:${vb.toFixed(3)}`), true, stdout);
  assertEquals(/mean L0 16\.00 .* explained variance 0\.\d+/.test(stdout), true, stdout);
});

Deno.test("sae encode asks for --tensor when the file holds several", async () => {
  const { code, stderr } = await runCli(["encode", "--sae", join(FIXTURES, "sae-topk"), "--acts", ACTS]);
  assertEquals(code, 2);
  assertEquals(stderr.includes("holds 6 floating-point tensors (resid_pre, logits, "), true, stderr);
});

Deno.test("sae encode names an output folder that does not exist before any work", async () => {
  const { code, stderr } = await runCli([
    "encode",
    "--sae",
    "x",
    "--acts",
    "y",
    "--out",
    "/no/such/dir/out.safetensors",
  ]);
  assertEquals(code, 2);
  assertEquals(stderr.includes("folder /no/such/dir does not exist"), true, stderr);
});

Deno.test("sae encode reports a bad SAE in one line without a stack trace", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(join(dir, "cfg.json"), JSON.stringify({ architecture: "standard", d_sae: 4, metadata: {} }));
  await Deno.writeFile(join(dir, "sae_weights.safetensors"), new Uint8Array(4));
  const { code, stderr } = await spawn([
    "run",
    "-A",
    "cli/main.ts",
    "encode",
    "--sae",
    dir,
    "--acts",
    ACTS,
    "--tensor",
    "resid_pre",
  ]);
  assertEquals(code, 1);
  assertEquals(stderr.trim().split("\n").length, 1, stderr);
  assertEquals(stderr.startsWith("error: "), true, stderr);
  assertEquals(stderr.includes("field d_in is missing"), true, stderr);
});
