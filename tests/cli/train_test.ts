import assert from "node:assert/strict";
import { join, relative as relativePath } from "node:path";
import { assertEquals } from "../_assert.ts";
import { runCli } from "./_run.ts";
import { FIXTURES } from "../_fixtures.ts";
import { SAE } from "../../core/sae/sae.ts";
import { readCheckpoint, writeCheckpoint } from "../../core/train/checkpoint.ts";
import { trainSae } from "../../core/train/train_sae.ts";
import { openTrainingRun } from "../../core/train/training_run.ts";
import { evaluateSae } from "../../core/eval/evaluate_sae.ts";
import { readSafetensors, toFloat32, writeSafetensors } from "../../core/io/safetensors.ts";
import { gpu } from "../_gpu.ts";
import type { PhaseProgress } from "../../core/train/train_saes.ts";

const MODEL = `${FIXTURES}gpt2-sotu-tiny`;
const CLI = new URL("../../cli/main.ts", import.meta.url).pathname;
const ORT = { sanitizeOps: false, sanitizeResources: false };

/**
 * A small, fast run on the fixture model: 128-token steps of 32-token rows, from the mixing buffer (sampling across
 * the whole sotu corpus would read all of it first; the tests of that sampling use a small corpus).
 */
function smallRun(dir: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    shuffle_whole_corpus: false,
    model_name: MODEL,
    hook_name: "blocks.2.hook_resid_pre",
    d_sae: 64,
    context_size: 32,
    store_batch_size_prompts: 4,
    n_batches_in_buffer: 4,
    train_batch_size_tokens: 128,
    training_tokens: 128 * 12,
    lr: 1e-3,
    checkpoint_path: join(dir, "ck"),
    wandb_log_frequency: 1,
    feature_sampling_window: 4,
    ...extra,
  };
}

