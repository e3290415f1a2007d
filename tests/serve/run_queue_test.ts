import { HttpError } from "../../core/serve/http_error.ts";
import { RunQueue } from "../../core/serve/run_queue.ts";
import { assertEquals, assertRejects, assertThrows } from "../_assert.ts";

Deno.test("RunQueue.run() runs tasks one at a time, in order", async () => {
  const queue = new RunQueue(3);
  const log: string[] = [];
  const task = (name: string) => async () => {
    log.push(`${name} start`);
    await new Promise((r) => setTimeout(r, 5));
    log.push(`${name} end`);
    return name;
  };
  const results = await Promise.all([queue.run(task("a")), queue.run(task("b")), queue.run(task("c"))]);
  assertEquals(results, ["a", "b", "c"]);
  assertEquals(log, ["a start", "a end", "b start", "b end", "c start", "c end"]);
  assertEquals(queue.pending, 0);
});

Deno.test("RunQueue.run() refuses with 503 beyond maxWaiting, and a failed task does not stop the rest", async () => {
  const queue = new RunQueue(1);
  let release = () => {};
  const running = queue.run(() => new Promise<void>((r) => release = r));
  const failed = assertRejects(() => queue.run(() => Promise.reject(new RangeError("bad input"))), RangeError, "bad");
  assertEquals(queue.pending, 2);
  const busy = await assertRejects(() => queue.run(() => Promise.resolve(1)), HttpError, "The server is busy");
  assertEquals((busy as HttpError).status, 503);
  release();
  await running;
  await failed;
  assertEquals(await queue.run(() => Promise.resolve(2)), 2);
  assertEquals(queue.pending, 0);
});

Deno.test("RunQueue() refuses a negative or fractional maxWaiting", () => {
  assertThrows(() => new RunQueue(-1), RangeError, "maxWaiting must be a non-negative integer");
  assertThrows(() => new RunQueue(1.5), RangeError, "current value is 1.5");
});
