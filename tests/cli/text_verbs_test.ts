import { encodeText } from "../../core/analysis/encode_text.ts";
import { repoCacheDir } from "../../core/hub/repo_cache.ts";
import { SAE } from "../../core/sae/sae.ts";
import { assertEquals } from "../_assert.ts";
import { FIXTURES } from "../_fixtures.ts";
import { maxAbsDiff } from "../_reference.ts";
import { withHubEnv as withHub } from "../hub/_hub_env.ts";
import { loadFixtureModel, MODEL_DIR, REFERENCE } from "../lm/_models.ts";
import { assertProgressLog, loggedRun, runCli } from "./_run.ts";

const ORT = { sanitizeOps: false, sanitizeResources: false };
const PROMPT: string = REFERENCE.prompt.text;
const FIXTURE_SAE = (name: string) => ["--sae", `${FIXTURES}${name}`, "--model", MODEL_DIR];

async function json(args: string[]) {
  const { code, stdout, stderr } = await runCli(args);
  assertEquals(code, 0, stderr);
  return JSON.parse(stdout);
}

for (const name of ["sae-standard", "sae-topk", "sae-standard-legacy"]) {
  Deno.test(`sae encode --json TEXT (${name}): the library's features, with tokens and per-token L0`, ORT, async () => {
    const out = await json(["encode", ...FIXTURE_SAE(name), "--top", "5", "--json", PROMPT]);
    assertEquals(out.tokens, REFERENCE.prompt.tokens);
    assertEquals(out.str_tokens.length, out.tokens.length);
    const model = await loadFixtureModel();
    const sae = await SAE.load(`${FIXTURES}${name}`);
    try {
      const enc = await encodeText(model, sae, PROMPT, { top: 5 });
      assertEquals(out.l0, enc.l0);
      type F = { index: number; activation: number };
      assertEquals(out.features.map((r: F[]) => r.map((f) => f.index)), enc.top.map((r) => r.map((f) => f.index)));
      const diff = maxAbsDiff(out.features.flat().map((f: F) => f.activation), enc.top.flat().map((f) => f.activation));
      assertEquals(diff <= 1e-5, true);
      assertEquals(Math.abs(out.explained_variance - enc.summary.explainedVariance) < 1e-9, true);
      assertEquals(out.bos_excluded, true);
    } finally {
      sae.destroy();
      await model.dispose();
    }
  });
}

Deno.test("sae encode with no arguments runs tutorial 1 on the embedded model and SAE", ORT, async () => {
  const { code, stdout, stderr } = await runCli(["encode"]);
  assertEquals(code, 0, stderr);
  assertEquals(stdout.includes(`"<|endoftext|>"`) && stdout.includes(`" shops"`), true, stdout);
  const summary = /mean L0 ([\d.]+) of 1024 \(sparsity ([\d.]+)%\), MSE [\d.]+, explained variance ([\d.]+)/.exec(
    stdout,
  );
  assertEquals(summary !== null, true, stdout);
  assertEquals(Number(summary![3]) > 0.8, true, stdout);
  const out = await json(["encode", "--json"]);
  assertEquals(out.tokens, REFERENCE.prompt.tokens);
});

