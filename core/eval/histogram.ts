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

/**
 * A histogram of whole-number values (such as L0, the active features of a token) from how often each value occurs:
 * bins of whole width from the smallest value that occurs to the largest, at most `maxBins` of them, so each bar
 * holds the same number of values and a constant L0 (TopK) shows as one bar.
 *
 * @example
 * ```ts
 * import { integerHistogram } from "./histogram.ts";
 * const h = integerHistogram([0, 0, 2, 5, 1]); // L0 2 twice, 3 five times, 4 once
 * console.log(h.edges, h.counts); // [2, 3, 4, 5] [2, 5, 1]
 * ```
 *
 * @param countsByValue `countsByValue[v]` values equal to `v`.
 * @param maxBins Most bins. @default {50}
 * @returns Edges (whole numbers), centres and counts; over [0, 1] with no count when nothing occurs.
 */
export function integerHistogram(countsByValue: ArrayLike<number>, maxBins = 50): Histogram {
  let lo = -1, hi = -1;
  for (let v = 0; v < countsByValue.length; v++) {
    if (countsByValue[v] > 0) {
      if (lo < 0) lo = v;
      hi = v;
    }
  }
  if (lo < 0) return { edges: [0, 1], centers: [0.5], counts: [0] };
  const width = Math.ceil((hi - lo + 1) / maxBins);
  const bins = Math.ceil((hi - lo + 1) / width);
  const counts = new Array<number>(bins).fill(0);
  for (let v = lo; v <= hi; v++) counts[Math.floor((v - lo) / width)] += countsByValue[v];
  const edges = Array.from({ length: bins + 1 }, (_, i) => lo + i * width);
  return { edges, centers: edges.slice(0, -1).map((e) => e + width / 2), counts };
}
