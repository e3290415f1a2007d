/**
 * Equal-width histograms, the form SAEDashboard and Neuronpedia plot (bar heights at bin centres).
 *
 * @module
 */

/** A histogram over equal-width bins. */
export interface Histogram {
  /** Bin edges, `bins + 1` of them. */
  edges: number[];
  /** Bin centres, one per bin. */
  centers: number[];
  /** Values per bin; the last bin includes its upper edge. */
  counts: number[];
}

/**
 * Counts values into `bins` equal bins over `[min, max]` (the values' own range when not given).
 *
 * @example
 * ```ts
 * import { histogram } from "./histogram.ts";
 * console.log(histogram([0, 0.5, 1, 1], 2).counts); // [1, 3]
 * ```
 *
 * @param values The values; NaN is skipped, values outside the range go to the end bins.
 * @param bins Number of bins.
 * @param range `[min, max]`; the values' extent by default.
 * @returns Edges, centres and counts.
 */
export function histogram(values: ArrayLike<number>, bins: number, range?: [number, number]): Histogram {
  let [min, max] = range ?? [Infinity, -Infinity];
  if (!range) {
    for (let i = 0; i < values.length; i++) {
      if (values[i] < min) min = values[i];
      if (values[i] > max) max = values[i];
    }
    if (min > max) [min, max] = [0, 1]; // no values: an empty histogram over [0, 1]
  }
  if (max === min) max = min + 1;
  const width = (max - min) / bins;
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) continue;
    counts[Math.min(bins - 1, Math.max(0, Math.floor((v - min) / width)))]++;
  }
  const edges = Array.from({ length: bins + 1 }, (_, i) => min + i * width);
  return { edges, centers: edges.slice(0, -1).map((e) => e + width / 2), counts };
}