Deno.test(
  "sae encode: --acts and TEXT leave BOS out alike; one token gives n/a, not NaN; the most active feature",
  ORT,
  async () => {
    const text = await json(["encode", ...FIXTURE_SAE("sae-standard"), "--json", PROMPT]);
    const acts = await json(
      [
        "encode",
        "--sae",
        `${FIXTURES}sae-standard`,
        "--acts",
        `${FIXTURES}reference-dev.safetensors`,
        "--tensor",
        "resid_pre",
        "--json",
      ],
    );
    assertEquals([text.bos_excluded, acts.bos_excluded], [true, true]);
    assertEquals(acts.l0.length, text.l0.length); // per token, BOS included in both
    assertEquals(Math.abs(acts.mean_l0 - text.mean_l0) < 0.2, true, `${acts.mean_l0} vs ${text.mean_l0}`);
    assertEquals(
      Math.abs(acts.explained_variance - text.explained_variance) < 1e-3,
      true,
      `${acts.explained_variance} vs ${text.explained_variance}`,
    );
    // the most active feature over every position after BOS
    const model = await loadFixtureModel();
    const sae = await SAE.load(`${FIXTURES}sae-standard`);
    try {
      const enc = await encodeText(model, sae, PROMPT);
      let best = { index: -1, activation: 0, position: -1 };
      enc.features.data.forEach((v, i) => {
        const position = Math.floor(i / 1024);
        if (position > 0 && v > best.activation) best = { index: i % 1024, activation: v, position };
      });
      assertEquals([text.most_active.index, text.most_active.position], [best.index, best.position]);
      assertEquals(Math.abs(text.most_active.activation - best.activation) < 1e-6, true);
    } finally {
      sae.destroy();
      await model.dispose();
    }
    const one = await runCli(["encode", ...FIXTURE_SAE("sae-standard"), "The"]);
    assertEquals(one.code, 0, one.stderr);
    assertEquals(one.stdout.includes("NaN"), false, one.stdout);
    assertEquals(one.stdout.includes("explained variance n/a (1 token counted: it divides by the variance"), true);
    assertEquals(/most active feature: \d+ at [\d.]+ on "The" \(position 1, BOS left out\)/.test(one.stdout), true);
    assertEquals((await json(["encode", ...FIXTURE_SAE("sae-standard"), "--json", "The"])).explained_variance, null);
  },
);

Deno.test("sae feature: each text's peak of one feature, as the SAE's features show it", ORT, async () => {
  const texts = [PROMPT, "The nation is strong and our people are free"];
  const out = await json(["feature", ...FIXTURE_SAE("sae-standard"), "--json", "340", ...texts]);
  const model = await loadFixtureModel();
  const sae = await SAE.load(`${FIXTURES}sae-standard`);
  try {
    for (const [t, text] of texts.entries()) {
      const tokens = model.toTokens(text);
      const { cache } = await model.runWithCache([tokens], { names: ["blocks.2.hook_resid_pre"], stopAtLayer: 3 });
      const f = await sae.encode({ shape: [tokens.length, 128], data: cache.get("blocks.2.hook_resid_pre")!.data })
        .read();
      const column = tokens.map((_, p) => f[p * 1024 + 340]);
      const max = Math.max(...column.slice(1));
      assertEquals(Math.abs(out.texts[t].max - max) < 1e-5, true);
      // text 2 never fires feature 340 after BOS: no peak position or token, not "peak at 1"
      assertEquals(out.texts[t].position, max > 0 ? column.indexOf(max, 1) : null);
      assertEquals(out.texts[t].token === null, max === 0);
    }
    assertEquals(out.neuronpedia_url, null);
  } finally {
    sae.destroy();
    await model.dispose();
  }
  const { code, stderr } = await runCli(["feature", ...FIXTURE_SAE("sae-standard"), "--neuronpedia", "1", "x"]);
  assertEquals(code, 2);
  assertEquals(stderr.includes("has no Neuronpedia id"), true, stderr);
  assertEquals(stderr.includes("pass --neuronpedia-id MODEL/SET"), true, stderr);
  // a local SAE whose id the user knows
  const linked = await runCli(
    ["feature", ...FIXTURE_SAE("sae-standard"), "--neuronpedia-id", "gpt2-small/8-res-jb", "--neuronpedia", "7", "x"],
  );
  assertEquals(linked.code, 0, linked.stderr);
  assertEquals(linked.stdout.trim().split("\n").at(-1), "https://neuronpedia.org/gpt2-small/8-res-jb/7");
  const bad = await runCli(["feature", ...FIXTURE_SAE("sae-standard"), "--neuronpedia-id", "8-res-jb", "7", "x"]);
  assertEquals(bad.code, 2);
  assertEquals(bad.stderr.includes(`--neuronpedia-id Neuronpedia id "8-res-jb": expected MODEL/SET`), true, bad.stderr);
});

