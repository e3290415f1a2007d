import assert from "node:assert/strict";
import { assertEquals } from "../_assert.ts";
import { maxAbsDiff } from "../_reference.ts";
import { gpu } from "../_gpu.ts";
import { SaeTrainer } from "../../core/train/sae_trainer.ts";
import {
  SAE_TRAINING_DEFAULTS,
  type SaeTrainingConfig,
  type TrainArchitecture,
  unitNormDecoder,
} from "../../core/train/sae_training_config.ts";
import { mulberry32 } from "../../core/util/mulberry32.ts";
import { resampleDeadLatents } from "../../core/train/resample_dead.ts";
import { jumpReluThresholdGrad, type Params, referenceLoss } from "./_reference_loss.ts";

const D = 8, S = 32, B = 16;

function config(architecture: TrainArchitecture, overrides: Partial<SaeTrainingConfig> = {}): SaeTrainingConfig {
  return {
    ...SAE_TRAINING_DEFAULTS,
    architecture,
    d_in: D,
    d_sae: S,
    k: 4,
    matryoshka_widths: [4, 12],
    dead_feature_window: 5,
    ...overrides,
  };
}

function batch(seed: number): Float32Array {
  const rng = mulberry32(seed);
  return Float32Array.from({ length: B * D }, (_, i) => (rng() - 0.5) * 2 + (i % D) * 0.1);
}

/** Latents 0, 5, 10, … marked dead (beyond the window). */
function deadState(cfg: SaeTrainingConfig): Float32Array {
  return Float32Array.from({ length: S }, (_, j) => j % 5 === 0 ? cfg.dead_feature_window + 1 : 0);
}

type Device = "webgpu" | "cpu";
const DEVICES: Device[] = ["webgpu", "cpu"];
const on = (device: Device) => device === "cpu" ? "cpu" : gpu;

async function checkGradients(
  device: Device,
  cfg: SaeTrainingConfig,
  dead: boolean,
  l1 = 0.3,
  sparse?: boolean,
): Promise<void> {
  const x = batch(7);
  const rng = mulberry32(3);
  const sinceFired = dead ? deadState(cfg) : new Float32Array(S);
  const trainer = SaeTrainer.create(on(device), cfg, rng, { sinceFired }, { sparse });
  try {
    const start = (await trainer.state()).tensors;
    const params: Params = new Map(
      [...start].filter(([n]) => !n.includes(".")).map(([n, v]) => [n, Float64Array.from(v)]),
    );
    // Small biases so every parameter carries gradient.
    const result = await trainer.step(x, { lr: 0, l1Coefficient: l1 });
    const grads = await trainer.gradients();
    const deadMask = Uint8Array.from(sinceFired, (v) => v > cfg.dead_feature_window ? 1 : 0);
    const input = { cfg, x, l1, dead: deadMask };
    const { loss, frozen } = referenceLoss(params, input);
    assert(Math.abs(loss - result.loss) <= 1e-4 * Math.abs(loss), `loss ${result.loss} vs reference ${loss}`);
    for (const [name, value] of params) {
      const gpuGrad = grads.get(name)!;
      if (name === "log_threshold") {
        const ste = jumpReluThresholdGrad(params, input);
        assert(ste.some((v) => v !== 0), "some pre-activations fall inside the bandwidth");
        compare(`${cfg.architecture} ${name}`, gpuGrad, ste);
        continue;
      }
      const fd = new Float64Array(value.length);
      for (let i = 0; i < value.length; i++) {
        const keep = value[i];
        const h = 1e-5;
        value[i] = keep + h;
        const up = referenceLoss(params, input, frozen).loss;
        value[i] = keep - h;
        const down = referenceLoss(params, input, frozen).loss;
        value[i] = keep;
        fd[i] = (up - down) / (2 * h);
      }
      if (name === "W_dec" && unitNormDecoder(cfg)) {
        for (let j = 0; j < S; j++) {
          const row = value.subarray(j * D, (j + 1) * D), g = fd.subarray(j * D, (j + 1) * D);
          const c = row.reduce((s, w, d) => s + w * g[d], 0) / row.reduce((s, w) => s + w * w, 0);
          for (let d = 0; d < D; d++) g[d] -= c * row[d];
        }
      }
      compare(`${cfg.architecture} ${name}`, gpuGrad, fd);
    }
  } finally {
    trainer.destroy();
  }
}

function compare(what: string, actual: Float32Array, expected: Float64Array): void {
  const scale = Math.max(...expected.map(Math.abs));
  assert(scale > 0, `${what}: the reference gradient is zero everywhere`);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  assert(worst <= 1e-3 * scale + 1e-6, `${what}: largest difference ${worst} against a scale of ${scale}`);
}

