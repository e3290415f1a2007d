import assert from "node:assert/strict";
import { assertEquals } from "../_assert.ts";
import { resolveRunnerConfig } from "../../core/train/runner_config.ts";
import { learningRate } from "../../core/train/schedules.ts";
import { initialParameters } from "../../core/train/initial_parameters.ts";
import { SAE_TRAINING_DEFAULTS } from "../../core/train/sae_training_config.ts";
import { mulberry32 } from "../../core/util/mulberry32.ts";
import { SaeTrainer } from "../../core/train/sae_trainer.ts";

const width = () => 64;

Deno.test("resolveRunnerConfig() lists every field it cannot take in one error, unknown ones with the closest names", () => {
  const bad = {
    l1_coeficient: 5,
    lr: "fast",
    dtype: "bfloat16",
    hook_nmae: "blocks.1.hook_resid_pre",
    saes: [{ trainig_tokens: 5 }],
  };
  let message = "";
  try {
    resolveRunnerConfig(bad, "cfg.json", width);
  } catch (error) {
    assert(error instanceof TypeError);
    message = error.message;
  }
  assertEquals(message.split("\n").length, 1);
  for (
    const part of [
      "cfg.json: field l1_coeficient is not a training setting here (did you mean l1_coefficient",
      'field lr is "fast": expected a number',
      'field dtype is "bfloat16", which this trainer does not implement',
      "field hook_nmae is not a training setting here (did you mean hook_name",
      "saes[0] field trainig_tokens is not a training setting here (did you mean training_tokens",
    ]
  ) assert(message.includes(part), `${part} in ${message}`);
});

Deno.test("resolveRunnerConfig() reads SAELens's older names and says what it accepts without effect", () => {
  const { run, saes, notices } = resolveRunnerConfig(
    {
      hook_point: "blocks.1.hook_resid_pre",
      hook_point_layer: 1,
      expansion_factor: 16,
      batch_size: 256,
      training_tokens: 2560,
      lr_scheduler_name: "cosine",
      autocast: true,
      log_to_wandb: true,
      device: "cuda",
      normalize_sae_decoder: true,
      scale_sparsity_penalty_by_decoder_norm: false,
      decoder_heuristic_init: false,
      init_encoder_as_decoder_transpose: false,
      lp_norm: 1,
    },
    "guide.json",
    width,
  );
  assertEquals(
    [
      saes[0].hook_name,
      saes[0].d_sae,
      run.train_batch_size_tokens,
      run.lr_scheduler_name,
      saes[0].normalize_sae_decoder,
    ],
    ["blocks.1.hook_resid_pre", 1024, 256, "cosineannealing", true],
  );
  assertEquals(notices, [
    'lr_scheduler_name "cosine" read as "cosineannealing"',
    "autocast true accepted: no mixed precision here: the SAE trains in float32 (speed only)",
    "log_to_wandb true accepted: no W&B here: metrics go to metrics.jsonl and report.html",
    'device "cuda" read as auto (webgpu on a hardware GPU, else cpu)',
  ]);
  assertEquals(
    resolveRunnerConfig({ lr_scheduler_name: "CosineAnnealingWarmRestarts" }, "c", width).run.lr_scheduler_name,
    "cosineannealingwarmrestarts",
  );
});

Deno.test("learningRate() anneals to lr_end and decays from it, and restarts its cosine n_restart_cycles times", () => {
  const s = {
    lr: 1,
    lrSchedulerName: "cosineannealing" as const,
    lrWarmUpSteps: 2,
    lrDecaySteps: 2,
    lrEnd: 0.1,
    totalSteps: 10,
  };
  // warm-up 0.5, 1; cosine over 6 steps from 1 towards 0.1; then 0.1 decaying linearly to 0, as SAELens's LinearLR
  const lrs = Array.from({ length: 10 }, (_, t) => learningRate(s, t));
  assertEquals(lrs.slice(0, 3), [0.5, 1, 1]);
  assert(Math.abs(lrs[5] - (0.1 + 0.9 * (1 + Math.cos(Math.PI * 3 / 6)) / 2)) < 1e-12);
  assertEquals(lrs.slice(8), [0.1, 0.05]);
  const restarts = {
    ...s,
    lrSchedulerName: "cosineannealingwarmrestarts" as const,
    lrWarmUpSteps: 0,
    lrDecaySteps: 0,
    numCycles: 3,
    totalSteps: 9,
  };
  const r = Array.from({ length: 9 }, (_, t) => learningRate(restarts, t));
  assertEquals([r[0], r[3], r[6]], [1, 1, 1]);
  assert(r[1] < 1 && r[2] < r[1]);
});