Deno.test(
  "sae attribute: features sorted by contribution; with b_dec and error they add up to the direct total",
  ORT,
  async () => {
    const out = await json(["attribute", ...FIXTURE_SAE("sae-standard"), "--target", " Mary", "--json", PROMPT]);
    assertEquals(out.target, 5335);
    assertEquals(out.position, REFERENCE.prompt.tokens.length - 1);
    const sum = out.features.reduce((s: number, f: { contribution: number }) => s + f.contribution, 0);
    assertEquals(Math.abs(sum + out.bias + out.error - out.total) < 1e-4, true);
  },
);

Deno.test("sae ablate: --top N ablates the N features most active at the last position", ORT, async () => {
  const out = await json([
    "ablate",
    ...FIXTURE_SAE("sae-standard"),
    "--target",
    " Mary",
    "--top",
    "3",
    "--together",
    "--json",
    PROMPT,
  ]);
  const enc = await json(["encode", ...FIXTURE_SAE("sae-standard"), "--top", "3", "--json", PROMPT]);
  type F = { index: number };
  assertEquals(out.features.map((f: F) => f.index), enc.features.at(-1).map((f: F) => f.index));
  assertEquals(out.error_term, true);
  // --together: the three zeroed at once, with the likeliest next tokens then
  assertEquals(out.together.features, out.features.map((f: F) => f.index));
  assertEquals(out.together.top.length, 10);
  assertEquals(typeof out.together.top[0].token, "string");
  assertEquals(
    Math.abs(out.together.change - 100 * (out.together.probability - out.baseline) / out.baseline) < 1e-9,
    true,
  );
  assertEquals(Math.abs(out.spliced - out.baseline) / out.baseline < 1e-3, true);
  const plain = await json([
    "ablate",
    ...FIXTURE_SAE("sae-standard"),
    "--target",
    " Mary",
    "--features",
    "459",
    "--no-error-term",
    "--json",
    PROMPT,
  ]);
  assertEquals(plain.error_term, false);
  assertEquals(plain.features.map((f: F) => f.index), [459]);
  // without the error term the feature's effect is measured against the spliced model's P, and also shown vs clean
  const [f] = plain.features;
  assertEquals(Math.abs(f.change_from_spliced - 100 * (f.probability - plain.spliced) / plain.spliced) < 1e-9, true);
  assertEquals(Math.abs(f.change - 100 * (f.probability - plain.baseline) / plain.baseline) < 1e-9, true);
  const table = await runCli(
    ["ablate", ...FIXTURE_SAE("sae-standard"), "--target", " Mary", "--features", "459", "--no-error-term", PROMPT],
  );
  assertEquals(table.stdout.includes("P(target)  vs spliced  vs clean"), true, table.stdout);
  // one feature "together" is that feature alone
  const one = await json([
    "ablate",
    ...FIXTURE_SAE("sae-standard"),
    "--target",
    " Mary",
    "--features",
    "459",
    "--no-error-term",
    "--together",
    "--json",
    PROMPT,
  ]);
  assertEquals(Math.abs(one.together.probability - f.probability) <= 1e-6 * f.probability, true);
});

