/**
 * How a run samples its activations: across the whole corpus when all of its activations fit in memory (a global
 * shuffle, drawn anew each pass), otherwise from the mixing buffer, saying how much of the corpus the buffer mixes.
 *
 * @module
 */

import { mulberry32 } from "../util/mulberry32.ts";

/** The share of the machine's memory the corpus's activations may take to be held whole. */
export const CORPUS_MEMORY_SHARE = 0.25;

/** Held whole when the machine's memory cannot be read: at most this many bytes of activations. */
const UNKNOWN_MEMORY_BOUND = 2 ** 31;

/** How a run samples. */
export interface SamplingPlan {
  /** The corpus's rows when the run samples across it; absent: the mixing buffer. */
  corpusRows?: number;
  /**
   * The token rows whose activations are held, in corpus order: all, or as many as the run draws, drawn at random from
   * the whole corpus.
   */
  held?: number[][];
  /** One line for the log: which, and how much of the corpus it mixes. */
  description: string;
}

/** What {@linkcode planSampling} weighs. */
export interface SamplingInputs {
  /** Token rows from the start of the corpus, read once: counted up to the bound, the held ones kept. */
  rows: () => AsyncIterator<number[]>;
  /** Seed of the draw of the held rows. */
  seed: number;
  /** Tokens per row. */
  contextSize: number;
  /** Width of each hook's activations. */
  widths: number[];
  /** Tokens the mixing buffer holds. */
  bufferTokens: number;
  /** Tokens the run draws (its steps' and the norm estimate's): fewer rows than the corpus's are held when fewer do. */
  neededTokens: number;
  /** The machine's memory in bytes, when known. */
  memoryBytes: number | undefined;
  /** Whether the run may hold the corpus whole (the `shuffle_whole_corpus` setting). */
  wholeCorpus: boolean;
}

/**
 * Chooses between the whole corpus and the mixing buffer: the corpus when it is allowed and its activations (f32,
 * every hook) fit in {@linkcode CORPUS_MEMORY_SHARE} of the memory; then only as many rows as the run draws are held
 * (all when it draws the corpus or more), drawn at random from the whole corpus in the same one reading that counts
 * its rows (a seeded reservoir sample), up to the bound.
 *
 * @example
 * ```ts
 * import { planSampling } from "./sampling_plan.ts";
 * async function* rows() { for (let i = 0; i < 10; i++) yield [i]; }
 * const plan = await planSampling({ rows, seed: 1, contextSize: 4, widths: [8], bufferTokens: 16, neededTokens: 20, memoryBytes: 2 ** 30, wholeCorpus: true });
 * console.log(plan.corpusRows, plan.held!.length); // 10 5
 * ```
 *
 * @param inputs The corpus, sizes and memory.
 * @returns The plan.
 */
export async function planSampling(inputs: SamplingInputs): Promise<SamplingPlan> {
  const { contextSize, widths, bufferTokens, memoryBytes, wholeCorpus, neededTokens } = inputs;
  const bytesPerRow = 4 * contextSize * widths.reduce((a, b) => a + b, 0);
  const bound = memoryBytes === undefined ? UNKNOWN_MEMORY_BOUND : CORPUS_MEMORY_SHARE * memoryBytes;
  const limit = Math.floor(bound / bytesPerRow);
  // Algorithm R: after row i, `kept` is a uniform sample of min(i + 1, wanted) of the rows so far
  const wanted = wholeCorpus ? Math.min(limit, Math.ceil(neededTokens / contextSize)) : 0;
  const kept: { index: number; row: number[] }[] = [];
  const rng = mulberry32((inputs.seed ^ 0x5bd1e995) >>> 0);
  let rows = 0;
  const iterator = inputs.rows();
  for (let r = await iterator.next(); !r.done && rows <= limit; r = await iterator.next(), rows++) {
    if (kept.length < wanted) kept.push({ index: rows, row: r.value });
    else {
      const j = Math.floor(rng() * (rows + 1));
      if (j < wanted) kept[j] = { index: rows, row: r.value };
    }
  }
  await iterator.return?.();
  const tokens = rows * contextSize;
  const gib = (b: number) => b < 2 ** 30 ? `${(b / 2 ** 20).toFixed(1)} MiB` : `${(b / 2 ** 30).toFixed(2)} GiB`;
  if (wholeCorpus && rows <= limit) {
    const held = kept.sort((a, b) => a.index - b.index).map((k) => k.row);
    const which = held.length === rows
      ? `its ${tokens} tokens' activations`
      : `the activations of ${held.length} of its ${rows} rows, drawn at random, as many as the run draws`;
    return {
      corpusRows: rows,
      held,
      description: `sampling across the whole corpus: ${which} (${
        gib(held.length * bytesPerRow)
      }) held in memory, in a new random order each pass`,
    };
  }
  const mixed = bufferTokens >= tokens ? "all" : `${(100 * bufferTokens / tokens).toFixed(2)}%`;
  const why = wholeCorpus
    ? `its activations need more than ${gib(bound)}, ${
      memoryBytes === undefined ? "the bound used where memory cannot be read" : "a quarter of this machine's memory"
    }`
    : "shuffle_whole_corpus is false";
  return {
    description: rows > limit
      ? `sampling from the mixing buffer of ${bufferTokens} tokens, under ${mixed} of the corpus (over ${tokens} tokens; ${why})`
      : `sampling from the mixing buffer of ${bufferTokens} tokens, ${mixed} of the corpus's ${tokens} tokens (${why})`,
  };
}
