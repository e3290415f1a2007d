/**
 * SAELens's `normalize_activations: "expected_average_only_in"` in training: inputs scaled by
 * √d_in / E‖x‖, the expectation estimated over batches drawn before the first step.
 *
 * @module
 */

import type { ActivationStore } from "./activation_store.ts";
import type { ResolvedRun } from "./runner_config.ts";

/**
 * Tokens {@linkcode estimateScales} draws from the store: `n_batches_for_norm_estimate` batches when an SAE of the run
 * scales its input, else none.
 *
 * @example
 * ```ts ignore
 * const needed = steps * batch + estimateTokens(resolved);
 * ```
 *
 * @param resolved The run.
 * @returns The tokens.
 */
export function estimateTokens({ run, saes }: ResolvedRun): number {
  const batches = Math.max(
    0,
    ...saes.map((s) => s.normalize_activations === "expected_average_only_in" ? s.n_batches_for_norm_estimate : 0),
  );
  return batches * run.train_batch_size_tokens;
}

/**
 * SAELens's `ActivationScaler.estimate_scaling_factor`: √d_in over the mean, across the first
 * `n_batches_for_norm_estimate` batches (drawn from the store and not trained on), of each batch's mean ‖x‖.
 *
 * @example
 * ```ts ignore
 * const scales = await estimateScales(store, resolved, [0]); // [undefined] unless expected_average_only_in
 * ```
 *
 * @param store The run's activation store.
 * @param resolved The run's settings.
 * @param hookIndex Each SAE's hook in the store's order.
 * @param options `onProgress`, called with the batches drawn so far (from 0 up to all of them); `signal`, which stops
 * the estimate (a stopped run has no scale to use).
 * @returns Each SAE's scale, undefined for SAEs without it (or when stopped).
 */
export async function estimateScales(
  store: ActivationStore,
  { run, saes }: ResolvedRun,
  hookIndex: number[],
  options: { onProgress?: (done: number, total: number) => void; signal?: AbortSignal } = {},
): Promise<(number | undefined)[]> {
  const { onProgress, signal } = options;
  const wanted = saes.map((s) => s.normalize_activations === "expected_average_only_in");
  const batches = Math.max(0, ...saes.map((s, i) => wanted[i] ? s.n_batches_for_norm_estimate : 0));
  const sums = saes.map(() => 0);
  if (batches > 0) onProgress?.(0, batches);
  for (let b = 0; b < batches; b++) {
    if (signal?.aborted) return saes.map(() => undefined);
    const xs = await store.next(run.train_batch_size_tokens);
    saes.forEach((s, i) => {
      if (!wanted[i] || b >= s.n_batches_for_norm_estimate) return;
      const x = xs[hookIndex[i]], rows = x.length / s.d_in;
      let total = 0;
      for (let r = 0; r < rows; r++) {
        let sq = 0;
        for (let d = 0; d < s.d_in; d++) sq += x[r * s.d_in + d] ** 2;
        total += Math.sqrt(sq);
      }
      sums[i] += total / rows;
    });
    onProgress?.(b + 1, batches);
  }
  return saes.map((s, i) => wanted[i] ? Math.sqrt(s.d_in) / (sums[i] / s.n_batches_for_norm_estimate) : undefined);
}

/**
 * The batch times the scale, or the batch itself without one.
 *
 * @example
 * ```ts
 * import { scaled } from "./activation_scale.ts";
 * console.log(scaled(Float32Array.of(1, 2), 2)); // Float32Array(2) [ 2, 4 ]
 * ```
 *
 * @param x Activations.
 * @param scale The SAE's input scale.
 * @returns The scaled activations.
 */
export function scaled(x: Float32Array, scale: number | undefined): Float32Array {
  return scale === undefined ? x : x.map((v) => v * scale);
}