Deno.test("sae steer: strength 0 gives the baseline; a strong direction changes it", ORT, async () => {
  const args = ["steer", ...FIXTURE_SAE("sae-standard"), "--feature", "340", "--greedy", "--max-new-tokens", "6"];
  const zero = await json([...args, "--strength", "0", "--samples", "1", "--json", "The nation"]);
  assertEquals(zero.steered, zero.baseline);
  const strong = await json([
    ...args,
    "--strength",
    "25",
    "--samples",
    "1",
    "--positions",
    "prompt",
    "--json",
    "The nation",
  ]);
  assertEquals(strong.steered[0] !== strong.baseline[0], true);
  assertEquals(strong.positions, "prompt");
  assertEquals([strong.strength_relative_to, strong.applied_strength], ["absolute", 25]);
  assertEquals(strong.direction_norm > 0 && strong.resid_norm > 0 && strong.feature_max_act >= 0, true);
  // relative strengths: in units of the feature's peak on the prompt, or of the residual norm
  const at847 = args.map((a) => a === "340" ? "847" : a); // 847 fires on " nation"; 340 on neither token
  const byMax = await json(
    [...at847, "--strength", "2", "--strength-relative-to", "max-act", "--samples", "1", "--json", "The nation"],
  );
  assertEquals(byMax.feature_max_act > 4, true, String(byMax.feature_max_act));
  assertEquals(Math.abs(byMax.applied_strength - 2 * byMax.feature_max_act) < 1e-9, true);
  assertEquals(byMax.strength, 2);
  const byNorm = await json(
    [...args, "--strength", "0.5", "--strength-relative-to", "resid-norm", "--samples", "1", "--json", "The nation"],
  );
  assertEquals(Math.abs(byNorm.applied_strength * byNorm.direction_norm - 0.5 * byNorm.resid_norm) < 1e-6, true);
  const text = await runCli([...args, "--strength", "25", "--samples", "1", "The nation"]);
  assertEquals(/scale: ‖W_dec\[340\]‖ [\d.]+, mean residual norm [\d.]+, feature 340 mean/.test(text.stdout), true);
  const silent = await runCli([...args, "--strength", "1", "--strength-relative-to", "max-act", "The nation"]);
  assertEquals(silent.stderr.includes("as the feature does not fire on the prompt: use resid-norm"), true);
  const bad = await runCli([...args, "--strength", "1", "--strength-relative-to", "peak", "x"]);
  assertEquals(bad.code, 2);
  assertEquals(bad.stderr.includes("--strength-relative-to must be one of absolute, max-act, resid-norm"), true);
});

Deno.test("sae compare: features active in every prompt, ranked by mean peak", ORT, async () => {
  type F = { index: number };
  const prompts = ["The nation is strong", "Our nation is great", "The economy is strong"];
  const out = await json(["compare", ...FIXTURE_SAE("sae-standard"), "--threshold", "1", "--json", ...prompts]);
  assertEquals(out.features.length > 0, true);
  for (const f of out.features) {
    assertEquals(f.peaks.length, 3);
    assertEquals(f.peaks.every((p: number) => p > 1), true);
  }
  const means = out.features.map((f: { mean: number }) => f.mean);
  assertEquals(means.every((m: number, i: number) => i === 0 || means[i - 1] >= m), true);
  assertEquals(out.quick_list_url, null);
  const linked = await json([
    "compare",
    ...FIXTURE_SAE("sae-standard"),
    "--neuronpedia-id",
    "gpt2-small/8-res-jb",
    "--threshold",
    "1",
    "--json",
    ...prompts,
  ]);
  const list = new URL(linked.quick_list_url).searchParams.get("features")!;
  assertEquals(
    JSON.parse(list).map((f: { index: string }) => Number(f.index)),
    out.features.slice(0, 20).map((f: F) => f.index),
  );
});

Deno.test("sae releases --json lists every release with its fields", async () => {
  const out = await json(["releases", "--json"]);
  assertEquals(out["gpt2-small-res-jb"].saes.length, 13);
  assertEquals(out["gpt2-small-res-jb"].saes[8].hook, "blocks.8.hook_resid_pre");
  for (const r of Object.values(out) as { repo_id: string; model: string; saes: unknown[] }[]) {
    assertEquals(typeof r.repo_id === "string" && typeof r.model === "string" && r.saes.length > 0, true);
  }
  const { code, stdout } = await runCli(["releases", "gpt2-small-res-jb"]);
  assertEquals(code, 0);
  assertEquals(stdout.includes("gpt2-small/8-res-jb"), true);
});

