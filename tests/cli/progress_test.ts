import { assertEquals } from "../_assert.ts";
import { Progress } from "../../cli/_progress.ts";

/** Runs `body` with a clock it sets and stderr as a log (not a terminal); returns the lines written. */
function logged(body: (at: (ms: number) => void) => void): string[] {
  const lines: string[] = [];
  const { now } = performance, { isTerminal } = Deno.stderr, { error } = console;
  let t = 0;
  performance.now = () => t;
  Deno.stderr.isTerminal = () => false;
  console.error = (...a: unknown[]) => lines.push(a.join(" "));
  try {
    body((ms) => t = ms);
  } finally {
    Object.assign(performance, { now });
    Deno.stderr.isTerminal = isTerminal;
    console.error = error;
  }
  return lines;
}

Deno.test("Progress steady: rate and ETA from the first update on, as after a resume at step 40", () => {
  const lines = logged((at) => {
    const p = new Progress("train", 100, "steps", { steady: true });
    at(60_000); // a minute of loading and filling the buffer before the first resumed step
    p.update(41, 41 * 128);
    at(60_500);
    p.update(51, 51 * 128); // 10 steps in 0.5 s: 2560 tokens/s, 49 steps to go
    at(60_600);
    p.update(53, 53 * 128);
    p.stopped("L0 12.00");
  });
  assertEquals(lines, [
    "sae train: 41/100 steps (41%), 5248 tokens",
    "sae train: 51/100 steps (51%), 6528 tokens, 2560 tokens/s, ETA 2.5s",
    "sae train: stopped at 53/100 steps after 1m01s, 2560 tokens/s: L0 12.00",
  ]);
});

Deno.test("Progress without steady measures from the start, as before", () => {
  const lines = logged((at) => {
    const p = new Progress("eval", 10);
    at(1000);
    p.update(5, 500);
    at(2000);
    p.update(10, 1000);
    p.done("L0 3");
  });
  assertEquals(lines, [
    "sae eval: 5/10 rows (50%), 500 tokens, 500 tokens/s, ETA 1.0s",
    "sae eval: 10/10 rows (100%), 1000 tokens, 500 tokens/s",
    "sae eval: done, 10 rows in 2.0s, 500 tokens/s: L0 3",
  ]);
});