/** A test of the ONNX Runtime kind in a fresh temporary folder, removed when the test ends, passed or failed. */
function testInDir(name: string, fn: (dir: string) => Promise<void>): void {
  Deno.test(name, ORT, async () => {
    const dir = await Deno.makeTempDir();
    try {
      await fn(dir);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

/** The metrics lines of a run whose checkpoint_path is `dir`/ck, as smallRun's. */
async function readMetrics(dir: string) {
  return (await Deno.readTextFile(join(dir, "ck", "metrics.jsonl"))).trim().split("\n").map((l) => JSON.parse(l));
}

/**
 * Runs `sae train --config config` in a child process, sends it SIGTERM once its stderr (read as it comes) matches
 * `when`, and returns its exit code and everything it printed.
 */
async function trainStoppedWhen(
  config: string,
  when: RegExp,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "train", "--config", config],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = new Response(child.stdout).text();
  let stderr = "";
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  while (!when.test(stderr)) {
    const { value, done } = await reader.read();
    if (done) break;
    stderr += value;
  }
  child.kill("SIGTERM");
  for (let r = await reader.read(); !r.done; r = await reader.read()) stderr += r.value;
  const { code } = await child.status;
  return { code, stdout: await stdout, stderr };
}

/** A local corpus of about a thousand tokens, one document per line, in `dir`; its path. */
async function smallCorpus(dir: string): Promise<string> {
  const words = "the congress shall make no law respecting an establishment of religion or the press".split(" ");
  const lines = Array.from({ length: 60 }, (_, i) => words.map((_, j) => words[(i * 7 + j * 3) % words.length]));
  const path = join(dir, "corpus.txt");
  await Deno.writeTextFile(path, lines.map((l) => l.join(" ")).join("\n") + "\n");
  return path;
}

/** `sae train --cache-activations` of `tokens` into `dir`/cache, then a run from that cache into `dir`/from-cache. */
async function cacheThenTrain(config: string, dir: string, tokens: number) {
  const cache = join(dir, "cache");
  const cached = await runCli([
    "train",
    "--config",
    config,
    "--cache-activations",
    cache,
    "--training-tokens",
    `${tokens}`,
  ]);
  assertEquals(cached.code, 0, cached.stderr);
  const fromCache = await runCli([
    "train",
    "--config",
    config,
    "--cached-activations-path",
    cache,
    "--output-path",
    join(dir, "from-cache"),
  ]);
  assertEquals(fromCache.code, 0, fromCache.stderr);
  return { cache, fromCache };
}

async function writeConfig(dir: string, cfg: Record<string, unknown>): Promise<string> {
  const path = join(dir, "train.json");
  await Deno.writeTextFile(path, JSON.stringify(cfg));
  return path;
}

testInDir("sae train writes a SAELens v6 folder, sparsity, metrics with SAELens names and a report", async (dir) => {
  const config = await writeConfig(dir, smallRun(dir, { architecture: "standard", l1_coefficient: 2 }));
  const r = await runCli(["train", "--config", config, "--l1-coefficient", "3"]);
  assertEquals(r.code, 0, r.stderr);
  // stderr is a log here, not a terminal: what runs, on which device, progress with an ETA, then a summary
  const log = r.stderr.split("\n");
  assert(log[0].startsWith("sae train: model ") && log[0].endsWith("; loading"), log[0]);
  assert(
    /^sae train: device (WebGPU|cpu \(onnxruntime-node).*standard 128 → 64 at blocks\.2\.hook_resid_pre; 12 steps/.test(
      log[1],
    ),
    log[1],
  );
  assert(log.some((l) => /^sae train: \d+\/12 steps \(\d+%\), \d+ tokens, \d+ tokens\/s, ETA /.test(l)), r.stderr);
  assert(/^sae train: done, 12 steps in .*: L0 [\d.]+, EV -?[\d.]+, dead [\d.]+%$/.test(log.at(-1)!), r.stderr);
  const out = join(dir, "ck", "final");
  const cfg = JSON.parse(await Deno.readTextFile(join(out, "cfg.json")));
  assertEquals([cfg.architecture, cfg.d_in, cfg.d_sae, cfg.metadata.hook_name], [
    "standard",
    128,
    64,
    "blocks.2.hook_resid_pre",
  ]);
  const sae = await SAE.load(out, { gpu });
  assertEquals(sae.cfg.d_sae, 64);
  sae.destroy();
  const sparsity = (await readSafetensors(join(out, "sparsity.safetensors"))).tensors.get("sparsity")!;
  assertEquals(sparsity.shape, [64]);
  const lines = await readMetrics(dir);
  assertEquals(lines.length, 12);
  for (
    const key of [
      "losses/mse_loss",
      "losses/l1_loss",
      "metrics/explained_variance",
      "metrics/l0",
      "sparsity/dead_features",
      "details/current_learning_rate",
    ]
  ) assert(Number.isFinite(lines[11][key]), key);
  assertEquals(lines[11]["details/l1_coefficient"], 3); // the flag overrides the file
  assert(Number.isFinite(lines[3]["sparsity/below_1e-5"]));
  const report = await Deno.readTextFile(join(dir, "ck", "report.html"));
  assert(report.includes("<polyline") && report.includes("log10 feature density"));
});

testInDir("sae train --lp-norm trains a standard SAE on the p-norm and records it in runner_cfg.json", async (dir) => {
  const config = await writeConfig(dir, smallRun(dir, { architecture: "standard", device: "cpu" }));
  const r = await runCli(["train", "--config", config, "--lp-norm", "2"]);
  assertEquals(r.code, 0, r.stderr);
  const runner = JSON.parse(await Deno.readTextFile(join(dir, "ck", "final", "runner_cfg.json")));
  assertEquals([runner.architecture, runner.lp_norm], ["standard", 2]);
  const lines = await readMetrics(dir);
  assert(lines.every((l) => Number.isFinite(l["losses/l1_loss"]) && l["losses/l1_loss"] > 0));
});

for (const device of ["cpu", "webgpu"]) {
  testInDir(
    `sae train --resume on ${device} after kill -9 gives weights identical to an uninterrupted run`,
    async (dir) => {
      const steps = 40;
      const base = {
        architecture: "topk",
        k: 8,
        training_tokens: 128 * steps,
        n_checkpoints: steps,
        dead_feature_window: 3,
        device,
      };
      const whole = await writeConfig(dir, smallRun(join(dir, "whole"), base));
      assertEquals((await runCli(["train", "--config", whole])).code, 0);

      const partDir = join(dir, "part");
      const part = join(partDir, "part.json");
      await Deno.mkdir(partDir);
      await Deno.writeTextFile(part, JSON.stringify(smallRun(partDir, base)));
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", CLI, "train", "--config", part],
        stdout: "null",
        stderr: "null",
      }).spawn();
      const checkpoint = join(partDir, "ck", "checkpoint.safetensors");
      while (!(await Deno.stat(checkpoint).catch(() => undefined))) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, Math.random() * 300));
      child.kill("SIGKILL");
      const status = await child.status;
      assertEquals(status.signal, "SIGKILL", "the run was killed before it finished");
      const { meta } = await readCheckpoint(join(partDir, "ck"));
      assert(meta.step > 0 && meta.step < steps, `checkpoint at step ${meta.step}`);

      const resumed = await runCli(["train", "--config", part, "--resume", join(partDir, "ck")]);
      assertEquals(resumed.code, 0, resumed.stderr);
      const a = await Deno.readFile(join(dir, "whole", "ck", "final", "sae_weights.safetensors"));
      const b = await Deno.readFile(join(partDir, "ck", "final", "sae_weights.safetensors"));
      assertEquals(b, a);
      const metricsA = await Deno.readTextFile(join(dir, "whole", "ck", "metrics.jsonl"));
      assertEquals(await Deno.readTextFile(join(partDir, "ck", "metrics.jsonl")), metricsA);

      // SIGTERM, as a scheduler stops a job: a checkpoint at the step it stopped, exit 130, and the same end on resume
      const termDir = join(dir, "term");
      const term = join(termDir, "term.json");
      await Deno.mkdir(termDir);
      await Deno.writeTextFile(term, JSON.stringify(smallRun(termDir, base)));
      const termed = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", CLI, "train", "--config", term],
        stdout: "piped",
        stderr: "null",
      }).spawn();
      const termCheckpoint = join(termDir, "ck", "checkpoint.safetensors");
      while (!(await Deno.stat(termCheckpoint).catch(() => undefined))) await new Promise((r) => setTimeout(r, 20));
      termed.kill("SIGTERM");
      const termOut = await termed.output();
      assertEquals(termOut.code, 130, "SIGTERM stops the run with a checkpoint");
      assert(new TextDecoder().decode(termOut.stdout).includes("continue with --resume"));
      const termed2 = await runCli(["train", "--config", term, "--resume", join(termDir, "ck")]);
      assertEquals(termed2.code, 0, termed2.stderr);
      assertEquals(await Deno.readFile(join(termDir, "ck", "final", "sae_weights.safetensors")), a);
    },
  );
}

