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
  #unit: string;

  /**
   * Starts the clock.
   *
   * @param label What is being done.
   * @param total Rows expected, when known.
   * @param unit What is counted.
   */
  constructor(label: string, total?: number, unit = "rows") {
    this.#unit = unit;
    this.#label = label;
    this.#total = total;
    this.#tty = Deno.stderr.isTerminal();
  }

  /**
   * Redraws the line.
   *
   * @param rows Rows (or steps) done.
   * @param tokens Tokens done.
   * @param extra Shown after the rate, e.g. training metrics.
   */
  update(rows: number, tokens: number, extra = ""): void {
    if (!this.#tty) return;
    const seconds = (performance.now() - this.#start) / 1000;
    const total = this.#total;
    const bar = total
      ? `[${"#".repeat(Math.round(20 * Math.min(rows / total, 1))).padEnd(20)}] ${rows}/${total} ${this.#unit}`
      : `${rows} ${this.#unit}`;
    const rate = `${(tokens / Math.max(seconds, 1e-3)).toFixed(0)} tokens/s`;
    const line = `${this.#label} ${bar}, ${tokens} tokens, ${rate}${extra ? `, ${extra}` : ""}`;
    Deno.stderr.writeSync(new TextEncoder().encode(`\r${line}\x1b[K`));
    this.#shown = true;
  }

  /** Ends the line. */
  done(): void {
    if (this.#shown) Deno.stderr.writeSync(new TextEncoder().encode("\n"));
  }
}