for (const device of DEVICES) {
  for (const arch of ["standard", "topk", "batchtopk", "jumprelu", "gated", "matryoshka_batchtopk"] as const) {
    Deno.test(`SaeTrainer.step() on ${device}: gradients of ${arch} match finite differences`, async () => {
      await checkGradients(device, config(arch), false);
    });
  }

  for (const arch of ["topk", "batchtopk", "matryoshka_batchtopk"] as const) {
    Deno.test(`SaeTrainer.step() on ${device}: gradients of ${arch} with AuxK on dead latents match finite differences`, async () => {
      await checkGradients(device, config(arch, { aux_loss_coefficient: 0.5 }), true);
    });
  }

  Deno.test(`SaeTrainer.step() on ${device}: gradients with ghost grads on dead latents match finite differences`, async () => {
    await checkGradients(device, config("standard", { use_ghost_grads: true }), true);
  });

  Deno.test(`SaeTrainer.step() on ${device}: SAELens's older sparsity and decoder fields match finite differences`, async () => {
    await checkGradients(device, config("standard", { scale_sparsity_penalty_by_decoder_norm: false }), false);
    await checkGradients(device, config("standard", { normalize_sae_decoder: true }), false);
    await checkGradients(device, config("gated", { normalize_sae_decoder: true }), false);
  });

  Deno.test(`SaeTrainer.step() on ${device}: the loss and gradients of lp_norm 2 and 1.5 match finite differences`, async () => {
    // a large λ so the p-norm's share of every gradient is well above the tolerance
    for (const lp_norm of [2, 1.5]) await checkGradients(device, config("standard", { lp_norm }), false, 3);
    await checkGradients(device, config("standard", { lp_norm: 1.5, use_ghost_grads: true }), true, 3);
    const plain = { lp_norm: 2, scale_sparsity_penalty_by_decoder_norm: false };
    await checkGradients(device, config("standard", plain), false, 3);
  });

  Deno.test(`SaeTrainer.step() on ${device}: without b_dec on the input matches finite differences`, async () => {
    for (const arch of ["gated", "topk"] as const) {
      await checkGradients(device, config(arch, { apply_b_dec_to_input: false }), false);
    }
  });
}

Deno.test("SaeTrainer.step() on cpu: TopK's gradients summed on the host from the kept latents match finite differences", async () => {
  // these sizes take dense products by default; sparse: true forces the host's sums SAELens's widths take
  await checkGradients("cpu", config("topk"), false, 0.3, true);
  await checkGradients("cpu", config("topk", { aux_loss_coefficient: 0.5 }), true, 0.3, true);
  await checkGradients("cpu", config("topk", { apply_b_dec_to_input: false }), false, 0.3, true);
});

Deno.test("SaeTrainer.step() keeps k latents per token for topk and k on average for batchtopk", async () => {
  for (const arch of ["topk", "batchtopk"] as const) {
    const trainer = SaeTrainer.create(gpu, config(arch), mulberry32(1));
    const r = await trainer.step(batch(2), { lr: 1e-3, l1Coefficient: 0 });
    assertEquals(r.l0, 4);
    trainer.destroy();
  }
});

Deno.test("SaeTrainer.step() reduces the loss on a fixed batch", async () => {
  const trainer = SaeTrainer.create(gpu, config("standard"), mulberry32(1));
  const x = batch(4);
  const first = await trainer.step(x, { lr: 1e-2, l1Coefficient: 0.01 });
  let last = first;
  for (let i = 0; i < 50; i++) last = await trainer.step(x, { lr: 1e-2, l1Coefficient: 0.01 });
  assert(last.loss < 0.5 * first.loss, `loss ${first.loss} -> ${last.loss}`);
  trainer.destroy();
});

for (
  const [device, arch] of DEVICES.flatMap((d) =>
    (["topk", "batchtopk", "matryoshka_batchtopk"] as const).map((a) => [d, a] as const)
  )
) {
  Deno.test(`SaeTrainer.step() of ${arch} on ${device} from the kept latents equals the dense products`, async () => {
    const cfg = config(arch);
    const x = batch(11);
    const make = (sparse: boolean) =>
      SaeTrainer.create(on(device), cfg, mulberry32(5), { sinceFired: deadState(cfg) }, { sparse });
    const [sparse, dense] = [make(true), make(false)];
    try {
      for (let step = 0; step < 3; step++) {
        const [a, b] = [
          await sparse.step(x, { lr: 1e-2, l1Coefficient: 0 }),
          await dense.step(x, { lr: 1e-2, l1Coefficient: 0 }),
        ];
        assert(Math.abs(a.loss - b.loss) <= 1e-5 * Math.abs(b.loss), `step ${step}: loss ${a.loss} vs ${b.loss}`);
        assert(a.losses.auxiliary_reconstruction_loss !== undefined || step > 0, "AuxK ran on the dead latents");
        assertEquals(Array.from(a.fired), Array.from(b.fired));
        const [ga, gb] = [await sparse.gradients(), await dense.gradients()];
        for (const [name, g] of gb) {
          const scale = Math.max(...g.map(Math.abs), 1e-12);
          const diff = maxAbsDiff(ga.get(name)!, g);
          assert(diff <= 1e-5 * scale, `step ${step}: ∂${name} differs by ${diff} (largest ${scale})`);
        }
      }
    } finally {
      sparse.destroy();
      dense.destroy();
    }
  });
}

