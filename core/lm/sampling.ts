/**
 * Next-token choice as TransformerLens's `sample_logits` makes it: greedy, or temperature, then top-k or
 * top-p filtering, then a draw from the softmax.
 *
 * @module
 */

/** Sampling settings (TransformerLens `generate` arguments). */
export interface SamplingOptions {
  /** Sample (true) or take the argmax (false). @default {true} */
  doSample?: boolean;
  /** Logits are divided by this; 0 means greedy. @default {1} */
  temperature?: number;
  /** Keep only the k most likely tokens. */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (ignored with topK). */
  topP?: number;
  /** Seed of the sampler, for reproducible draws. @default random */
  seed?: number;
}

function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/**
 * Picks the next token from one position's logits.
 *
 * @example Greedy
 * ```ts
 * import { sampleToken } from "./sampling.ts";
 * console.log(sampleToken(Float32Array.of(0, 3, 1), { doSample: false }, Math.random)); // 1
 * ```
 *
 * @param logits [vocab] logits.
 * @param options Sampling settings.
 * @param random Uniform [0, 1) source.
 * @returns The token id.
 * @throws {RangeError} On a negative temperature, topK < 1 or topP outside (0, 1].
 */
export function sampleToken(logits: Float32Array, options: SamplingOptions, random: () => number): number {
  const { doSample = true, temperature = 1, topK, topP } = options;
  if (!(temperature >= 0)) throw new RangeError(`temperature must be >= 0: got ${temperature}`);
  if (topK !== undefined && !(Number.isInteger(topK) && topK >= 1)) {
    throw new RangeError(`topK must be a positive integer: got ${topK}`);
  }
  if (topP !== undefined && !(topP > 0 && topP <= 1)) throw new RangeError(`topP must be in (0, 1]: got ${topP}`);
  if (!doSample || temperature === 0) return argmax(logits);

  const order = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a] || a - b);
  let kept = order.length;
  if (topK !== undefined) {
    // TransformerLens keeps every token not below the k-th largest logit
    const kth = logits[order[Math.min(topK, order.length) - 1]];
    while (kept > 1 && logits[order[kept - 1]] < kth) kept--;
  }
  const max = logits[order[0]] / temperature;
  const weights = order.slice(0, kept).map((i) => Math.exp(logits[i] / temperature - max));
  if (topK === undefined && topP !== undefined) {
    // drop a token once the probability before it already exceeds p (the first always stays)
    const total = weights.reduce((a, b) => a + b, 0);
    let cumulative = 0;
    for (let j = 0; j < weights.length; j++) {
      if (cumulative > topP) {
        kept = j;
        break;
      }
      cumulative += weights[j] / total;
    }
  }
  const total = weights.slice(0, kept).reduce((a, b) => a + b, 0);
  let r = random() * total;
  for (let j = 0; j < kept; j++) {
    r -= weights[j];
    if (r < 0) return order[j];
  }
  return order[kept - 1];
}
