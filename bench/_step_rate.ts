// The sae side of the training-step benchmarks (bench/train.ts on WebGPU, bench/cpu.ts on the cpu engine): one
// SaeTrainer step (forward, loss, backward, clipping, Adam, the step's statistics read back), best of `steps` after a
// warm-up step, the same timing as train_torch.py's.
import type { Gpu } from "../core/gpu/device.ts";
import { SaeTrainer, type SaeTrainerOptions } from "../core/train/sae_trainer.ts";
import { SAE_TRAINING_DEFAULTS, type TrainArchitecture } from "../core/train/sae_training_config.ts";
import { mulberry32 } from "../core/util/mulberry32.ts";

/** The shape of a benchmarked step; x is [tokens, dIn]. */
export interface StepShape {
  architecture: TrainArchitecture;
  dIn: number;
  dSae: number;
  k: number;
  x: Float32Array;
}

/** Tokens per second of the best of `steps` training steps after a warm-up step. */
export async function stepRate(
  device: Gpu | "cpu",
  { architecture, dIn, dSae, k, x }: StepShape,
  steps: number,
  options: SaeTrainerOptions = {},
): Promise<number> {
  // Matryoshka's levels as the SAELens tutorials nest them: a quarter and a half of d_sae, then d_sae.
  const matryoshka_widths = [dSae / 4, dSae / 2];
  const cfg = {
    ...SAE_TRAINING_DEFAULTS,
    architecture,
    d_in: dIn,
    d_sae: dSae,
    k,
    l1_coefficient: 5,
    matryoshka_widths,
  };
  const trainer = SaeTrainer.create(device, cfg, mulberry32(0), undefined, options);
  try {
    await trainer.step(x, { lr: 1e-4, l1Coefficient: 5 }); // compile kernels or sessions, allocate buffers
    let best = Infinity;
    for (let i = 0; i < steps; i++) {
      const start = performance.now();
      await trainer.step(x, { lr: 1e-4, l1Coefficient: 5 }); // reads the step's statistics back: a full sync
      best = Math.min(best, (performance.now() - start) / 1000);
    }
    return x.length / dIn / best;
  } finally {
    trainer.destroy();
  }
}