for (const arch of ["standard", "topk", "batchtopk", "jumprelu", "gated", "matryoshka_batchtopk"] as const) {
  Deno.test(`SaeTrainer.step() of ${arch}: 20 steps on cpu and on webgpu from one seed agree`, async () => {
    // Latents 0, 5, 10, … start dead, so AuxK or ghost grads run too.
    const cfg = config(arch, { use_ghost_grads: arch === "standard", aux_loss_coefficient: 0.5 });
    const [cpu, web] = DEVICES.map((device) =>
      SaeTrainer.create(on(device), cfg, mulberry32(9), { sinceFired: deadState(cfg) })
    );
    try {
      for (let step = 0; step < 20; step++) {
        const x = batch(100 + step);
        const [a, b] = [
          await cpu.step(x, { lr: 1e-3, l1Coefficient: 0.1 }),
          await web.step(x, { lr: 1e-3, l1Coefficient: 0.1 }),
        ];
        assert(Math.abs(a.loss - b.loss) <= 1e-4 * Math.abs(b.loss), `step ${step}: loss ${a.loss} vs ${b.loss}`);
        assertEquals(Object.keys(a.losses).sort(), Object.keys(b.losses).sort());
        const auxiliary = a.losses.ghost_grad_loss ?? a.losses.auxiliary_reconstruction_loss;
        assert(step > 0 || arch === "jumprelu" || auxiliary !== undefined, "the auxiliary term ran");
      }
      assertEquals(cpu.batchThreshold === 0, web.batchThreshold === 0);
      assert(Math.abs(cpu.batchThreshold - web.batchThreshold) <= 1e-4 * Math.abs(web.batchThreshold));
      const [sa, sb] = [(await cpu.state()).tensors, (await web.state()).tensors];
      for (const [name, v] of sb) {
        if (name.includes(".")) continue;
        const scale = Math.max(...v.map(Math.abs), 1e-12);
        const diff = maxAbsDiff(sa.get(name)!, v);
        assert(diff <= 1e-4 * scale, `${name} differs by ${diff} (largest ${scale}) after 20 steps`);
      }
    } finally {
      cpu.destroy();
      web.destroy();
    }
  });
}

for (const device of DEVICES) {
  Deno.test(`resampleDeadLatents() on ${device} resets the dead latents towards badly reconstructed inputs`, async () => {
    const cfg = config("gated");
    const trainer = SaeTrainer.create(on(device), cfg, mulberry32(2));
    try {
      const x = batch(21);
      const r = await trainer.step(x, { lr: 1e-3, l1Coefficient: 0.1 });
      const before = (await trainer.state()).tensors;
      const dead = Uint8Array.from({ length: S }, (_, j) => j % 3 === 0 ? 1 : 0);
      await resampleDeadLatents(trainer, x, r.rowLoss, dead, mulberry32(4));
      const after = (await trainer.state()).tensors;
      for (let j = 0; j < S; j++) {
        const row = after.get("W_dec")!.subarray(j * D, (j + 1) * D);
        if (!dead[j]) {
          assertEquals(Array.from(row), Array.from(before.get("W_dec")!.subarray(j * D, (j + 1) * D)));
          continue;
        }
        // a unit row along one of the batch's inputs, Adam's moments and the per-latent parameters at 0
        assert(Math.abs(Math.hypot(...row) - 1) < 1e-5, `latent ${j}: |W_dec row| ${Math.hypot(...row)}`);
        const along = Array.from({ length: B }, (_, b) => {
          const v = x.subarray(b * D, (b + 1) * D), n = Math.hypot(...v);
          return Math.abs(row.reduce((s, w, d) => s + w * v[d] / n, 0));
        });
        assert(Math.max(...along) > 1 - 1e-5, `latent ${j} points along an input`);
        for (const name of ["b_gate", "b_mag", "r_mag", "m.b_mag", "v.W_dec"]) {
          const t = after.get(name)!;
          assertEquals(
            name === "v.W_dec" ? Array.from(t.subarray(j * D, (j + 1) * D)) : [t[j]],
            name === "v.W_dec" ? Array(D).fill(0) : [0],
          );
        }
      }
      const next = await trainer.step(x, { lr: 1e-3, l1Coefficient: 0.1 });
      assert(Number.isFinite(next.loss));
    } finally {
      trainer.destroy();
    }
  });
}

