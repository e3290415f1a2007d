/**
 * Dead-latent resampling (Anthropic's "Towards Monosemanticity", as dictionary_learning does it):
 * each dead latent is pointed at a training input drawn with probability ∝ its squared loss.
 *
 * @module
 */

import { trainingArchitecture } from "./training_architectures.ts";
import type { SaeTrainer } from "./sae_trainer.ts";

/**
 * Re-initialises dead latents: decoder row = the drawn input, normalised; encoder column = the same
 * direction scaled to 0.2 × the mean norm of the live encoder columns; encoder biases 0; their Adam
 * moments reset.
 *
 * @example
 * ```ts ignore
 * await resampleDeadLatents(trainer, x, result.rowLoss, deadMask, rng);
 * ```
 *
 * @param trainer The SAE.
 * @param x The batch, `rows × d_in`.
 * @param rowLoss Each row's squared reconstruction error.
 * @param dead 1 for each latent to resample.
 * @param rng Draws the inputs.
 */
export async function resampleDeadLatents(
  trainer: SaeTrainer,
  x: Float32Array,
  rowLoss: Float32Array,
  dead: Uint8Array,
  rng: () => number,
): Promise<void> {
  const { d_in: dIn, d_sae: dSae } = trainer.cfg;
  const { tensors } = await trainer.state();
  const wEnc = tensors.get("W_enc")!, wDec = tensors.get("W_dec")!;
  let aliveNorm = 0, alive = 0;
  for (let j = 0; j < dSae; j++) {
    if (dead[j]) continue;
    let s = 0;
    for (let d = 0; d < dIn; d++) s += wEnc[d * dSae + j] ** 2;
    aliveNorm += Math.sqrt(s);
    alive++;
  }
  aliveNorm = alive > 0 ? aliveNorm / alive : 1;
  const cumulative = new Float64Array(rowLoss.length);
  rowLoss.reduce((acc, l, i) => cumulative[i] = acc + l * l, 0);
  const total = cumulative[cumulative.length - 1];
  const touched = new Map<string, Float32Array>();
  const perLatent = trainingArchitecture(trainer.cfg.architecture).resampled;
  for (let j = 0; j < dSae; j++) {
    if (!dead[j]) continue;
    const u = rng() * total;
    let row = cumulative.findIndex((c) => c > u);
    if (row < 0) row = rowLoss.length - 1;
    const v = x.subarray(row * dIn, (row + 1) * dIn);
    const n = Math.hypot(...v) || 1;
    for (let d = 0; d < dIn; d++) {
      wDec[j * dIn + d] = v[d] / n;
      wEnc[d * dSae + j] = v[d] / n * aliveNorm * 0.2;
    }
    for (const name of perLatent) tensors.get(name)![j] = 0;
    for (const name of ["W_enc", "W_dec", ...perLatent]) {
      for (const moment of ["m", "v"]) {
        const t = tensors.get(`${moment}.${name}`)!;
        if (name === "W_enc") { for (let d = 0; d < dIn; d++) t[d * dSae + j] = 0; }
        else if (name === "W_dec") t.fill(0, j * dIn, (j + 1) * dIn);
        else t[j] = 0;
        touched.set(`${moment}.${name}`, t);
      }
      touched.set(name, tensors.get(name)!);
    }
  }
  trainer.setTensors(touched);
}
