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
  assertEquals(stdout.includes("0 584:8.78 810:7.53 814:7.46"), true, stdout);
  assertEquals(stdout.includes("mean L0 35.9, explained variance 0.873"), true, stdout);
});

Deno.test("the embedded f16 SAE agrees with the f32 fixture's top features on stored activations", async () => {
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

const TUTORIALS: [string, RegExp][] = [
  [
    "tutorial_1_encode_text.ts",
    /" shops" +L0 +\d+ [\s\S]*mean L0 \d+\.\d, MSE \d+\.\d+, explained variance 0\.[89]\d\d/,
  ],
  ["tutorial_2_releases_and_neuronpedia.ts", /feature 1234: https:\/\/neuronpedia\.org\/gpt2-small\/8-res-jb\/1234/],
  [
    "tutorial_3_attribution_and_steering.ts",
    /logit of " States" after "The President of the United": [\d.]+\n {2}feature/,
  ],
  ["tutorial_4_ablation.ts", /P\(" States"\) after "The President of the United": 0\.\d+\n {2}without feature/],
  ["tutorial_5_compare_prompts.ts", /\d+ features peak above 0\.5 in all 3 prompts/],
  ["notebook_hands_on.ts", /feature \d+: [\d.]+ at " Congress" in "The Congress shall act"[\s\S]*steered: /],
];

for (const [file, expected] of TUTORIALS) {
  Deno.test(`examples/${file} runs on the embedded model and SAE, no network`, async () => {
    const { code, stdout, stderr } = await spawn([
      "run",
      "--allow-read",
      "--allow-env",
      "--allow-ffi",
      `examples/${file}`,
    ]);
    assertEquals(code, 0, stderr);
    assertEquals(expected.test(stdout), true, stdout);
  });
}

Deno.test("examples/toy_superposition.ts trains on the device --device picks", async () => {
  const { code, stdout, stderr } = await spawn([
    "run",
    "--allow-read",
    "--allow-env",
    "--allow-ffi",
    "examples/toy_superposition.ts",
    "--steps",
    "20",
    "--arch",
    "topk",
    "--device",
    "cpu",
  ]);
  assertEquals(code, 0, stderr);
  assertEquals(/^training on cpu\ntopk +mean max cosine 0\.\d{3}/.test(stdout), true, stdout);
});

Deno.test("examples/tutorial_1_encode_text.ts runs on --device cpu, and a device it does not know exits 2", async () => {
  const ok = await spawn([
    "run",
    "--allow-read",
    "--allow-env",
    "--allow-ffi",
    "examples/tutorial_1_encode_text.ts",
    "--device",
    "cpu",
  ]);
  assertEquals(ok.code, 0, ok.stderr);
  assertEquals(/mean L0 \d+\.\d, MSE/.test(ok.stdout), true, ok.stdout);
  const bad = await spawn(["run", "--allow-read", "--allow-env", "examples/toy_superposition.ts", "--device", "gpu"]);
  assertEquals([bad.code, bad.stderr.trim()], [2, 'error: --device is "gpu": expected one of auto, webgpu, cpu']);
});