testInDir("sae train --resume refuses a checkpoint it cannot continue, and cleans what a kill left", async (dir) => {
  const config = await writeConfig(
    dir,
    smallRun(dir, { architecture: "topk", k: 8, training_tokens: 128 * 4, n_checkpoints: 4 }),
  );
  assertEquals((await runCli(["train", "--config", config])).code, 0);
  const ck = join(dir, "ck");
  const good = await readCheckpoint(ck);
  assertEquals(good.meta.step, 3);
  const resumeWith = async (edit: (c: typeof good) => void) => {
    const c = await readCheckpoint(ck);
    edit(c);
    const folder = await Deno.makeTempDir({ dir });
    await writeCheckpoint(folder, c);
    return await runCli(["train", "--config", config, "--resume", folder]);
  };
  const far = await resumeWith((c) => c.meta.step = 1e9);
  assertEquals(far.code, 1);
  assert(far.stderr.includes("is at step 1000000000: a run of 4 steps writes them at steps 1 to 3"), far.stderr);
  const noEncoder = await resumeWith((c) => c.tensors.delete("sae0.param.W_enc"));
  assertEquals(noEncoder.code, 1);
  assert(noEncoder.stderr.includes("tensor W_enc is missing"), noEncoder.stderr);
  const badMeta = await resumeWith((c) => (c.meta as unknown as Record<string, unknown>).saes = 3);
  assert(badMeta.stderr.includes("checkpoint field saes is 3: expected a list"), badMeta.stderr);

  // a metrics line cut off by a kill is dropped; a temporary checkpoint left by one is removed
  const metrics = join(ck, "metrics.jsonl");
  const whole = await Deno.readTextFile(metrics);
  const upTo3 = whole.split("\n").slice(0, 3).join("\n") + "\n";
  await Deno.writeTextFile(metrics, upTo3 + whole.split("\n")[3].slice(0, 10));
  const stale = join(ck, `.checkpoint.safetensors.${crypto.randomUUID()}.tmp`);
  await Deno.writeTextFile(stale, "partial");
  const resumed = await runCli(["train", "--config", config, "--resume", ck]);
  assertEquals(resumed.code, 0, resumed.stderr);
  assertEquals(await Deno.readTextFile(metrics), whole);
  assertEquals(await Deno.stat(stale).catch(() => undefined), undefined);
});

testInDir("sae train stops on a non-finite loss and keeps the last good checkpoint", async (dir) => {
  // A coefficient that overflows float32 once it has warmed up past step 4.
  const cfg = smallRun(dir, { l1_coefficient: 3e38, l1_warm_up_steps: 8, n_checkpoints: 12 });
  const r = await runCli(["train", "--config", await writeConfig(dir, cfg)]);
  assertEquals(r.code, 1);
  assert(/non-finite/.test(r.stderr) && /last good checkpoint/.test(r.stderr), r.stderr);
  const { meta, tensors } = await readCheckpoint(join(dir, "ck"));
  assert(meta.step >= 1, `checkpoint at step ${meta.step}`);
  for (const [name, t] of tensors) assert(t.every(Number.isFinite), `${name} is finite`);
});

testInDir(
  "sae train stopping on a non-finite loss before any checkpoint says there is nothing to resume",
  async (dir) => {
    const cfg = smallRun(dir, { l1_coefficient: 3e38, l1_warm_up_steps: 8, n_checkpoints: 0 });
    const r = await runCli(["train", "--config", await writeConfig(dir, cfg)]);
    assertEquals(r.code, 1);
    assert(/non-finite/.test(r.stderr) && /no checkpoint was written before it/.test(r.stderr), r.stderr);
    assert(!/last good checkpoint|--resume/.test(r.stderr), r.stderr);
  },
);

testInDir(
  "sae train refuses a checkpoint_path another run holds, and an output_path it cannot write, before any step",
  async (dir) => {
    const config = await writeConfig(dir, smallRun(dir, { training_tokens: 128 * 400 }));
    const first = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, "train", "--config", config],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    try {
      // the first run holds the folder once its lock file names it
      const lockFile = join(dir, "ck", ".sae.lock");
      for (let i = 0; i < 600 && !(await Deno.readTextFile(lockFile).catch(() => "")).includes("pid"); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const second = await runCli(["train", "--config", config, "--seed", "2"]);
      assertEquals(second.code, 1, second.stderr);
      assert(new RegExp(`ck is in use by sae train \\(pid ${first.pid}, since `).test(second.stderr), second.stderr);
    } finally {
      first.kill("SIGKILL");
      await first.output();
    }
    // killed, its lock went with it: the folder is free again (resumed here from its checkpoint or started anew)
    const file = join(dir, "not-a-folder");
    await Deno.writeTextFile(file, "");
    const started = Date.now();
    const r = await runCli(["train", "--config", config, "--output-path", join(file, "sae")]);
    assertEquals(r.code, 1, r.stderr);
    assert(/output_path .*not-a-folder\/sae cannot be written \(Not a directory\)/.test(r.stderr), r.stderr);
    assert(!/steps \(\d+%\)/.test(r.stderr), `no step ran: ${r.stderr}`);
    assert(Date.now() - started < 30_000);
  },
);

testInDir("sae train saves batchtopk as a JumpReLU SAE with its one running threshold", async (dir) => {
  const cfg = smallRun(dir, { architecture: "batchtopk", k: 8 });
  assertEquals((await runCli(["train", "--config", await writeConfig(dir, cfg)])).code, 0);
  const out = join(dir, "ck", "final");
  const saved = JSON.parse(await Deno.readTextFile(join(out, "cfg.json")));
  assertEquals(saved.architecture, "jumprelu");
  const weights = (await readSafetensors(join(out, "sae_weights.safetensors"))).tensors;
  const threshold = toFloat32(weights.get("threshold")!, "threshold");
  assert(threshold.every((t) => t > 0 && Math.abs(t - threshold[0]) < 1e-5 * threshold[0]), "one positive θ");
});