Deno.test("sae releases groups by model and filters by model, hook and words", async () => {
  const all = await runCli(["releases"]);
  assertEquals(all.code, 0, all.stderr);
  assertEquals(/^gpt2-small \(openai-community\/gpt2\): 18 releases, 159 SAEs$/m.test(all.stdout), true, all.stdout);
  assertEquals(
    /^ {2}gpt2-small-res-jb +13 SAEs +sae_lens +jbloom\/GPT2-Small-SAEs-Reformatted$/m.test(all.stdout),
    true,
  );
  // --model takes SAELens's name or the Hub repo
  const byRepo = await json(["releases", "--json", "--model", "google/gemma-2-2b"]);
  assertEquals(Object.values(byRepo).every((r) => (r as { model: string }).model === "gemma-2-2b"), true);
  assertEquals(Object.keys(byRepo), Object.keys(await json(["releases", "--json", "--model", "gemma-2-2b"])));
  const hooked = await runCli(["releases", "--hook", "blocks.8.hook_resid_pre", "res-jb"]);
  assertEquals(hooked.stdout.split("\n").filter((l) => l.startsWith("  ")).length, 9, hooked.stdout);
  assertEquals(hooked.stdout.includes("blocks.8.hook_resid_pre_768    blocks.8.hook_resid_pre  L0 36  EV 0.61"), true);
  const words = await json(["releases", "--json", "RES_SCEFR", "10-"]);
  assertEquals(Object.keys(words), ["gpt2-small-res_scefr-ajt"]);
  assertEquals(words["gpt2-small-res_scefr-ajt"].saes.map((s: { id: string }) => s.id), ["blocks.10.hook_resid_pre"]);
  const none = await runCli(["releases", "--model", "gpt2-small", "--hook", "hook_embed"]);
  assertEquals(none.code, 2);
  assertEquals(none.stderr.includes("No SAE of the registry matches --model gpt2-small, --hook hook_embed"), true);
});

Deno.test("sae pull writes the HF cache layout, loads, and a second pull downloads nothing", ORT, async () => {
  const folder = "blocks.2.hook_resid_pre";
  const files: Record<string, Uint8Array<ArrayBuffer>> = {};
  for (const f of ["cfg.json", "sae_weights.safetensors", "sparsity.safetensors"]) {
    files[`${folder}/${f}`] = await Deno.readFile(`${FIXTURES}sae-standard/${f}`);
  }
  const commit = "fedcba9876543210fedcba9876543210fedcba98";
  const repo = "jbloom/GPT2-Small-SAEs-Reformatted";
  await withHub({ [repo]: { commit, files } }, async (server, home) => {
    const out = await json(["pull", "--json", "gpt2-small-res-jb", folder]);
    const snapshot = `${repoCacheDir(repo, `${home}/hub`)}/snapshots/${commit}/${folder}`;
    assertEquals(out.folder, snapshot);
    assertEquals(out.neuronpedia_id, "gpt2-small/2-res-jb");
    assertEquals((await Deno.lstat(`${snapshot}/sae_weights.safetensors`)).isSymlink, true);
    const gets = server.requests.filter((r) => r.startsWith("GET")).length;
    assertEquals(gets >= 3, true); // one download per file (LFS ones through the CDN redirect)
    await json(["pull", "--json", "gpt2-small-res-jb", folder]);
    assertEquals(server.requests.filter((r) => r.startsWith("GET")).length, gets);
    // RELEASE/SAE_ID anywhere an SAE is asked for; the release's Neuronpedia id comes with it
    const probe = await json([
      "feature",
      "--sae",
      `gpt2-small-res-jb/${folder}`,
      "--model",
      MODEL_DIR,
      "--json",
      "7",
      "x y",
    ]);
    assertEquals(probe.neuronpedia_url, "https://neuronpedia.org/gpt2-small/2-res-jb/7");
    const sae = await SAE.fromPretrained("gpt2-small-res-jb", folder);
    assertEquals(sae.cfg.metadata.neuronpedia_id, "gpt2-small/2-res-jb");
    sae.destroy();
  });
});

