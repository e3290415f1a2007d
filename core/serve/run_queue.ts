/**
 * One model run at a time: the explorer's requests wait in a bounded queue, and beyond it are refused
 * with 503 "busy" rather than piling up behind a slow run.
 *
 * @module
 */

import { HttpError } from "./http_error.ts";

/**
 * Runs tasks one after another, with at most `maxWaiting` waiting behind the one running.
 *
 * @example Two runs, in order
 * ```ts
 * import { RunQueue } from "./run_queue.ts";
 * const queue = new RunQueue(1);
 * const order: number[] = [];
 * await Promise.all([queue.run(async () => order.push(1)), queue.run(async () => order.push(2))]);
 * console.log(order); // [1, 2]
 * ```
 */
export class RunQueue {
  /** Tasks that may wait behind the running one. */
  readonly maxWaiting: number;
  #tail: Promise<unknown> = Promise.resolve();
  #pending = 0;

  /**
   * Creates a queue.
   *
   * @param maxWaiting Tasks that may wait behind the running one. @default {8}
   * @throws {RangeError} When it is not a non-negative integer.
   */
  constructor(maxWaiting = 8) {
    if (!(Number.isSafeInteger(maxWaiting) && maxWaiting >= 0)) {
      throw new RangeError(`The queue's maxWaiting must be a non-negative integer: current value is ${maxWaiting}`);
    }
    this.maxWaiting = maxWaiting;
  }

  /** Tasks running or waiting. */
  get pending(): number {
    return this.#pending;
  }

  /**
   * Runs `task` once every task queued before it has settled.
   *
   * @param task The work, e.g. a model run.
   * @returns What `task` returns.
   * @throws {HttpError} 503 when the queue is full.
   */
  run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#pending > this.maxWaiting) {
      return Promise.reject(
        new HttpError(
          503,
          `The server is busy: one model run at a time and ${this.maxWaiting} waiting; try again in a moment`,
        ),
      );
    }
    this.#pending++;
    const result = this.#tail.then(task).finally(() => this.#pending--);
    this.#tail = result.catch(() => {}); // a failed task must not stop the ones behind it
    return result;
  }
}
