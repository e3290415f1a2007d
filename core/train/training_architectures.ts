/**
 * The training architectures by name: adding one is its file and one line here.
 *
 * @module
 */

import { BATCHTOPK } from "./batchtopk_training.ts";
import { GATED } from "./gated_training.ts";
import { JUMPRELU } from "./jumprelu_training.ts";
import { MATRYOSHKA_BATCHTOPK } from "./matryoshka_batchtopk_training.ts";
import { STANDARD } from "./standard_training.ts";
import { TOPK } from "./topk_training.ts";
import type { TrainingArchitecture } from "./training_architecture.ts";

/** The training architectures' names (SAELens's). */
export type TrainArchitecture = "standard" | "topk" | "batchtopk" | "jumprelu" | "gated" | "matryoshka_batchtopk";

/** Every training architecture, by SAELens's training name. */
export const TRAINING_ARCHITECTURES: Readonly<Record<TrainArchitecture, TrainingArchitecture>> = {
  standard: STANDARD,
  topk: TOPK,
  batchtopk: BATCHTOPK,
  jumprelu: JUMPRELU,
  gated: GATED,
  matryoshka_batchtopk: MATRYOSHKA_BATCHTOPK,
};

/**
 * The training architecture of a name.
 *
 * @example
 * ```ts
 * import { trainingArchitecture } from "./training_architectures.ts";
 * console.log(trainingArchitecture("batchtopk").decoder); // unit_norm
 * ```
 *
 * @param name A training architecture's name.
 * @returns Its definition.
 * @throws {RangeError} When no architecture has that name.
 */
export function trainingArchitecture(name: string): TrainingArchitecture {
  const arch = (TRAINING_ARCHITECTURES as Record<string, TrainingArchitecture>)[name];
  if (!arch) {
    throw new RangeError(
      `No training architecture is named "${name}": expected one of ${Object.keys(TRAINING_ARCHITECTURES).join(", ")}`,
    );
  }
  return arch;
}
