// std-style assertions over node:assert (jsr:@std/assert is not reachable from this network).
import assert from "node:assert/strict";

export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  assert.deepStrictEqual(actual, expected, message);
}

/** Asserts `fn` throws an instance of `ErrorClass` whose message contains `includes`. */
export function assertThrows(
  fn: () => unknown,
  ErrorClass: abstract new (...args: never[]) => Error,
  includes: string,
): Error {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  return checkError(caught, ErrorClass, includes);
}

/** Asserts the promise rejects with an instance of `ErrorClass` whose message contains `includes`. */
export async function assertRejects(
  fn: () => Promise<unknown>,
  ErrorClass: abstract new (...args: never[]) => Error,
  includes: string,
): Promise<Error> {
  let caught: unknown;
  try {
    await fn();
  } catch (error) {
    caught = error;
  }
  return checkError(caught, ErrorClass, includes);
}

function checkError(caught: unknown, ErrorClass: abstract new (...args: never[]) => Error, includes: string): Error {
  if (caught === undefined) {
    throw new assert.AssertionError({
      message: `expected ${ErrorClass.name} containing "${includes}", nothing was thrown`,
    });
  }
  if (!(caught instanceof ErrorClass)) {
    throw new assert.AssertionError({
      message: `expected ${ErrorClass.name}, got ${(caught as Error)?.name}: ${(caught as Error)?.message}`,
    });
  }
  if (!caught.message.includes(includes)) {
    throw new assert.AssertionError({
      message: `expected a message containing "${includes}", got "${caught.message}"`,
    });
  }
  return caught;
}
