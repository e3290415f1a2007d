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

/** Options of {@linkcode Progress}. */
export interface ProgressOptions {
  /**
   * Measure the rate and the ETA from the first update on, not from the start: for work whose first unit also pays
   * for setup (a buffer's fill, kernels' compilation), or that continues from a count above 0 (a resumed run).
   * @default {false}
   */
  steady?: boolean;
}

/** Progress of one pass of long work: rows of a dataset, features ablated, tokens generated... */
export class Progress {
  #label: string;
  #total?: number;
  #start = performance.now();
  #steady: boolean;
  /** The first update (time in ms, units, tokens), from which a steady rate is measured. */
  #base?: { at: number; done: number; tokens: number };
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
   * @param options How the rate is measured.
   */
  constructor(label: string, total?: number, unit = "rows", options: ProgressOptions = {}) {
    this.#steady = options.steady ?? false;
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
    const now = performance.now();
    const seconds = (now - this.#start) / 1000;
    const total = this.#total;
    if (this.#steady) this.#base ??= { at: now, done, tokens };
    // what the rate is measured over: from the start, or (steady) from the first update
    const base = this.#base ?? { at: this.#start, done: 0, tokens: 0 };
    const span = (now - base.at) / 1000, units = done - base.done, counted = tokens - base.tokens;
    const rate = tokens > 0
      ? `, ${tokens} tokens${counted > 0 ? `, ${(counted / Math.max(span, 1e-3)).toFixed(0)} tokens/s` : ""}`
      : "";
    const eta = total && units > 0 && done < total ? `, ETA ${formatSeconds(span * (total - done) / units)}` : "";
    const tail = extra ? `, ${extra}` : "";
    if (this.#tty) {
      const bar = total
        ? `[${"#".repeat(Math.round(20 * Math.min(done / total, 1))).padEnd(20)}] ${done}/${total} ${this.#unit}`
        : `${done} ${this.#unit}`;
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
    console.error(`sae ${this.#label}: done, ${this.#done} ${this.#unit} in ${this.#summary(summary)}`);
  }

  /**
   * Ends the pass before the end of the work (stopped, interrupted): ends the bar on a terminal; in a log, says where
   * it stopped, never "done".
   *
   * @param summary What came out so far.
   */
  stopped(summary = ""): void {
    if (this.#tty) {
      if (this.#shown) Deno.stderr.writeSync(new TextEncoder().encode("\n"));
      return;
    }
    const of = this.#total ? `/${this.#total}` : "";
    console.error(`sae ${this.#label}: stopped at ${this.#done}${of} ${this.#unit} after ${this.#summary(summary)}`);
  }

  /** The time taken, the rate (from the first update when steady) and the summary. */
  #summary(summary: string): string {
    const now = performance.now();
    const base = this.#base ?? { at: this.#start, tokens: 0 };
    const counted = this.#tokens - base.tokens, span = (now - base.at) / 1000;
    const rate = counted > 0 ? `, ${(counted / Math.max(span, 1e-3)).toFixed(0)} tokens/s` : "";
    return `${formatSeconds((now - this.#start) / 1000)}${rate}${summary ? `: ${summary}` : ""}`;
  }
}

/**
 * Bytes for people: 812 B, 3.4 kB, 301.2 MB, 4.71 GB (decimal units, as the Hub shows sizes).
 *
 * @example
 * ```ts ignore
 * formatBytes(302_000_000); // "302.0 MB"
 * ```
 *
 * @param bytes A size.
 * @returns It with a unit.
 */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = bytes / 1000, u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(v < 10 && u >= 2 ? 2 : 1)} ${units[u]}`;
}

/**
 * Progress of downloads on stderr: on a terminal one line redrawn in place with the file, bytes of its size, rate and
 * ETA; in a log a line when a file starts, every few seconds or tenth of it, and when it is done.
 */
export class DownloadProgress {
  #verb: string;
  #tty = !progressToLog();
  #file = "";
  #start = 0;
  #startBytes = 0;
  #lastLog = -Infinity;
  #lastFraction = -1;
  #shown = false;

  /** @param verb The command, for log lines ("pull"). */
  constructor(verb: string) {
    this.#verb = verb;
  }

  /**
   * Reports bytes received of one file (hfHubDownload's `onProgress`); a resumed download starts above 0.
   *
   * @param file The file in the repo.
   * @param received Bytes it has so far.
   * @param total Its size.
   */
  update(file: string, received: number, total: number): void {
    const now = performance.now() / 1000;
    if (file !== this.#file) {
      this.#end();
      this.#file = file;
      this.#start = now;
      this.#startBytes = received;
      this.#lastLog = -Infinity;
      this.#lastFraction = -1;
      if (!this.#tty) {
        const resumed = received > 0 ? `, resuming at ${formatBytes(received)}` : "";
        console.error(`sae ${this.#verb}: downloading ${file} (${formatBytes(total)}${resumed})`);
      }
    }
    const seconds = Math.max(now - this.#start, 1e-3);
    const rate = (received - this.#startBytes) / seconds;
    const eta = rate > 0 && received < total ? `, ETA ${formatSeconds((total - received) / rate)}` : "";
    const fraction = total > 0 ? received / total : 1;
    const line = `${file}: ${formatBytes(received)} of ${formatBytes(total)} (${(100 * fraction).toFixed(0)}%), ${
      formatBytes(rate)
    }/s${eta}`;
    if (this.#tty) {
      Deno.stderr.writeSync(new TextEncoder().encode(`\r${line}\x1b[K`));
      this.#shown = true;
      return;
    }
    if (now - this.#lastLog < LOG_EVERY_SECONDS && fraction - this.#lastFraction < 0.1 && received < total) return;
    this.#lastLog = now;
    this.#lastFraction = fraction;
    console.error(`sae ${this.#verb}: ${line}`);
  }

  #end(): void {
    if (this.#tty && this.#shown) Deno.stderr.writeSync(new TextEncoder().encode("\n"));
    this.#shown = false;
  }

  /** Ends the last file's line on a terminal. */
  done(): void {
    this.#end();
  }
}