testInDir(
  "sae train --cache-activations then training from the cache equals training from the model",
  async (dir) => {
    const cfg = smallRun(dir, { architecture: "standard", b_dec_init_method: "mean" });
    const config = await writeConfig(dir, cfg);
    assertEquals((await runCli(["train", "--config", config])).code, 0);
    const { cache } = await cacheThenTrain(config, dir, 8192);
    assertEquals(
      await Deno.readFile(join(dir, "from-cache", "sae_weights.safetensors")),
      await Deno.readFile(join(dir, "ck", "final", "sae_weights.safetensors")),
    );
    // a damaged cache is refused before training, naming the shard or the field
    const shard = join(cache, "shard_00000.safetensors");
    const hook = "blocks.2.hook_resid_pre";
    const good = (await readSafetensors(shard)).tensors.get(hook)!;
    const trainFromCache = () =>
      runCli(["train", "--config", config, "--cached-activations-path", cache, "--output-path", join(dir, "bad")]);
    const damaged: [() => Promise<void>, RegExp][] = [
      [
        () =>
          writeSafetensors(shard, {
            [hook]: { shape: [good.shape[0] * 2, 64], data: new Float32Array(good.shape[0] * 128) },
          }),
        /shard_00000\.safetensors tensor "blocks\.2\.hook_resid_pre" has shape \[\d+,64\]: expected \[\d+,128\]/,
      ],
      [
        () =>
          writeSafetensors(shard, {
            [hook]: { shape: good.shape, data: new Float32Array(good.shape[0] * good.shape[1]) },
          }),
        /shard_00000\.safetensors tensor "blocks\.2\.hook_resid_pre" is all zeros: the cache is damaged/,
      ],
      [
        async () => {
          await writeSafetensors(shard, { [hook]: { shape: good.shape, data: toFloat32(good, hook) } });
          const info = JSON.parse(await Deno.readTextFile(join(cache, "cache_config.json")));
          await Deno.writeTextFile(join(cache, "cache_config.json"), JSON.stringify({ ...info, widths: ["128"] }));
        },
        /cache_config\.json: field widths is \["128"\]: expected a list of 1 positive integers/,
      ],
    ];
    for (const [damage, message] of damaged) {
      await damage();
      const r = await trainFromCache();
      assertEquals(r.code, 1, r.stderr);
      assert(message.test(r.stderr), r.stderr);
    }
  },
);

Deno.test("sae train names the field and what it expects on bad settings", async () => {
  const dir = await Deno.makeTempDir();
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ l1_coeficient: 5 }, /field l1_coeficient is not a training setting/],
    [{ lr: "fast" }, /field lr is "fast": expected a number/],
    [{ architecture: "sparse" }, /field architecture is "sparse": expected one of standard, topk/],
    [{ train_batch_size_tokens: 0 }, /train_batch_size_tokens is 0: expected a positive integer/],
    [{ hook_name: "blocks.9.hook_resid_pre" }, /blocks\.9/],
    [
      { train_batch_size_tokens: 1e12 },
      /training_tokens 1536 is less than one batch of train_batch_size_tokens 1000000000000/,
    ],
    [
      { train_batch_size_tokens: 2 ** 40, training_tokens: 2 ** 41 },
      /GiB of activations, more than this machine's [\d.]+ GiB/,
    ],
    [
      { device: "cpu", d_sae: 2 ** 24 },
      /training on the cpu device with train_batch_size_tokens 128 and d_sae 16777216 needs about [\d.]+ GiB .*: lower/,
    ],
    [{ device: "tpu" }, /field device is "tpu": expected one of auto, webgpu, cpu, cuda, cuda:N, mps/],
  ];
  for (const [bad, message] of cases) {
    const r = await runCli(["train", "--config", await writeConfig(dir, smallRun(dir, bad))]);
    assertEquals(r.code, 1, JSON.stringify(bad));
    assert(message.test(r.stderr), `${JSON.stringify(bad)}: ${r.stderr}`);
    assert(!r.stderr.includes("    at "), "no stack trace");
  }
  await Deno.remove(dir, { recursive: true });
});

