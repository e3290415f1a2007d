/**
 * The indices of an array's largest values, without sorting the whole array.
 *
 * @module
 */

/**
 * The indices of the `k` largest values of `values`, largest first (ties: lower index first), in one pass that keeps
 * a sorted list of k (a vocabulary's logits for the next tokens).
 *
 * @example
 * ```ts
 * import { largestIndices } from "./largest_indices.ts";
 * console.log(largestIndices(Float32Array.of(0.1, 3, 2, 3), 3)); // [ 1, 3, 2 ]
 * ```
 *
 * @param values The values.
 * @param k How many indices.
 * @returns At most k indices.
 */
export function largestIndices(values: ArrayLike<number>, k: number): number[] {
  const top: number[] = [];
  for (let t = 0; t < values.length; t++) {
    if (top.length === k && values[t] <= values[top[k - 1]]) continue;
    let at = top.length;
    while (at > 0 && values[top[at - 1]] < values[t]) at--;
    top.splice(at, 0, t);
    if (top.length > k) top.pop();
  }
  return top;
}
