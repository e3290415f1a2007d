/**
 * Learning-rate and sparsity-coefficient schedules, as SAELens's `get_lr_scheduler` and
 * `CoefficientScheduler` step them.
 *
 * @module
 */

/** SAELens `lr_scheduler_name` values (its `get_lr_scheduler`), and `linear`, a linear decay to 0 over the main phase. */
export const LR_SCHEDULER_NAMES = ["constant", "cosineannealing", "cosineannealingwarmrestarts", "linear"] as const;

/** One of {@linkcode LR_SCHEDULER_NAMES}. */
export type LrSchedulerName = typeof LR_SCHEDULER_NAMES[number];

/**
 * Older SAELens schedule names (before 3.0, and the SAE guide's `cosine`), each meaning one of ours: their warm-up
 * is `lr_warm_up_steps` here.
 */
export const LR_SCHEDULER_ALIASES: Record<string, LrSchedulerName> = {
  cosine: "cosineannealing",
  cosineannealingwarmup: "cosineannealing",
  constantwithwarmup: "constant",
  linearwarmupdecay: "linear",
};

/** What shapes the learning rate over a run. */
export interface LrSchedule {
  /** Peak learning rate. */
  lr: number;
  /** Main phase after warm-up. */
  lrSchedulerName: LrSchedulerName;
  /** Steps of linear warm-up from lr/warm-up to lr. */
  lrWarmUpSteps: number;
  /** Final steps of linear decay to 0. */
  lrDecaySteps: number;
  /** Where cosine annealing ends, and where the final decay starts from after it. */
  lrEnd: number;
  /** Cosine cycles of `cosineannealingwarmrestarts` (SAELens `n_restart_cycles`). @default {1} */
  numCycles?: number;
  /** Total training steps. */
  totalSteps: number;
}

/**
 * The learning rate of 0-based step `step`, as SAELens's `get_lr_scheduler` steps it: linear warm-up, then constant,
 * cosine annealing to `lrEnd` (restarted `numCycles` times with `cosineannealingwarmrestarts`) or a linear decay to 0
 * with `"linear"`, then a linear decay to 0 over the last `lrDecaySteps`, from `lrEnd` after cosine annealing and
 * from `lr` otherwise.
 *
 * @example
 * ```ts
 * import { learningRate } from "./schedules.ts";
 * const s = { lr: 1, lrSchedulerName: "constant" as const, lrWarmUpSteps: 4, lrDecaySteps: 2, lrEnd: 0, totalSteps: 10 };
 * console.log([0, 3, 5, 8, 9].map((t) => learningRate(s, t))); // [0.25, 1, 1, 1, 0.5]
 * const c = { ...s, lrSchedulerName: "cosineannealingwarmrestarts" as const, lrEnd: 0, numCycles: 2, lrWarmUpSteps: 0, lrDecaySteps: 0, totalSteps: 8 };
 * console.log([0, 2, 4, 6].map((t) => learningRate(c, t))); // [1, 0.5, 1, 0.5]
 * ```
 *
 * @param s The schedule.
 * @param step Steps taken before this one.
 * @returns The learning rate.
 */
export function learningRate(s: LrSchedule, step: number): number {
  if (step < s.lrWarmUpSteps) return s.lr * (step + 1) / s.lrWarmUpSteps;
  const decayStart = s.totalSteps - s.lrDecaySteps;
  const cosine = s.lrSchedulerName === "cosineannealing" || s.lrSchedulerName === "cosineannealingwarmrestarts";
  if (s.lrDecaySteps > 0 && step >= decayStart) {
    return (cosine ? s.lrEnd : s.lr) * (1 - (step - decayStart) / s.lrDecaySteps);
  }
  const mainSteps = Math.max(decayStart - s.lrWarmUpSteps, 1);
  const progress = (step - s.lrWarmUpSteps) / mainSteps;
  const annealed = (p: number) => s.lrEnd + (s.lr - s.lrEnd) * (1 + Math.cos(Math.PI * p)) / 2;
  switch (s.lrSchedulerName) {
    case "constant":
      return s.lr;
    case "linear":
      return s.lr * (1 - progress);
    case "cosineannealing":
      return annealed(progress);
    case "cosineannealingwarmrestarts": {
      // torch's CosineAnnealingWarmRestarts with T_0 = main steps // cycles
      const period = Math.max(1, Math.floor(mainSteps / (s.numCycles ?? 1)));
      return annealed(((step - s.lrWarmUpSteps) % period) / period);
    }
  }
}

/**
 * A coefficient warmed up linearly from 0 over `warmUpSteps` (SAELens `CoefficientScheduler`: 0 at
 * the first step, the full value from step `warmUpSteps` on).
 *
 * @example
 * ```ts
 * import { warmedUpCoefficient } from "./schedules.ts";
 * console.log([0, 1, 4, 9].map((t) => warmedUpCoefficient(5, 4, t))); // [0, 1.25, 5, 5]
 * ```
 *
 * @param value The final coefficient.
 * @param warmUpSteps Steps of warm-up (0: none).
 * @param step Steps taken before this one.
 * @returns The coefficient for this step.
 */
export function warmedUpCoefficient(value: number, warmUpSteps: number, step: number): number {
  return warmUpSteps > 0 ? value * Math.min(1, step / warmUpSteps) : value;
}