Deno.test("text verbs: bad input gets a clear error before any long work", ORT, async () => {
  const fails = async (args: string[], code: number, text: string) => {
    const out = await runCli(args);
    assertEquals(out.code, code, out.stderr);
    assertEquals(out.stderr.includes(text), true, out.stderr);
  };
  await fails(
    ["encode", "--sae", "gpt2-small-res-j/blocks.8.hook_resid_pre", "x"],
    1,
    "closest releases are gpt2-small-res-jb",
  );
  await fails(["pull", "gpt2-small-res-jb", "blocks.8.hook_resid"], 1, "closest are blocks.8.hook_resid_pre");
  await fails(
    ["encode", ...FIXTURE_SAE("sae-standard"), "--device", "cuda", "x"],
    2,
    "--device must be one of auto, webgpu, cpu: current value is cuda",
  );
  await fails(["feature", ...FIXTURE_SAE("sae-standard"), "1024", "x"], 2, "outside the SAE's 1024 features (0..1023)");
  await fails(
    ["attribute", ...FIXTURE_SAE("sae-standard"), "--target", " San Francisco", "x"],
    2,
    `" San Francisco" is 2 tokens (" San" 2986, " Francisco" 6033)`,
  );
  await fails(
    ["ablate", ...FIXTURE_SAE("sae-standard"), "--target", " x", "--features", "3,2000", "x"],
    2,
    "2000 is outside",
  );
  const tmp = await Deno.makeTempDir();
  try {
    for (
      const [hook, text] of [
        ["blocks.7.hook_resid_pre", "reads blocks.7.hook_resid_pre, which this 4-layer model does not have"],
        ["blocks.1.mlp.hook_post", "d_in is 128 but the model's blocks.1.mlp.hook_post has width 512"],
      ]
    ) {
      await Deno.copyFile(`${FIXTURES}sae-standard/sae_weights.safetensors`, `${tmp}/sae_weights.safetensors`);
      const cfg = JSON.parse(await Deno.readTextFile(`${FIXTURES}sae-standard/cfg.json`));
      cfg.metadata.hook_name = hook;
      await Deno.writeTextFile(`${tmp}/cfg.json`, JSON.stringify(cfg));
      await fails(["encode", "--sae", tmp, "--model", MODEL_DIR, "x"], 1, text);
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("the embedded f16 model and SAE give the f32 fixtures' top-3 features on every token", ORT, async () => {
  type F = { index: number; activation: number };
  const embedded = await json(["encode", "--top", "3", "--json"]);
  const fixtures = await json(["encode", ...FIXTURE_SAE("sae-standard"), "--top", "3", "--json"]);
  const ids = (out: { features: F[][] }) => out.features.map((r) => r.map((f) => f.index));
  assertEquals(ids(embedded), ids(fixtures));
  const diff = maxAbsDiff(
    embedded.features.flat().map((f: F) => f.activation),
    fixtures.features.flat().map((f: F) => f.activation),
  );
  assertEquals(diff < 0.05, true, `f16 rounding moved activations by ${diff}`);
});

Deno.test(
  "sae encode --sae RELEASE/SAE_ID with no --model downloads the model the SAE names (the seed's real run)",
  ORT,
  async () => {
    const folder = "blocks.2.hook_resid_pre";
    const cfg = JSON.parse(await Deno.readTextFile(`${FIXTURES}sae-standard/cfg.json`));
    cfg.metadata.model_name = "gpt2-small"; // as gpt2-small-res-jb's SAEs name it
    const saeFiles: Record<string, Uint8Array<ArrayBuffer>> = {
      [`${folder}/cfg.json`]: new TextEncoder().encode(JSON.stringify(cfg)),
      [`${folder}/sae_weights.safetensors`]: await Deno.readFile(`${FIXTURES}sae-standard/sae_weights.safetensors`),
    };
    const modelFiles: Record<string, Uint8Array<ArrayBuffer>> = {};
    for (const f of ["config.json", "model.safetensors", "vocab.json", "merges.txt"]) {
      modelFiles[f] = await Deno.readFile(`${MODEL_DIR}/${f}`);
    }
    await withHub({
      "jbloom/GPT2-Small-SAEs-Reformatted": { commit: "1".repeat(40), files: saeFiles },
      "openai-community/gpt2": { commit: "2".repeat(40), files: modelFiles },
    }, async (server) => {
      const out = await json(["encode", "--sae", `gpt2-small-res-jb/${folder}`, "--top", "5", "--json", PROMPT]);
      const local = await json(["encode", ...FIXTURE_SAE("sae-standard"), "--top", "5", "--json", PROMPT]);
      assertEquals(out.tokens, local.tokens);
      assertEquals(out.features, local.features);
      assertEquals(
        server.requests.some((r) => r.includes("/openai-community/gpt2/resolve/main/model.safetensors")),
        true,
      );
    });
  },
);

Deno.test("text verbs in a log: a start line, the device, progress lines and a summary on stderr", ORT, async () => {
  const sae = FIXTURE_SAE("sae-standard");
  const device = /device: (webgpu|cpu) \(.+\) \(SAE\), ONNX Runtime/;
  const steer = await loggedRun(
    [
      "steer",
      ...sae,
      "--feature",
      "340",
      "--strength",
      "8",
      "--greedy",
      "--max-new-tokens",
      "3",
      "--samples",
      "1",
      "x",
    ],
  );
  assertProgressLog(
    steer.lines,
    "steer",
    /^sae steer: \d+\/6 tokens generated \(\d+%\)/,
    /^sae steer: done, 6 tokens generated in .*: applied strength 8\.000/,
  );
  assertEquals(device.test(steer.lines[1]), true, steer.lines[1]);
  assertEquals(steer.lines[0], `sae steer: SAE ${sae[1]}, model ${MODEL_DIR}, feature 340, strength 8; loading`);
  const ablate = await loggedRun(["ablate", ...sae, "--target", " Mary", "--features", "459,3", PROMPT]);
  assertProgressLog(
    ablate.lines,
    "ablate",
    /^sae ablate: 1\/2 features \(50%\), ETA /,
    /^sae ablate: done, 2 features in .*: P clean [\d.e-]+, spliced [\d.e-]+; largest drop: feature (459|3) /,
  );
  const compare = await loggedRun(["compare", ...sae, "The nation is strong", "Our nation is great"]);
  assertProgressLog(
    compare.lines,
    "compare",
    /^sae compare: 2\/2 prompts \(100%\), \d+ tokens, \d+ tokens\/s/,
    /^sae compare: done, 2 prompts in .*: \d+ features peak above 0.5 in every prompt$/,
  );
  const feature = await loggedRun(["feature", ...sae, "340", "The nation", "Our people"]); // 340 fires on neither
  assertProgressLog(
    feature.lines,
    "feature",
    /^sae feature: 1\/2 texts \(50%\)/,
    /^sae feature: done, 2 texts in .*: feature 340 never fires after BOS in these texts$/,
  );
  const generate = await loggedRun(["generate", "--model", MODEL_DIR, "--greedy", "--max-new-tokens", "3", "x"]);
  assertProgressLog(
    generate.lines,
    "generate",
    /^sae generate: 1\/3 tokens generated \(33%\)/,
    /^sae generate: done, 3 tokens generated in .*: 3 new tokens after 2 of prompt$/,
  );
  const run = await loggedRun(["run", "--model", MODEL_DIR, PROMPT]);
  assertProgressLog(
    run.lines,
    "run",
    new RegExp(`^sae run: ${REFERENCE.prompt.tokens.length} tokens$`),
    /^sae run: done, \d+ tokens in .*, \d+ tokens\/s: loss [\d.]+$/,
  );
});