testInDir("sae train refuses SAELens fields it does not implement and accepts those without effect", async (dir) => {
  const refused: [Record<string, unknown>, RegExp][] = [
    [{ hook_head_index: 3 }, /field hook_head_index is 3, which this trainer does not implement/],
    [{ normalize_activations: "layer_norm" }, /field normalize_activations is "layer_norm": expected one of none/],
    [{ dtype: "bfloat16" }, /field dtype is "bfloat16", which this trainer does not implement/],
    [{ lp_norm: 0.5 }, /field lp_norm is 0.5: expected a number >= 1 \(p of the sparsity term's norm\)/],
    [
      { lp_norm: 2, architecture: "topk" },
      /lp_norm 2 is implemented for the standard architecture only .*: current architecture is topk/,
    ],
    [
      { scale_sparsity_penalty_by_decoder_norm: false, architecture: "gated" },
      /scale_sparsity_penalty_by_decoder_norm false is implemented for the standard architecture only/,
    ],
    [{ model_from_pretrained_kwargs: 5 }, /field model_from_pretrained_kwargs is 5: expected a JSON object/],
    [{ saes: [{}, { dataset_path: "other" }] }, /saes\[1\] sets dataset_path "other": the SAEs of a run share/],
  ];
  for (const [bad, message] of refused) {
    const r = await runCli(["train", "--config", await writeConfig(dir, smallRun(dir, bad))]);
    assertEquals(r.code, 1, JSON.stringify(bad));
    assert(message.test(r.stderr), `${JSON.stringify(bad)}: ${r.stderr}`);
  }
  const accepted = { n_eval_batches: 10, device: "cuda", log_to_wandb: true, hook_head_index: null, dtype: "float32" };
  const ok = await runCli(["train", "--config", await writeConfig(dir, smallRun(dir, accepted))]);
  assertEquals(ok.code, 0, ok.stderr);
  const help = await runCli(["train", "--help"]);
  assert(/accepted in a config with no effect on the result here:\n(.|\n)*log_to_wandb/.test(help.stdout));
  assert(/accepted only at the value this trainer implements(.|\n)*hook_head_index/.test(help.stdout));
});

testInDir("trainSae() saves an honest, portable folder with its runner config, and returns the SAEs", async (dir) => {
  const relative = relativePath(Deno.cwd(), MODEL);
  const result = await trainSae(
    smallRun(dir, {
      model_name: relative,
      architecture: "topk",
      k: 8,
      normalize_activations: "expected_average_only_in",
      n_batches_for_norm_estimate: 2,
    }),
    { gpu },
  );
  try {
    assertEquals(result.saes.length, 1);
    assertEquals(result.saes[0].cfg.architecture, "topk");
    const out = result.outputs[0];
    const cfg = JSON.parse(await Deno.readTextFile(join(out, "cfg.json")));
    assertEquals(cfg.device, "cpu");
    assertEquals(cfg.normalize_activations, "none"); // the scale is folded in, as SAELens saves it
    assertEquals(cfg.metadata.model_name, MODEL.replace(/\/$/, ""));
    assertEquals(cfg.metadata.trained_with, "sae");
    assertEquals(cfg.metadata.model_from_pretrained_kwargs, { center_writing_weights: false });
    assertEquals("sae_lens_training_version" in cfg.metadata, false);
    const runner = JSON.parse(await Deno.readTextFile(join(out, "runner_cfg.json")));
    assertEquals([runner.architecture, runner.k, runner.normalize_activations], [
      "topk",
      8,
      "expected_average_only_in",
    ]);
    const lines = await readMetrics(dir);
    assertEquals(lines.some((l) => Object.keys(l).some((k) => k.includes("coefficient"))), false, "TopK has no λ");
  } finally {
    for (const sae of result.saes) sae.destroy();
  }
});

testInDir("sae train: ghost grads engage once latents are dead", async (dir) => {
  const cfg = smallRun(dir, {
    use_ghost_grads: true,
    l1_coefficient: 200,
    dead_feature_window: 2,
    lr: 0.05,
    training_tokens: 128 * 20,
  });
  assertEquals((await runCli(["train", "--config", await writeConfig(dir, cfg)])).code, 0);
  const lines = await readMetrics(dir);
  const engaged = lines.filter((l) => l["sparsity/dead_features"] > 0);
  assert(engaged.length > 0, "some latents died");
  for (const l of engaged) assert(l["losses/ghost_grad_loss"] > 0, `step ${l.step}: ghost_grad_loss`);
  for (const l of lines.filter((l) => l["sparsity/dead_features"] === 0)) {
    assertEquals(l["losses/ghost_grad_loss"], undefined);
  }
});

testInDir("trainSae() evaluates the SAE spliced into the model every eval_every_n_wandb_logs lines", async (dir) => {
  const config = smallRun(dir, {
    wandb_log_frequency: 2,
    eval_every_n_wandb_logs: 2,
    n_eval_batches: 1,
    eval_batch_size_prompts: 2,
  });
  const result = await trainSae(config, { gpu });
  const run = await openTrainingRun(config, "test");
  try {
    const lines = await readMetrics(dir);
    const evaluated = lines.filter((l) => "model_performance_preservation/ce_loss_score" in l).map((l) => l.step);
    assertEquals(evaluated, [4, 8, 12]);
    // the third evaluation read rows 4 and 5 with the SAE as saved at the last step
    const rows = run.rows();
    for (let i = 0; i < 4; i++) await rows.next();
    const two = [(await rows.next()).value, (await rows.next()).value];
    const m = await evaluateSae(
      run.model!,
      result.saes[0],
      (async function* () {
        yield* two;
      })(),
      { batchSize: 2 },
    );
    const last = lines.at(-1);
    for (
      const [name, value] of [
        ["model_performance_preservation/ce_loss_score", m.ce_loss_score],
        ["model_performance_preservation/ce_loss_with_sae", m.ce_sae],
        ["model_behavior_preservation/kl_div_with_sae", m.kl_div_sae],
        ["reconstruction_quality/explained_variance", m.explained_variance],
      ] as const
    ) assert(Math.abs(last[name] - value) < 1e-5, `${name}: ${last[name]} vs ${value}`);
  } finally {
    for (const sae of result.saes) sae.destroy();
    await run.dispose();
  }
});

for (const device of ["cpu", "webgpu"]) {
  testInDir(
    `trainSae() on ${device} trains two SAEs from one forward pass, each with its resampling window`,
    async (dir) => {
      const result = await trainSae(
        smallRun(dir, {
          device,
          resample_steps: 4,
          saes: [{ architecture: "standard", l1_coefficient: 40 }, { architecture: "topk", k: 4, d_sae: 32 }],
        }),
        { gpu },
      );
      try {
        assertEquals(result.saes.map((s) => [s.cfg.architecture, s.cfg.d_sae, s.device]), [
          ["standard", 64, device],
          ["topk", 32, device],
        ]);
        const lines = await readMetrics(dir);
        for (const sae of [0, 1]) assertEquals(lines.filter((l) => l.sae === sae).length, 12);
        // the resampling window closes every 4 steps for each SAE (which latents it finds dead: tests/train)
        for (const sae of [0, 1]) {
          const counted = lines.filter((l) => l.sae === sae && l["sparsity/resampled_features"] !== undefined);
          assertEquals(counted.map((l) => l.step), [4, 8]);
        }
        assert(lines.every((l) => Number.isFinite(l["losses/mse_loss"])));
      } finally {
        for (const sae of result.saes) sae.destroy();
      }
    },
  );
}

testInDir("sae train --resume DIR alone continues the run with the checkpoint's settings", async (dir) => {
  // a checkpoint every 4 of 12 steps: the last one, at step 8, stays in ck beside the finished run
  const config = await writeConfig(dir, smallRun(dir, { architecture: "topk", k: 8, n_checkpoints: 3 }));
  assertEquals((await runCli(["train", "--config", config])).code, 0);
  const ck = join(dir, "ck");
  const whole = await Deno.readFile(join(ck, "final", "sae_weights.safetensors"));
  await Deno.remove(join(ck, "final"), { recursive: true });

  // no config: the model, data and every setting come from the checkpoint
  const resumed = await runCli(["train", "--resume", ck, "--wandb-log-frequency", "2"]);
  assertEquals(resumed.code, 0, resumed.stderr);
  const log = resumed.stderr.split("\n");
  assert(log[0].startsWith(`sae train: resuming ${ck} after step 8: model ${MODEL.replace(/\/$/, "")}, `), log[0]);
  assert(/topk 128 → 64 at blocks\.2\.hook_resid_pre; 12 steps/.test(log[1]), log[1]);
  // the resumed steps only: the first line (step 9) has neither a rate nor an ETA, which later lines measure from it
  const first = log.find((l) => /^sae train: \d+\/12 steps/.test(l))!;
  assert(first.startsWith("sae train: 9/12 steps (75%), 1152 tokens, L0 "), first);
  assertEquals(await Deno.readFile(join(ck, "final", "sae_weights.safetensors")), whole);
  const runner = JSON.parse(await Deno.readTextFile(join(ck, "final", "runner_cfg.json")));
  assertEquals([runner.architecture, runner.k, runner.wandb_log_frequency], ["topk", 8, 2]);

  // any other change is refused, each field named with its old and new value, and no settings dump
  const changed = await runCli(["train", "--resume", ck, "--k", "4", "--lr", "0.5"]);
  assertEquals(changed.code, 1);
  assert(changed.stderr.includes("k was 8, now 4; lr was 0.001, now 0.5."), changed.stderr);
  assert(!changed.stderr.includes("{"), changed.stderr);
  // so is a config file that differs from the run's (the file's other fields equal the checkpoint's)
  const other = await writeConfig(dir, smallRun(dir, { architecture: "topk", k: 8, n_checkpoints: 3, seed: 7 }));
  const byFile = await runCli(["train", "--config", other, "--resume", ck]);
  assertEquals(byFile.code, 1);
  assert(/was written with other settings: seed was 42, now 7\. /.test(byFile.stderr), byFile.stderr);
});

testInDir("sae train stopped by a signal says so in order, never done, and resumes from the folder", async (dir) => {
  const config = await writeConfig(dir, smallRun(dir, { training_tokens: 128 * 60 }));
  // signal once training has started (a progress line)
  const { code, stdout: out, stderr } = await trainStoppedWhen(config, / \d+\/60 steps/);
  assertEquals(code, 130, stderr);
  const notice = stderr.indexOf("sae train: stopping after this step, with a checkpoint");
  const stopped = stderr.search(/sae train: stopped at \d+\/60 steps after /);
  assert(notice >= 0 && stopped > notice, stderr);
  assert(!stderr.includes("sae train: done"), stderr);
  const step = Number(/^Stopped at step (\d+): checkpoint /.exec(out)?.[1]);
  assert(step > 0 && step < 60, out);
  assert(out.includes(`continue with --resume ${join(dir, "ck")}`), out);
  const resumed = await runCli(["train", "--resume", join(dir, "ck")]);
  assertEquals(resumed.code, 0, resumed.stderr);
  assert(resumed.stderr.includes(`sae train: ${step + 1}/60 steps`), resumed.stderr);
});

testInDir("sae train stopped during the norm estimate stops at once, with nothing to resume", async (dir) => {
  const config = await writeConfig(
    dir,
    smallRun(dir, { normalize_activations: "expected_average_only_in", n_batches_for_norm_estimate: 100_000 }),
  );
  const { code, stdout, stderr } = await trainStoppedWhen(config, /estimating the input norm: 0\/100000 batches/);
  assertEquals(code, 130, stderr);
  assert(stderr.includes("sae train: stopping the norm estimate, before any step"), stderr);
  assert(/sae train: estimating the input norm: stopped at \d+\/100000 batches after /.test(stderr), stderr);
  assertEquals(stdout.trim(), "Stopped before step 1: no checkpoint written");
  assertEquals(await Deno.stat(join(dir, "ck", "checkpoint.safetensors")).catch(() => undefined), undefined);
});

testInDir(
  "sae train n_checkpoints writes a loadable SAE folder per checkpoint, as SAELens names them",
  async (dir) => {
    const config = await writeConfig(dir, smallRun(dir, { n_checkpoints: 3, b_dec_init_method: "mean" }));
    const r = await runCli(["train", "--config", config]);
    assertEquals(r.code, 0, r.stderr);
    const ck = join(dir, "ck");
    // SAELens's thresholds for 1536 tokens and 3 checkpoints: 512 and 1024 tokens
    assert(r.stdout.includes(`Checkpoints (SAE folders, as SAELens writes them): ${ck}/512, ${ck}/1024`), r.stdout);
    for (const tokens of [512, 1024]) {
      const folder = join(ck, String(tokens));
      const sae = await SAE.load(folder, { device: "cpu" });
      assertEquals([sae.cfg.architecture, sae.cfg.d_sae], ["standard", 64]);
      sae.destroy();
      const sparsity = (await readSafetensors(join(folder, "sparsity.safetensors"))).tensors.get("sparsity")!;
      assertEquals(sparsity.shape, [64]);
      assertEquals(JSON.parse(await Deno.readTextFile(join(folder, "runner_cfg.json"))).n_checkpoints, 3);
    }
    assert((await readCheckpoint(ck)).meta.step === 8, "the resumable state stays beside them");
    // the checkpoint after 1024 tokens is the SAE a run of 1024 tokens saves
    const short = join(dir, "short");
    await Deno.mkdir(short);
    const shortRun = await runCli([
      "train",
      "--config",
      await writeConfig(short, smallRun(short, { training_tokens: 1024, b_dec_init_method: "mean" })),
    ]);
    assertEquals(shortRun.code, 0, shortRun.stderr);
    assertEquals(
      await Deno.readFile(join(ck, "1024", "sae_weights.safetensors")),
      await Deno.readFile(join(short, "ck", "final", "sae_weights.safetensors")),
    );
  },
);

testInDir(
  "sae train sweep: each SAE in its own output_path, every SAE in the progress, compared in the report",
  async (dir) => {
    const sweep = [1, 3, 5].map((l1) => ({ l1_coefficient: l1, output_path: join(dir, `l1_${l1}`) }));
    const config = await writeConfig(
      dir,
      smallRun(dir, {
        saes: sweep,
        eval_every_n_wandb_logs: 12,
        n_eval_batches: 1,
        eval_batch_size_prompts: 2,
      }),
    );
    const r = await runCli(["train", "--config", config]);
    assertEquals(r.code, 0, r.stderr);
    assert(
      /^sae train: 12\/12 steps .*, L0 [\d.]+\|[\d.]+\|[\d.]+, EV (-?[\d.]+\|){2}-?[\d.]+, dead ([\d.]+\|){2}[\d.]+%$/m
        .test(r.stderr),
      r.stderr,
    );
    for (const l1 of [1, 3, 5]) {
      const folder = join(dir, `l1_${l1}`);
      assert(r.stdout.includes(`Saved ${folder}: `), r.stdout);
      const runner = JSON.parse(await Deno.readTextFile(join(folder, "runner_cfg.json")));
      assertEquals([runner.output_path, runner.l1_coefficient], [folder, l1]);
      (await SAE.load(folder, { device: "cpu" })).destroy();
    }
    const report = await Deno.readTextFile(join(dir, "ck", "report.html"));
    assert(report.includes('id="sweep"') && report.includes("L0 against explained variance"), "sweep section");
    assert(report.includes("L0 against CE loss score"), "CE comparison");
    assertEquals(report.match(/<g class="point">/g)?.length, 6, "one point per SAE in each plot");
    for (const l1 of [1, 3, 5]) assert(report.includes(`>l1_coefficient ${l1}</text>`), `label of l1 ${l1}`);
    assertEquals(report.match(/<tr><td>l1_coefficient \d/g)?.length, 3, "a verdict row per SAE");

    // two SAEs saving to one folder, or one inside another's, are refused before any step
    const clash: [Record<string, unknown>, RegExp][] = [
      [
        { saes: [{ output_path: join(dir, "a") }, { output_path: join(dir, "a") }] },
        /saes\[1\]\.output_path ".*\/a" is also where saes\[0\]\.output_path saves: give each SAE its own output_path/,
      ],
      [
        { output_path: join(dir, "b"), saes: [{ output_path: join(dir, "b") }, {}] },
        /saes\[1\]\.output_path ".*\/b\/1" lies inside saes\[0\]\.output_path ".*\/b"/,
      ],
    ];
    for (const [bad, message] of clash) {
      const c = await runCli(["train", "--config", await writeConfig(dir, smallRun(dir, bad))]);
      assertEquals(c.code, 1, JSON.stringify(bad));
      assert(message.test(c.stderr), c.stderr);
      assert(!c.stderr.includes("sae train: device"), "refused before the run starts");
    }
  },
);

testInDir("sae train reports the norm estimate, the buffer's fill and evaluations as they go", async (dir) => {
  const config = await writeConfig(
    dir,
    smallRun(dir, { normalize_activations: "expected_average_only_in", n_batches_for_norm_estimate: 5 }),
  );
  const r = await runCli(["train", "--config", config]);
  assertEquals(r.code, 0, r.stderr);
  const log = r.stderr.split("\n");
  const at = (pattern: RegExp) => log.findIndex((l) => pattern.test(l));
  const estimate = at(/^sae train: estimating the input norm: 0\/5 batches \(0%\)$/);
  const estimated = at(/^sae train: estimating the input norm: done, 5 batches in /);
  const step1 = at(/^sae train: 1\/12 steps/);
  assert(1 < estimate && estimate < estimated && estimated < step1, r.stderr);

  const plain = await runCli(["train", "--config", await writeConfig(dir, smallRun(dir))]);
  const fill = plain.stderr.split("\n");
  const filling = fill.findIndex((l) => l === "sae train: filling the mixing buffer: 0/512 tokens (0%)");
  const filled = fill.findIndex((l) => /^sae train: filling the mixing buffer: done, 512 tokens in /.test(l));
  assert(1 < filling && filling < filled && filled < fill.findIndex((l) => /^sae train: 1\/12/.test(l)), plain.stderr);

  // each evaluation reports its rows (shown once it takes a couple of seconds)
  const phases: PhaseProgress[] = [];
  const result = await trainSae(
    smallRun(join(dir, "eval"), { wandb_log_frequency: 4, eval_every_n_wandb_logs: 3, n_eval_batches: 2 }),
    { onPhase: (p) => phases.push(p) },
  );
  for (const sae of result.saes) sae.destroy();
  const evaluating = phases.filter((p) => p.phase === "evaluating");
  assertEquals(evaluating.map((p) => [p.sae, p.done, p.total]), [[0, 0, 8], [0, 4, 8], [0, 8, 8]]);
});

testInDir(
  "sae train sweep field: a grid of SAEs in folders named after their values, resumed from the folder",
  async (dir) => {
    const config = await writeConfig(dir, smallRun(dir, { sweep: { l1_coefficient: [1, 3] }, n_checkpoints: 3 }));
    const r = await runCli(["train", "--config", config]);
    assertEquals(r.code, 0, r.stderr);
    const ck = join(dir, "ck");
    const folders = [join(ck, "final", "l1_coefficient_1"), join(ck, "final", "l1_coefficient_3")];
    const weights = await Promise.all(folders.map((f) => Deno.readFile(join(f, "sae_weights.safetensors"))));
    assert(r.stdout.includes(`${ck}/1024/0, ${ck}/1024/1`), r.stdout);
    await Deno.remove(join(ck, "final"), { recursive: true });
    const resumed = await runCli(["train", "--resume", ck]);
    assertEquals(resumed.code, 0, resumed.stderr);
    for (const [i, folder] of folders.entries()) {
      assertEquals(await Deno.readFile(join(folder, "sae_weights.safetensors")), weights[i]);
    }
  },
);

Deno.test(
  "sae train runs both configs of TRAINING_CONFIGS.md as written (model, dataset and sizes swapped)",
  ORT,
  async () => {
    const dir = await Deno.makeTempDir();
    const swapped = {
      model_name: MODEL,
      dataset_path: await smallCorpus(dir),
      context_size: 32,
      store_batch_size_prompts: 4,
    };
    const tutorial = {
      model_name: "gpt2-small",
      hook_name: "blocks.6.hook_resid_pre",
      hook_layer: 6,
      d_in: 768,
      architecture: "standard",
      d_sae: 6144,
      activation_fn: "relu",
      lr: 4e-4,
      l1_coefficient: 8e-5,
      l1_warm_up_steps: 1000,
      train_batch_size_tokens: 4096,
      training_tokens: 10000000,
      dataset_path: "monology/pile-uncopyrighted",
      streaming: true,
      context_size: 128,
      use_ghost_grads: true,
      dead_feature_window: 5000,
      log_to_wandb: true,
      wandb_project: "sae-training-demo",
      device: "cuda",
      dtype: "float32",
    };
    const guide = {
      model_name: "gpt2-small",
      hook_point: "blocks.8.hook_resid_pre",
      hook_point_layer: 8,
      d_in: 768,
      expansion_factor: 16,
      architecture: "standard",
      l1_coefficient: 0.001,
      lr: 3e-4,
      lr_scheduler_name: "cosine",
      lr_warm_up_steps: 1000,
      training_tokens: 1000000000,
      batch_size: 4096,
      autocast: true,
      dead_feature_window: 5000,
      dead_feature_threshold: 1e-8,
      feature_sampling_window: 1000,
      dataset_path: "Skylion007/openwebtext",
      context_size: 128,
      prepend_bos: true,
      checkpoint_path: "checkpoints/",
      n_checkpoints: 10,
      log_to_wandb: true,
      wandb_project: "sae-training",
    };
    // the fixture model has 4 layers of width 128; steps and warm-ups cut to seconds
    const cut = { training_tokens: 128 * 6, l1_warm_up_steps: 2, lr_warm_up_steps: 2, eval_every_n_wandb_logs: 0 };
    const runs: [string, Record<string, unknown>, Record<string, unknown>][] = [
      ["tutorial", tutorial, {
        hook_name: "blocks.2.hook_resid_pre",
        hook_layer: 2,
        d_in: 128,
        d_sae: 256,
        train_batch_size_tokens: 128,
      }],
      ["guide", guide, {
        hook_point: "blocks.3.hook_resid_pre",
        hook_point_layer: 3,
        d_in: 128,
        batch_size: 128,
        n_checkpoints: 0,
      }],
    ];
    for (const [name, cfg, shape] of runs) {
      const checkpoint_path = join(dir, name);
      const config = await writeConfig(dir, { ...cfg, ...swapped, ...cut, ...shape, checkpoint_path });
      const r = await runCli(["train", "--config", config, "--device", "cpu"]);
      assertEquals(r.code, 0, `${name}: ${r.stderr}`);
      assert(r.stderr.includes("sae train: log_to_wandb true accepted: no W&B here"), r.stderr);
      const saved = JSON.parse(await Deno.readTextFile(join(checkpoint_path, "final", "runner_cfg.json")));
      if (name === "guide") {
        assert(r.stderr.includes('sae train: lr_scheduler_name "cosine" read as "cosineannealing"'), r.stderr);
        assert(r.stderr.includes("sae train: autocast true accepted: no mixed precision here"), r.stderr);
        assertEquals([saved.hook_name, saved.d_sae, saved.train_batch_size_tokens, saved.lr_scheduler_name], [
          "blocks.3.hook_resid_pre",
          2048,
          128,
          "cosineannealing",
        ]);
      } else {
        assertEquals([saved.hook_name, saved.d_sae, saved.use_ghost_grads], ["blocks.2.hook_resid_pre", 256, true]);
      }
    }
    await Deno.remove(dir, { recursive: true });
  },
);

Deno.test(
  "sae train samples across a corpus that fits, the same from the model and from its cache, and resumes exactly",
  ORT,
  async () => {
    const dir = await Deno.makeTempDir();
    const corpus = await smallCorpus(dir);
    const cfg = smallRun(dir, {
      architecture: "standard",
      b_dec_init_method: "mean",
      dataset_path: corpus,
      shuffle_whole_corpus: true,
    });
    const config = await writeConfig(dir, cfg);
    const fromModel = await runCli(["train", "--config", config]);
    assertEquals(fromModel.code, 0, fromModel.stderr);
    const sampling =
      /sae train: sampling across the whole corpus: (the activations of \d+ of its (\d+) rows|its (\d+) tokens)/
        .exec(fromModel.stderr);
    assert(sampling, fromModel.stderr);
    // reading the held rows' activations before step 1 reports its progress, as every phase outside the steps
    assert(
      /sae train: reading the corpus's activations: 0\/\d+ tokens \(0%\)\n/.test(fromModel.stderr),
      fromModel.stderr,
    );
    assert(
      /sae train: reading the corpus's activations: done, \d+ tokens in /.test(fromModel.stderr),
      fromModel.stderr,
    );
    const { fromCache } = await cacheThenTrain(config, dir, 1_000_000);
    assert(fromCache.stderr.includes(sampling[0]), fromCache.stderr);
    const weights = await Deno.readFile(join(dir, "ck", "final", "sae_weights.safetensors"));
    assertEquals(await Deno.readFile(join(dir, "from-cache", "sae_weights.safetensors")), weights);
    // stopped at a checkpoint and resumed: the same order of the corpus, the same SAE
    const parts = join(dir, "parts");
    const first = await runCli(["train", "--config", config, "--checkpoint-path", parts, "--n-checkpoints", "3"]);
    assertEquals(first.code, 0, first.stderr);
    const { meta } = await readCheckpoint(parts);
    assert(meta.served !== undefined && meta.served > 0, JSON.stringify(meta));
    await Deno.remove(join(parts, "final"), { recursive: true });
    const resumed = await runCli([
      "train",
      "--config",
      config,
      "--checkpoint-path",
      parts,
      "--n-checkpoints",
      "3",
      "--resume",
      parts,
    ]);
    assertEquals(resumed.code, 0, resumed.stderr);
    assertEquals(await Deno.readFile(join(parts, "final", "sae_weights.safetensors")), weights);
    await Deno.remove(dir, { recursive: true });
  },
);
