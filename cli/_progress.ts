/**
 * Progress of long work on stderr, so piped `--json` output stays clean. On a terminal a one-line bar is
 * redrawn in place; otherwise (a log file under nohup, a scheduler, CI, a notebook cell) plain lines are
 * written: a start line naming what runs, a line every few seconds or tenth of the work with done/total,
 * tokens/s, ETA and the verb's key metrics, then a summary line.
 *
 * @module
 */

/** Seconds between log lines while work goes on (a line also comes at every tenth of the work). */
const LOG_EVERY_SECONDS = 5;

/**
 * Whether progress goes to a log (stderr is not a terminal) rather than an in-place bar.
 *
 * @example
 * ```ts ignore
 * if (progressToLog()) console.error("sae generate: 3 tokens so far");
 * ```
 *
 * @returns True when stderr is not a terminal.
 */
export function progressToLog(): boolean {
  return !Deno.stderr.isTerminal();
}

/**
 * Writes a line about long work to stderr when it goes to a log; on a terminal the bar says enough.
 *
 * @example
 * ```ts ignore
 * logLine("sae eval: SAE embedded, model gpt2-sotu-tiny, dataset sotu");
 * ```
 *
 * @param line The line.
 */
export function logLine(line: string): void {
  if (progressToLog()) console.error(line);
}

/**
 * A duration for people: 850ms, 12.3s, 4m05s, 1h02m.
 *
 * @example
 * ```ts ignore
 * formatSeconds(245); // "4m05s"
 * ```
 *
 * @param seconds A duration in seconds.
 * @returns It in the largest fitting units.
 */
export function formatSeconds(seconds: number): string {
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`;
}

/** Progress of one pass of long work: rows of a dataset, features ablated, tokens generated... */
export class Progress {
  #label: string;
  #total?: number;
  #start = performance.now();
  #shown = false;
  #tty: boolean;
  #unit: string;
  #lastLog = -Infinity;
  #lastLogFraction = -1;
  #done = 0;
  #tokens = 0;

  /**
   * Starts the clock.
   *
   * @param label What is being done, e.g. "eval".
   * @param total Units of work expected, when known.
   * @param unit What is counted. @default {"rows"}
   */
  constructor(label: string, total?: number, unit = "rows") {
    this.#unit = unit;
    this.#label = label;
    this.#total = total;
    this.#tty = !progressToLog();
  }

  /**
   * Reports work done: redraws the bar on a terminal; in a log, writes a line when a few seconds or a
   * tenth of the work have passed since the last one (and for the first and the last update).
   *
   * @param done Units done (rows, steps, features, tokens).
   * @param tokens Tokens processed, for the rate; 0 leaves the rate out.
   * @param extra Key metrics so far, e.g. "L0 12.3, EV 0.91".
   */
  update(done: number, tokens: number, extra = ""): void {
    this.#done = done;
    this.#tokens = tokens;
    const seconds = (performance.now() - this.#start) / 1000;
    const total = this.#total;
    const rate = tokens > 0 ? `, ${tokens} tokens, ${(tokens / Math.max(seconds, 1e-3)).toFixed(0)} tokens/s` : "";
    const tail = extra ? `, ${extra}` : "";
    if (this.#tty) {
      const bar = total
        ? `[${"#".repeat(Math.round(20 * Math.min(done / total, 1))).padEnd(20)}] ${done}/${total} ${this.#unit}`
        : `${done} ${this.#unit}`;
      const eta = total && done > 0 && done < total ? `, ETA ${formatSeconds(seconds * (total - done) / done)}` : "";
      Deno.stderr.writeSync(new TextEncoder().encode(`\r${this.#label} ${bar}${rate}${eta}${tail}\x1b[K`));
      this.#shown = true;
      return;
    }
    const fraction = total ? Math.min(done / total, 1) : 0;
    const due = this.#lastLog === -Infinity || seconds - this.#lastLog >= LOG_EVERY_SECONDS ||
      (total !== undefined && (fraction - this.#lastLogFraction >= 0.1 || done >= total));
    if (!due) return;
    this.#lastLog = seconds;
    this.#lastLogFraction = fraction;
    const eta = total && done > 0 && done < total ? `, ETA ${formatSeconds(seconds * (total - done) / done)}` : "";
    const count = total ? `${done}/${total} ${this.#unit} (${(100 * fraction).toFixed(0)}%)` : `${done} ${this.#unit}`;
    console.error(`sae ${this.#label}: ${count}${rate}${eta}${tail}`);
  }

  /**
   * Ends the pass: ends the bar on a terminal; in a log, writes the summary line with the time taken.
   *
   * @param summary What came out, e.g. "L0 12.3, ce_loss_score 0.98".
   */
  done(summary = ""): void {
    if (this.#tty) {
      if (this.#shown) Deno.stderr.writeSync(new TextEncoder().encode("\n"));
      return;
    }
    const seconds = (performance.now() - this.#start) / 1000;
    const rate = this.#tokens > 0 ? `, ${(this.#tokens / Math.max(seconds, 1e-3)).toFixed(0)} tokens/s` : "";
    console.error(
      `sae ${this.#label}: done, ${this.#done} ${this.#unit} in ${formatSeconds(seconds)}${rate}${
        summary ? `: ${summary}` : ""
      }`,
    );
  }
}