Deno.test("initialParameters() follows SAELens's older init fields", () => {
  const base = { ...SAE_TRAINING_DEFAULTS, architecture: "standard" as const, d_in: 16, d_sae: 64 };
  const norm = (w: Float32Array, r: number, n: number) => Math.hypot(...w.subarray(r * n, (r + 1) * n));
  const heuristic = initialParameters(base, mulberry32(1));
  assert(Math.abs(norm(heuristic.get("W_dec")!, 3, 16) - 0.1) < 1e-6);
  const wEnc = heuristic.get("W_enc")!, wDec = heuristic.get("W_dec")!;
  assertEquals(wEnc[5 * 64 + 3], wDec[3 * 16 + 5]);
  const kaiming = initialParameters(
    { ...base, decoder_heuristic_init: false, init_encoder_as_decoder_transpose: false },
    mulberry32(1),
  );
  const dec = kaiming.get("W_dec")!, enc = kaiming.get("W_enc")!;
  const max = (w: Float32Array) => w.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  // torch's kaiming_uniform_ bounds: sqrt(6 / fan_in), fan_in d_in for W_dec [d_sae, d_in], d_sae for W_enc
  assert(max(dec) <= Math.sqrt(6 / 16) && max(dec) > 0.9 * Math.sqrt(6 / 16));
  assert(max(enc) <= Math.sqrt(6 / 64) && max(enc) > 0.9 * Math.sqrt(6 / 64));
  const unit = initialParameters({ ...base, normalize_sae_decoder: true }, mulberry32(1));
  assert(Math.abs(norm(unit.get("W_dec")!, 7, 16) - 1) < 1e-6);
});

Deno.test("SaeTrainer on the cpu device keeps a standard SAE's decoder rows at unit norm with normalize_sae_decoder", async () => {
  const cfg = {
    ...SAE_TRAINING_DEFAULTS,
    architecture: "standard" as const,
    d_in: 8,
    d_sae: 32,
    normalize_sae_decoder: true,
  };
  const trainer = SaeTrainer.create("cpu", cfg, mulberry32(2));
  try {
    const data = mulberry32(3);
    for (let t = 0; t < 3; t++) {
      await trainer.step(Float32Array.from({ length: 64 * 8 }, () => data() - 0.5), { lr: 1e-2, l1Coefficient: 1 });
    }
    const wDec = (await trainer.state()).tensors.get("W_dec")!;
    for (let j = 0; j < 32; j++) assert(Math.abs(Math.hypot(...wDec.subarray(j * 8, (j + 1) * 8)) - 1) < 1e-5);
  } finally {
    trainer.destroy();
  }
});

Deno.test("SaeTrainer on the cpu device puts a plain L1 on f with scale_sparsity_penalty_by_decoder_norm false", async () => {
  const base = { ...SAE_TRAINING_DEFAULTS, architecture: "standard" as const, d_in: 8, d_sae: 32 };
  const data = mulberry32(3);
  const x = Float32Array.from({ length: 64 * 8 }, () => data() - 0.5);
  const l1 = async (scale: boolean) => {
    const trainer = SaeTrainer.create("cpu", { ...base, scale_sparsity_penalty_by_decoder_norm: scale }, mulberry32(2));
    try {
      const r = await trainer.step(x, { lr: 1e-3, l1Coefficient: 1 });
      return r.losses.l1_loss;
    } finally {
      trainer.destroy();
    }
  };
  // the same start (decoder rows of norm 0.1): the plain L1 is ten times the one weighted by the norms
  const [weighted, plain] = [await l1(true), await l1(false)];
  assert(weighted > 0 && Math.abs(plain / weighted - 10) < 1e-3, `${weighted} ${plain}`);
});

Deno.test("resolveRunnerConfig() takes lp_norm at the top (SAELens before 6), in sae (6) and per SAE, p >= 1 for standard only", () => {
  const p = (raw: Record<string, unknown>) => resolveRunnerConfig(raw, "c", width).saes.map((s) => s.lp_norm);
  assertEquals(p({}), [1]);
  assertEquals(p({ architecture: "standard", lp_norm: 2 }), [2]);
  assertEquals(p({ sae: { architecture: "standard", lp_norm: 1.5 } }), [1.5]);
  assertEquals(p({ saes: [{ lp_norm: 3 }, {}], output_path: "" }), [3, 1]);
  assertEquals(p({ architecture: "topk", lp_norm: 1 }), [1]);
  assert.throws(
    () => resolveRunnerConfig({ lp_norm: 0.9 }, "c", width),
    (e: Error) =>
      e instanceof RangeError &&
      e.message === "c: field lp_norm is 0.9: expected a number >= 1 (p of the sparsity term's norm)",
  );
  assert.throws(
    () => resolveRunnerConfig({ lp_norm: "2" }, "c", width),
    (e: Error) => e instanceof TypeError && e.message === 'c: field lp_norm is "2": expected a number',
  );
  assert.throws(
    () => resolveRunnerConfig({ sae: { architecture: "jumprelu", lp_norm: 2 } }, "c", width),
    (e: Error) =>
      e instanceof RangeError &&
      e.message ===
        "c: lp_norm 2 is implemented for the standard architecture only (the others' sparsity terms take no p): current architecture is jumprelu",
  );
});
