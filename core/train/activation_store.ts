/**
 * Training activations: token rows run through the model to the deepest hook needed, served in batches; several hooks
 * at once so several SAEs train from one forward pass. Either the whole corpus's activations are held and each pass
 * serves them in a new random order (a global shuffle, as a PyTorch loop over a shuffled tensor), or they are mixed in
 * a buffer (fill, shuffle, serve half, keep half) as SAELens does.
 *
 * @module
 */

import { mulberry32, type SeededRandom } from "../util/mulberry32.ts";

/** Produces activations for a batch of token rows: one [rows·context, width] array per hook. */
export type ActivationSource = (rows: number[][]) => Promise<Float32Array[]>;

/** Options of {@linkcode ActivationStore}. */
export interface ActivationStoreOptions {
  /** Token rows, in order; restarted when exhausted (a new epoch). */
  rows: () => AsyncIterator<number[]>;
  /** Runs the model. */
  source: ActivationSource;
  /** Width of each hook's activations. */
  widths: number[];
  /** Tokens per row. */
  contextSize: number;
  /** Rows per model run (SAELens `store_batch_size_prompts`). */
  rowsPerRun: number;
  /** Tokens the buffer holds when full (SAELens `n_batches_in_buffer` × rows × context). */
  bufferTokens: number;
  /** Shuffles the buffer. */
  rng: SeededRandom;
  /**
   * Called as a refill goes: the rows a resumed store skips (`"skip"`), then the tokens held as the buffer fills
   * (`"fill"`), from the start (`done` 0 or the tokens kept) up to `total`.
   */
  onProgress?: (what: "skip" | "fill" | "corpus", done: number, total: number) => void;
  /**
   * Sample across the whole corpus: the activations of these token rows (all of the corpus, or as many rows as the run
   * draws, drawn from all of it) are held and served in an order drawn anew for each pass from `seed` and the pass's
   * number. `rows` is then not read. Absent: the mixing buffer.
   */
  corpus?: { rows: number[][]; seed: number };
}

/** What a checkpoint keeps of the store to continue it exactly. */
export interface ActivationStoreState {
  /** Rows read from the dataset since the start, over all epochs. */
  rowsRead: number;
  /** Buffered tokens, per hook `[tokens, width]`, the next to serve first. */
  buffered: Float32Array[];
  /** Tokens still to serve before the next refill. */
  servable: number;
  /** Sampling across the whole corpus: tokens served since the start, over all passes. */
  served?: number;
}

/**
 * Serves shuffled activation batches.
 *
 * @example
 * ```ts ignore
 * const store = new ActivationStore({ rows, source, widths: [768], contextSize: 128, rowsPerRun: 32, bufferTokens: 81920, rng });
 * const [x] = await store.next(4096); // [4096, 768]
 * ```
 */
export class ActivationStore {
  readonly #o: ActivationStoreOptions;
  #iterator?: AsyncIterator<number[]>;
  #rowsRead = 0;
  #skip = 0;
  #buffers: Float32Array[];
  #count = 0; // tokens held
  #servable = 0; // of which to serve before refilling
  // the whole corpus: each hook's activations in chunks of one model run, and the current pass's order
  #chunks?: Float32Array[][];
  #corpusTokens = 0;
  #served = 0;
  #order?: { pass: number; tokens: Uint32Array };

  /**
   * Creates the store, empty or continuing from a checkpoint's state.
   *
   * @param options Data, model and buffer sizes.
   * @param state A checkpoint's state.
   */
  constructor(options: ActivationStoreOptions, state?: ActivationStoreState) {
    this.#o = options;
    if (options.corpus) {
      this.#buffers = [];
      this.#served = state?.served ?? 0;
      return;
    }
    const tokens = Math.max(options.bufferTokens, options.rowsPerRun * options.contextSize);
    this.#buffers = options.widths.map((w) => new Float32Array(tokens * w));
    if (state) {
      this.#skip = state.rowsRead;
      this.#rowsRead = state.rowsRead;
      this.#count = state.buffered[0].length / options.widths[0];
      state.buffered.forEach((b, h) => this.#buffers[h].set(b));
      this.#servable = state.servable;
    }
  }

  /** Tokens the buffer holds when full (sampling across the corpus: the held rows' tokens). */
  get capacity(): number {
    const { corpus, contextSize, widths } = this.#o;
    return corpus ? corpus.rows.length * contextSize : this.#buffers[0].length / widths[0];
  }

  /** Rows read from the dataset. */
  get rowsRead(): number {
    return this.#rowsRead;
  }

  async #nextRow(): Promise<number[]> {
    for (let attempt = 0; attempt < 2; attempt++) {
      this.#iterator ??= this.#o.rows();
      const r = await this.#iterator.next();
      if (!r.done) return r.value;
      this.#iterator = undefined; // a new epoch
    }
    throw new RangeError("The dataset gave no rows");
  }