Deno.test("SaeTrainer on cpu gives the same bits twice for the TopK family when latents repeat across many rows", async () => {
  // 2048 rows × k 8 over 128 latents: each latent's rows of ∂W_enc, ∂W_dec and ∂b_enc sum about 128 entries, which
  // a scatter that adds on several threads unsynchronised loses or reorders from one run to the next
  const rows = 2048, dIn = 64;
  const rng = mulberry32(17);
  const x = Float32Array.from({ length: rows * dIn }, (_, i) => (rng() - 0.5) * 2 + (i % dIn) * 0.05);
  for (const architecture of ["topk", "batchtopk", "matryoshka_batchtopk"] as const) {
    const cfg = config(architecture, { d_in: dIn, d_sae: 128, k: 8, matryoshka_widths: [32, 128] });
    const run = async () => {
      const trainer = SaeTrainer.create("cpu", cfg, mulberry32(3), undefined, { sparse: true });
      try {
        for (let s = 0; s < 3; s++) await trainer.step(x, { lr: 1e-2, l1Coefficient: 0 });
        return (await trainer.state()).tensors;
      } finally {
        trainer.destroy();
      }
    };
    const [a, b] = [await run(), await run()];
    for (const name of ["W_enc", "b_enc", "W_dec", "b_dec"]) {
      assert(
        a.get(name)!.every((v, i) => Object.is(v, b.get(name)![i])),
        `${architecture} ${name}: max difference ${maxAbsDiff(a.get(name)!, b.get(name)!)}`,
      );
    }
  }
});

Deno.test("SaeTrainer on cpu: TopK's selection in blocks of rows gives the step webgpu takes, with and without AuxK", async () => {
  // 600 rows: the cpu selects each row's latents in blocks of 256 rows before the step graph runs
  const rows = 600, dIn = 24;
  const rng = mulberry32(23);
  const x = Float32Array.from({ length: rows * dIn }, (_, i) => (rng() - 0.5) * 2 + (i % dIn) * 0.05);
  const cfg = config("topk", { d_in: dIn, d_sae: 96, k: 6, dead_feature_window: 5 });
  for (const sinceFired of [undefined, Float32Array.from({ length: 96 }, (_, j) => j % 4 === 0 ? 6 : 0)]) {
    const [cpu, web] = DEVICES.map((device) =>
      SaeTrainer.create(on(device), cfg, mulberry32(9), sinceFired && { sinceFired })
    );
    try {
      const [a, b] = [
        await cpu.step(x, { lr: 1e-3, l1Coefficient: 0 }),
        await web.step(x, { lr: 1e-3, l1Coefficient: 0 }),
      ];
      assertEquals(a.losses.auxiliary_reconstruction_loss !== undefined, sinceFired !== undefined);
      assert(Math.abs(a.loss - b.loss) <= 1e-5 * Math.abs(b.loss), `loss ${a.loss} vs ${b.loss}`);
      assertEquals(Array.from(a.fired), Array.from(b.fired));
      const [ga, gb] = [await cpu.gradients(), await web.gradients()];
      for (const [name, g] of gb) {
        const scale = Math.max(...g.map(Math.abs), 1e-12);
        const diff = maxAbsDiff(ga.get(name)!, g);
        assert(diff <= 1e-4 * scale, `∂${name} differs by ${diff} (largest ${scale})`);
      }
    } finally {
      cpu.destroy();
      web.destroy();
    }
  }
});

Deno.test("SaeTrainer.create() refuses an lp_norm below 1, or other than 1 beside the standard architecture", () => {
  for (const [arch, p] of [["standard", 0.5], ["topk", 2], ["jumprelu", 1.5]] as const) {
    assert.throws(
      () => SaeTrainer.create("cpu", config(arch, { lp_norm: p }), mulberry32(1)),
      (e: Error) => e instanceof RangeError && e.message.includes(`current value is ${p} (${arch})`),
    );
  }
  SaeTrainer.create("cpu", config("standard", { lp_norm: 2 }), mulberry32(1)).destroy();
  SaeTrainer.create("cpu", config("topk", { lp_norm: 1 }), mulberry32(1)).destroy();
});
