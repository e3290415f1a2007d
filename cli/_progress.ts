/**
 * A one-line progress display on stderr for long work (corpus passes), redrawn in place on a terminal
 * and silent otherwise, so piped `--json` output and logs stay clean.
 *
 * @module
 */

/** Progress of a pass over rows of tokens. */
export class Progress {
  #label: string;
  #total?: number;
  #start = performance.now();
  #shown = false;
  #tty: boolean;

  /**
   * Starts the clock.
   *
   * @param label What is being done.
   * @param total Rows expected, when known.
   */
  constructor(label: string, total?: number) {
    this.#label = label;
    this.#total = total;
    this.#tty = Deno.stderr.isTerminal();
  }

  /**
   * Redraws the line.
   *
   * @param rows Rows done.
   * @param tokens Tokens done.
   */
  update(rows: number, tokens: number): void {
    if (!this.#tty) return;
    const seconds = (performance.now() - this.#start) / 1000;
    const total = this.#total;
    const bar = total
      ? `[${"#".repeat(Math.round(20 * Math.min(rows / total, 1))).padEnd(20)}] ${rows}/${total} rows`
      : `${rows} rows`;
    const line = `${this.#label} ${bar}, ${tokens} tokens, ${(tokens / Math.max(seconds, 1e-3)).toFixed(0)} tokens/s`;
    Deno.stderr.writeSync(new TextEncoder().encode(`\r${line}\x1b[K`));
    this.#shown = true;
  }

  /** Ends the line. */
  done(): void {
    if (this.#shown) Deno.stderr.writeSync(new TextEncoder().encode("\n"));
  }
}