  async #refill(): Promise<void> {
    const { contextSize, rowsPerRun, widths, onProgress } = this.#o;
    // Continuing from a checkpoint: skip the rows it had already read.
    const skips = this.#skip;
    if (skips > 0) onProgress?.("skip", 0, skips);
    while (this.#skip > 0) {
      await this.#nextRow();
      this.#skip--;
      if ((skips - this.#skip) % 256 === 0 || this.#skip === 0) onProgress?.("skip", skips - this.#skip, skips);
    }
    const chunk = rowsPerRun * contextSize;
    const target = this.#count + Math.floor((this.capacity - this.#count) / chunk) * chunk;
    onProgress?.("fill", this.#count, target);
    while (this.#count + chunk <= this.capacity) {
      const rows: number[][] = [];
      for (let i = 0; i < rowsPerRun; i++) rows.push(await this.#nextRow());
      this.#rowsRead += rows.length;
      const acts = await this.#o.source(rows);
      acts.forEach((a, h) => this.#buffers[h].set(a, this.#count * widths[h]));
      this.#count += chunk;
      onProgress?.("fill", this.#count, target);
    }
    // Fisher–Yates over tokens, the same permutation for every hook.
    const { rng } = this.#o;
    for (let i = this.#count - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      widths.forEach((w, h) => {
        const b = this.#buffers[h];
        for (let d = 0; d < w; d++) {
          const t = b[i * w + d];
          b[i * w + d] = b[j * w + d];
          b[j * w + d] = t;
        }
      });
    }
    this.#servable = Math.floor(this.#count / 2);
  }

  /** Runs the held rows through the source, keeping each run's activations as one chunk per hook. */
  async #loadCorpus(): Promise<Float32Array[][]> {
    const { rowsPerRun, contextSize, widths, onProgress } = this.#o;
    const { rows } = this.#o.corpus!;
    const chunks = widths.map(() => [] as Float32Array[]);
    onProgress?.("corpus", 0, rows.length * contextSize);
    for (let r = 0; r < rows.length; r += rowsPerRun) {
      (await this.#o.source(rows.slice(r, r + rowsPerRun))).forEach((a, h) => chunks[h].push(a));
      onProgress?.("corpus", Math.min(r + rowsPerRun, rows.length) * contextSize, rows.length * contextSize);
    }
    this.#rowsRead = rows.length;
    this.#corpusTokens = rows.length * contextSize;
    return chunks;
  }

  /** The order of pass `pass` over the corpus's tokens: a Fisher–Yates permutation from the pass's own generator. */
  #orderOf(pass: number): Uint32Array {
    if (this.#order?.pass === pass) return this.#order.tokens;
    const rng = mulberry32((this.#o.corpus!.seed + Math.imul(0x9e3779b9, pass + 1)) >>> 0);
    const tokens = new Uint32Array(this.#corpusTokens);
    for (let i = 0; i < tokens.length; i++) tokens[i] = i;
    for (let i = tokens.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      const t = tokens[i];
      tokens[i] = tokens[j];
      tokens[j] = t;
    }
    this.#order = { pass, tokens };
    return tokens;
  }

  async #nextFromCorpus(tokens: number): Promise<Float32Array[]> {
    this.#chunks ??= await this.#loadCorpus();
    const { widths, rowsPerRun, contextSize } = this.#o;
    const chunkTokens = rowsPerRun * contextSize, chunks = this.#chunks;
    const out = widths.map((w) => new Float32Array(tokens * w));
    for (let i = 0; i < tokens; i++, this.#served++) {
      const order = this.#orderOf(Math.floor(this.#served / this.#corpusTokens));
      const t = order[this.#served % this.#corpusTokens];
      const chunk = Math.floor(t / chunkTokens), at = t % chunkTokens;
      widths.forEach((w, h) => out[h].set(chunks[h][chunk].subarray(at * w, (at + 1) * w), i * w));
    }
    return out;
  }

  /**
   * The next batch: `tokens` activations per hook, `[tokens, width]` row-major.
   *
   * @param tokens Tokens in the batch (SAELens `train_batch_size_tokens`).
   * @returns One array per hook.
   * @throws {RangeError} When the buffer cannot hold twice the batch.
   */
  async next(tokens: number): Promise<Float32Array[]> {
    if (this.#o.corpus) return await this.#nextFromCorpus(tokens);
    if (2 * tokens > this.capacity) {
      throw new RangeError(
        `The activation buffer of ${this.capacity} tokens cannot serve batches of ${tokens}: raise n_batches_in_buffer`,
      );
    }
    if (this.#servable < tokens) await this.#refill();
    const out = this.#o.widths.map((w, h) => {
      const b = this.#buffers[h];
      const batch = b.slice(0, tokens * w);
      b.copyWithin(0, tokens * w, this.#count * w);
      return batch;
    });
    this.#count -= tokens;
    this.#servable -= tokens;
    return out;
  }

  /**
   * The state to save in a checkpoint.
   *
   * @returns Rows read, the buffered activations and the tokens left to serve.
   */
  state(): ActivationStoreState {
    if (this.#o.corpus) {
      // the corpus is read again on resume: only the position in the passes is kept
      const empty = this.#o.widths.map(() => new Float32Array(0));
      return { rowsRead: this.#rowsRead, buffered: empty, servable: 0, served: this.#served };
    }
    return {
      rowsRead: this.#rowsRead,
      buffered: this.#o.widths.map((w, h) => this.#buffers[h].slice(0, this.#count * w)),
      servable: this.#servable,
    };
  }
}
