/**
 * The geometric median of activations (SAELens `compute_geometric_median`, Weiszfeld iterations),
 * used to initialise b_dec.
 *
 * @module
 */

/**
 * The point minimising the summed Euclidean distance to the rows, by Weiszfeld's iteration.
 *
 * @example
 * ```ts
 * import { geometricMedian } from "./geometric_median.ts";
 * const m = geometricMedian(new Float32Array([0, 0, 1, 0, 0, 1, 10, 10]), 2);
 * console.log(Array.from(m, (v) => v.toFixed(2))); // ["0.41", "0.41"] approximately
 * ```
 *
 * @param rows Row-major points, `n × width`.
 * @param width Coordinates per point.
 * @param iterations Weiszfeld steps. @default {100}
 * @returns The median.
 */
export function geometricMedian(rows: Float32Array, width: number, iterations = 100): Float32Array {
  const n = rows.length / width;
  const median = new Float64Array(width);
  for (let i = 0; i < rows.length; i++) median[i % width] += rows[i] / n;
  for (let it = 0; it < iterations; it++) {
    const next = new Float64Array(width);
    let weights = 0;
    for (let r = 0; r < n; r++) {
      let dist = 0;
      for (let d = 0; d < width; d++) dist += (rows[r * width + d] - median[d]) ** 2;
      const w = 1 / Math.max(Math.sqrt(dist), 1e-8);
      weights += w;
      for (let d = 0; d < width; d++) next[d] += w * rows[r * width + d];
    }
    let moved = 0;
    for (let d = 0; d < width; d++) {
      const v = next[d] / weights;
      moved += (v - median[d]) ** 2;
      median[d] = v;
    }
    if (moved < 1e-12) break;
  }
  return Float32Array.from(median);
}
